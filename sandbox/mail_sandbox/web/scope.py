"""Which mailbox a request is for: ``default`` at the unscoped paths, ``NAME`` under
``/m/NAME/`` (and at ``/api/v1/mailboxes/NAME``).

Handlers ask ``mailbox_of`` instead of reading the store off the app, so no handler can serve
one mailbox's mail at another's path.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from aiohttp import web

from mail_sandbox.mailboxes import DEFAULT_MAILBOX, is_mailbox_name
from mail_sandbox.store.contract import MessageStore, NoSuchMailboxError
from mail_sandbox.web.errors import ApiError
from mail_sandbox.web.keys import STORE
from mail_sandbox.web.routing import MAILBOX_PARAM, is_scoped

MAILBOX = web.RequestKey("mailbox", MessageStore)
# A name from the URL is shown back in the error; a hostile one need not be shown whole.
_SHOWN_NAME_LENGTH = 100


def mailbox_name(request: web.Request) -> str | None:
    """The mailbox the path names, or None where it names none (the ``default`` mailbox)."""
    return request.match_info.get(MAILBOX_PARAM)


def served_name(request: web.Request) -> str:
    """The name of the mailbox the request is for, ``default`` at the unscoped paths."""
    return mailbox_name(request) or DEFAULT_MAILBOX


async def mailbox_of(request: web.Request) -> MessageStore:
    """The mailbox this request reads and writes; 404 ``no mailbox named X`` for an unknown one.

    Resolved once per request (the access guard usually has done it already).
    """
    if MAILBOX in request:
        return request[MAILBOX]
    name = mailbox_name(request)
    store = request.app[STORE]
    if name is not None:
        store = await asyncio.to_thread(open_mailbox, store, name)
    request[MAILBOX] = store
    return store


def remember_mailbox(request: web.Request, mailbox: MessageStore) -> None:
    """Keep ``mailbox`` as the one ``mailbox_of`` answers for this request."""
    request[MAILBOX] = mailbox


def open_mailbox(store: MessageStore, name: str) -> MessageStore:
    """``store.mailbox(name)``, an unknown or impossible name being the 404 (blocking)."""
    if not is_mailbox_name(name):
        raise ApiError(404, unknown_mailbox(name))
    try:
        return store.mailbox(name)
    except NoSuchMailboxError as exc:
        raise ApiError(404, str(exc)) from None


def unknown_mailbox(name: str) -> str:
    """The error for a name that names no mailbox."""
    shown = name if len(name) <= _SHOWN_NAME_LENGTH else name[:_SHOWN_NAME_LENGTH] + "…"
    return str(NoSuchMailboxError(shown))


def base_path(request: web.Request) -> str:
    """What the server's own links start with to stay in this request's mailbox: ``""`` at
    the unscoped paths, ``/m/NAME`` under a mailbox."""
    name = mailbox_name(request)
    if name is None or not is_scoped(request):
        return ""
    return "/m/" + quote(name, safe="")
