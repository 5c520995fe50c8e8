"""The inbox web UI and the Mailpit-compatible JSON API, as one aiohttp application.

The web layer never touches SMTP: it reads the store, and learns of new mail from the store's
listener, which it forwards onto the event loop for the live list and ``/api/v1/wait``. Every
page and API route is served twice: at its path for the ``default`` mailbox, and under
``/m/NAME/`` for mailbox ``NAME`` (see ``routing`` and ``access``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from mail_sandbox.chaos import ChaosControl
from mail_sandbox.stats import RuntimeStats
from mail_sandbox.store.contract import MessageStore
from mail_sandbox.web import (
    api,
    api_chaos,
    api_info,
    api_linkcheck,
    api_mailboxes,
    api_send,
    api_tags,
    live,
    openapi,
    ui,
    views,
)
from mail_sandbox.web.access import access_guard
from mail_sandbox.web.auth import Credentials
from mail_sandbox.web.errors import error_middleware
from mail_sandbox.web.events import NewMessageHub
from mail_sandbox.web.hosts import HostRule, host_guard
from mail_sandbox.web.keys import CHAOS, HUB, SETTINGS, STATS, STORE
from mail_sandbox.web.routing import MAILBOX_PREFIX, MailboxRoutes
from mail_sandbox.web.security import add_security_headers, cross_site_guard
from mail_sandbox.web.settings import WebSettings
from mail_sandbox.web.templating import setup_templates, template_context

STATIC = Path(__file__).parent / "static"

__all__ = ["Credentials", "WebSettings", "create_web_app"]


def create_web_app(
    store: MessageStore,
    *,
    credentials: Credentials | None = None,
    chaos: ChaosControl | None = None,
    stats: RuntimeStats | None = None,
    settings: WebSettings | None = None,
) -> web.Application:
    """The inbox and API over ``store``; start it with an ``AppRunner`` on a running loop.

    With ``credentials`` every page, API call and event stream asks for them (HTTP Basic),
    except that a mailbox's own password opens that mailbox (see ``web.access``).
    ``chaos`` and ``stats`` are the SMTP side's, for ``/api/v1/chaos`` and ``/api/v1/info``
    (without them chaos is off and the counters stay at zero).
    """
    settings = settings or WebSettings()
    hosts = HostRule.allowing(settings.allowed_hosts)
    # The Host rule first: a rebound page gets no login prompt, no page and no static file.
    middlewares = [
        template_context,
        error_middleware,
        host_guard(hosts),
        access_guard(credentials),
        cross_site_guard(hosts),
    ]
    app = web.Application(middlewares=middlewares)
    app[STORE] = store
    app[HUB] = NewMessageHub()
    app[CHAOS] = chaos or ChaosControl(enabled=False)
    app[STATS] = stats or RuntimeStats()
    app[SETTINGS] = settings
    setup_templates(app)
    both = MailboxRoutes(app.router)
    for module in (
        api,
        api_info,
        api_send,
        api_tags,
        api_chaos,
        api_linkcheck,
        openapi,
        views,
        live,
    ):
        module.add_routes(both)
    ui.add_routes(both)
    app.router.add_get(MAILBOX_PREFIX, _to_mailbox_inbox)
    api_mailboxes.add_routes(app.router)
    app.router.add_static("/static", STATIC)
    app.on_startup.append(_listen_to_store)
    app.on_shutdown.append(_end_long_requests)
    app.on_response_prepare.append(add_security_headers)
    return app


async def _listen_to_store(app: web.Application) -> None:
    # The store calls listeners from its writer thread; the hub lives on this loop.
    app[STORE].add_mailbox_listener(app[HUB].listener_for(asyncio.get_running_loop()))


async def _to_mailbox_inbox(request: web.Request) -> web.Response:
    """``/m/NAME`` is the mailbox's inbox at ``/m/NAME/`` (the guard has found the mailbox)."""
    raise web.HTTPPermanentRedirect(request.path + "/")


async def _end_long_requests(app: web.Application) -> None:
    # Event streams and waiters would otherwise hold shutdown up until their timeouts.
    app[HUB].close()
