"""``/api/v1/mailboxes``: create, list, read and delete mailboxes (docs/api.md, "Mailboxes").

These routes act on the whole server, so they are not served under ``/m/NAME/``. One
mailbox's own routes (``/api/v1/mailboxes/NAME``) pass the access guard as that mailbox's
pages do: a mailbox with a password shows itself only to its password or the admin.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from mail_sandbox import defaults
from mail_sandbox.store.contract import MailboxExistsError, NoSuchMailboxError
from mail_sandbox.web import params
from mail_sandbox.web.access import ADMIN
from mail_sandbox.web.errors import ApiError
from mail_sandbox.web.keys import STORE
from mail_sandbox.web.routing import MAILBOX_PARAM
from mail_sandbox.web.serialize import mailbox_json

PATH = "/api/v1/mailboxes"
_FIELDS = {"name": "Name", "password": "Password", "ttl": "TTL"}
_EXAMPLE = '{"Name": "ci-4711", "Password": "secret", "TTL": 3600}'
# A name, a password and a TTL fit in far less; anything bigger is not a mailbox request.
_MAX_BODY = 64 * 1024
MAX_TTL_SECONDS = defaults.MAX_MAILBOX_TTL_SECONDS
MAX_PASSWORD_LENGTH = 1024


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the mailbox routes (unscoped only)."""
    router.add_get(PATH, list_mailboxes)
    router.add_post(PATH, create_mailbox)
    router.add_get(f"{PATH}/{{{MAILBOX_PARAM}}}", get_mailbox)
    router.add_delete(f"{PATH}/{{{MAILBOX_PARAM}}}", delete_mailbox)


async def list_mailboxes(request: web.Request) -> web.Response:
    """``{"Mailboxes": [...]}``, ``default`` first; one with a password only for the admin."""
    everything = await asyncio.to_thread(request.app[STORE].mailboxes)
    shown = [info for info in everything if request[ADMIN] or not info.has_password]
    return web.json_response({"Mailboxes": [mailbox_json(info) for info in shown]})


async def create_mailbox(request: web.Request) -> web.Response:
    """``{"Name", "Password"?, "TTL"?}``: the new, empty mailbox; 409 when the name is taken."""
    fields = params.json_object(await params.read_body(request, _MAX_BODY), _FIELDS, _EXAMPLE)
    name = fields.get("Name")
    if name is None:
        raise ApiError(400, f"Name is required: {_EXAMPLE}")
    if not isinstance(name, str):
        raise ApiError(400, "Name must be a string")
    password = _password(fields.get("Password"))
    ttl = _ttl(fields.get("TTL"))
    store = request.app[STORE]
    try:
        info = await asyncio.to_thread(store.create_mailbox, name, password=password, ttl=ttl)
    except MailboxExistsError as exc:
        raise ApiError(409, str(exc)) from None
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return web.json_response(mailbox_json(info))


async def get_mailbox(request: web.Request) -> web.Response:
    """One mailbox (the access guard has found it and checked its password)."""
    name = request.match_info[MAILBOX_PARAM]
    try:
        info = await asyncio.to_thread(request.app[STORE].mailbox_info, name)
    except NoSuchMailboxError as exc:  # deleted since the guard found it
        raise ApiError(404, str(exc)) from None
    return web.json_response(mailbox_json(info))


async def delete_mailbox(request: web.Request) -> web.Response:
    """Delete the mailbox and its mail; ``default`` is refused with a 400."""
    name = request.match_info[MAILBOX_PARAM]
    try:
        await asyncio.to_thread(request.app[STORE].delete_mailbox, name)
    except NoSuchMailboxError as exc:
        raise ApiError(404, str(exc)) from None
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return web.Response(text="ok")


def _password(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ApiError(400, "Password must be a non-empty string (or left out for none)")
    if len(value) > MAX_PASSWORD_LENGTH:
        raise ApiError(400, f"Password must be at most {MAX_PASSWORD_LENGTH} characters")
    # It comes back in an Authorization header, which carries UTF-8 text without controls.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "Password must be text (it holds a lone surrogate)") from None
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ApiError(400, "Password cannot contain control characters")
    return value


def _ttl(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "TTL must be a whole number of seconds")
    if value > MAX_TTL_SECONDS:
        raise ApiError(400, f"TTL must be at most {MAX_TTL_SECONDS} seconds (ten years)")
    return value
