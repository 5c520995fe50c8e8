"""``POST /api/v1/send``: Mailpit's send request, stored exactly as mail arriving over SMTP.

The message is built (``mail_sandbox.compose``) and handed to the store with its envelope, the same
call the SMTP side makes; nothing is ever relayed anywhere.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from mail_sandbox.compose import ComposeError, build_message
from mail_sandbox.web import params
from mail_sandbox.web.errors import ApiError
from mail_sandbox.web.keys import SETTINGS
from mail_sandbox.web.routing import RouteTable
from mail_sandbox.web.scope import mailbox_of

# Base64 makes attachments a third bigger, and JSON adds its own punctuation.
_BODY_OVERHEAD = 1024 * 1024


def add_routes(router: RouteTable) -> None:
    """Register the route."""
    router.add_post("/api/v1/send", send)


async def send(request: web.Request) -> web.Response:
    """Build and store the message; answer ``{"ID": ...}``. Bad input is a 400, nothing stored."""
    max_size = request.app[SETTINGS].max_message_size
    limit = max_size * 4 // 3 + _BODY_OVERHEAD if max_size else 0
    payload = _json(await params.read_body(request, limit))
    try:
        # Decoding base64 attachments of many megabytes is worth keeping off the event loop.
        raw, envelope_from, recipients = await asyncio.to_thread(build_message, payload)
    except ComposeError as exc:
        raise ApiError(400, exc.message) from None
    if max_size and len(raw) > max_size:
        raise ApiError(
            413, f"the message is {len(raw)} bytes, more than the limit of {max_size} bytes"
        )
    store = await mailbox_of(request)
    message_id = await asyncio.wrap_future(store.add(raw, envelope_from, recipients))
    return web.json_response({"ID": message_id})


def _json(body: bytes) -> object:
    if not body.strip():
        raise ApiError(400, 'request body is empty; send JSON such as {"From": ..., "To": ...}')
    return params.json_value(body, "request body is not valid JSON")
