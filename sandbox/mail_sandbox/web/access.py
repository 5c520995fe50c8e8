"""Who may use which mailbox, in one middleware in front of every page, API call and stream.

* The server's ``--ui-auth`` credentials open everything: that user is the admin.
* A mailbox with a password opens, under ``/m/NAME/`` and at ``/api/v1/mailboxes/NAME``, to
  HTTP Basic with user ``NAME`` and that password, even on a server with ``--ui-auth``: a CI
  job knows only its own mailbox's password.
* Anything else is as open as the server: free without ``--ui-auth``, the admin's with it.

Whoever is not let in gets a 401 with a Basic challenge. On a server with ``--ui-auth`` an
unknown mailbox is a 401 too, so a stranger cannot tell which names exist; elsewhere it is the
404 ``no mailbox named X``. Each use of a mailbox under ``/m/NAME/`` puts its TTL expiry off.
"""

from __future__ import annotations

import asyncio

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from mail_sandbox.mailboxes import DEFAULT_MAILBOX, is_mailbox_name
from mail_sandbox.store.contract import MessageStore
from mail_sandbox.web.auth import Credentials, challenge, offered_password
from mail_sandbox.web.keys import STORE
from mail_sandbox.web.routing import is_scoped
from mail_sandbox.web.scope import mailbox_name, open_mailbox, remember_mailbox

#: Set on each request: whether it carries the server's ``--ui-auth`` credentials.
ADMIN = web.RequestKey("admin", bool)

SIGN_IN = "Sign in to see the captured mail"


def access_guard(credentials: Credentials | None) -> Middleware:
    """The middleware enforcing the rules above; ``credentials`` are ``--ui-auth``'s, if any."""

    @web.middleware
    async def admit(request: web.Request, handler: Handler) -> web.StreamResponse:
        authorization = request.headers.get(hdrs.AUTHORIZATION, "")
        admin = credentials is not None and credentials.accepts(authorization)
        request[ADMIN] = admin
        name = mailbox_name(request)
        if name is None:
            if credentials is not None and not admin:
                raise challenge(SIGN_IN)
            return await handler(request)
        mailbox = await asyncio.to_thread(
            _admit,
            request.app[STORE],
            name,
            offered_password(authorization, name),
            admin=admin,
            locked=credentials is not None,
            touch=is_scoped(request),
        )
        remember_mailbox(request, mailbox)
        return await handler(request)

    return admit


def _admit(
    store: MessageStore,
    name: str,
    password: str | None,
    *,
    admin: bool,
    locked: bool,
    touch: bool,
) -> MessageStore:
    """The mailbox ``name`` if the request may use it, else the 401 or 404 (blocking: the
    first check of a password runs scrypt)."""
    if locked and not admin:
        # Only the mailbox's own password opens it here: a mailbox without one (for which
        # check_password(name, None) holds) is the admin's alone.
        if (
            password is None
            or not is_mailbox_name(name)
            or store.check_password(name, None)
            or not store.check_password(name, password)
        ):
            raise challenge(SIGN_IN)
        mailbox = open_mailbox(store, name)
    else:
        mailbox = open_mailbox(store, name)
        if not admin and not store.check_password(name, password):
            raise challenge(f"mailbox {name} needs its password (user name {name})")
    if touch and name != DEFAULT_MAILBOX:
        store.touch_mailbox(name)
    return mailbox
