"""Rendered views of a message, as Mailpit serves them: ``/view/{ID}.html`` and ``.txt``.

The HTML view is the email's own document, so it gets the same strict Content-Security-Policy
(with its ``sandbox``) as the inbox's email frame: nothing in it can run script.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from aiohttp import web

from mail_sandbox.web.anchors import open_links_in_new_tab
from mail_sandbox.web.errors import ApiError
from mail_sandbox.web.frame import email_document, link_embedded_images
from mail_sandbox.web.messages import LoadedMessage, load_message
from mail_sandbox.web.routing import RouteTable
from mail_sandbox.web.scope import base_path, mailbox_of
from mail_sandbox.web.security import EMAIL_CSP

NO_HTML_PART = "This message does not contain a HTML part"


def add_routes(router: RouteTable) -> None:
    """Register the two views."""
    # The ID never holds "/" and, lazily matched, never swallows the extension.
    router.add_get(r"/view/{id:[^{}/]+?}.html", html_view)
    router.add_get(r"/view/{id:[^{}/]+?}.txt", text_view)


async def html_view(request: web.Request) -> web.Response:
    """The HTML part with ``cid:`` images linked; ``?embed=1`` opens its links in new tabs."""
    loaded = await _load(request)
    if not loaded.view.html:
        raise ApiError(404, NO_HTML_PART)
    parts = [*loaded.view.inline, *loaded.view.attachments]
    # Under /m/NAME/ the parts are fetched from that mailbox, where this message is.
    prefix = f"{base_path(request)}/api/v1/message/{quote(loaded.summary.id, safe='')}/part/"

    def part_url(part_id: str) -> str:
        return prefix + quote(part_id, safe=".")

    if request.query.get("embed", "").strip() in ("1", "true"):
        document = open_links_in_new_tab(email_document(loaded.view.html, parts, part_url))
    else:
        document = link_embedded_images(loaded.view.html, parts, part_url)
    return web.Response(
        text=document,
        content_type="text/html",
        charset="utf-8",
        headers={"Content-Security-Policy": EMAIL_CSP, "X-Frame-Options": "SAMEORIGIN"},
    )


async def text_view(request: web.Request) -> web.Response:
    """The text part as plain text (empty when the message has none)."""
    loaded = await _load(request)
    return web.Response(text=loaded.view.text, content_type="text/plain", charset="utf-8")


async def _load(request: web.Request) -> LoadedMessage:
    store = await mailbox_of(request)
    loaded = await asyncio.to_thread(load_message, store, request.match_info["id"], mark_read=False)
    if loaded is None:
        raise ApiError(404, "Message not found")
    return loaded
