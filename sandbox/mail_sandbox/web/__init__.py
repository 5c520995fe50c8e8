"""The inbox web UI and the Mailpit-compatible JSON API, as one aiohttp application.

The web layer never touches SMTP: it reads the store, and learns of new mail from the store's
listener, which it forwards onto the event loop for the live list and ``/api/v1/wait``.
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
    api_send,
    api_tags,
    live,
    openapi,
    ui,
    views,
)
from mail_sandbox.web.auth import Credentials, basic_auth_middleware
from mail_sandbox.web.errors import error_middleware
from mail_sandbox.web.events import NewMessageHub
from mail_sandbox.web.hosts import HostRule, host_guard
from mail_sandbox.web.keys import CHAOS, HUB, SETTINGS, STATS, STORE
from mail_sandbox.web.security import add_security_headers, cross_site_guard
from mail_sandbox.web.settings import WebSettings
from mail_sandbox.web.templating import setup_templates

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

    With ``credentials`` every page, API call and event stream asks for them (HTTP Basic).
    ``chaos`` and ``stats`` are the SMTP side's, for ``/api/v1/chaos`` and ``/api/v1/info``
    (without them chaos is off and the counters stay at zero).
    """
    settings = settings or WebSettings()
    hosts = HostRule.allowing(settings.allowed_hosts)
    # The Host rule first: a rebound page gets no login prompt, no page and no static file.
    middlewares = [error_middleware, host_guard(hosts)]
    if credentials is not None:
        middlewares.append(basic_auth_middleware(credentials))
    middlewares.append(cross_site_guard(hosts))
    app = web.Application(middlewares=middlewares)
    app[STORE] = store
    app[HUB] = NewMessageHub()
    app[CHAOS] = chaos or ChaosControl(enabled=False)
    app[STATS] = stats or RuntimeStats()
    app[SETTINGS] = settings
    setup_templates(app)
    api.add_routes(app.router)
    api_info.add_routes(app.router)
    api_send.add_routes(app.router)
    api_tags.add_routes(app.router)
    api_chaos.add_routes(app.router)
    api_linkcheck.add_routes(app.router)
    openapi.add_routes(app.router)
    views.add_routes(app.router)
    live.add_routes(app.router)
    ui.add_routes(app.router)
    app.router.add_static("/static", STATIC)
    app.on_startup.append(_listen_to_store)
    app.on_shutdown.append(_end_long_requests)
    app.on_response_prepare.append(add_security_headers)
    return app


async def _listen_to_store(app: web.Application) -> None:
    # The store calls listeners from its writer thread; the hub lives on this loop.
    app[STORE].add_listener(app[HUB].listener_for(asyncio.get_running_loop()))


async def _end_long_requests(app: web.Application) -> None:
    # Event streams and waiters would otherwise hold shutdown up until their timeouts.
    app[HUB].close()
