"""``GET /api/v1/message/{ID}/link-check``: check a message's links, contacting allowed hosts only.

Only loopback hosts and those given with ``mail-sandbox --link-check-host`` are contacted; every
other link is listed as skipped (see ``mail_sandbox.linkcheck``). Only the inbox's own pages and
clients that are not browsers may ask for a check.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from mail_sandbox.linkcheck import check_links, extract_links
from mail_sandbox.web.errors import ApiError
from mail_sandbox.web.keys import SETTINGS
from mail_sandbox.web.messages import load_message
from mail_sandbox.web.routing import RouteTable
from mail_sandbox.web.scope import mailbox_of
from mail_sandbox.web.security import requested_by_another_site

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"", "false", "0", "no", "off"})


def add_routes(router: RouteTable) -> None:
    """Register the route."""
    router.add_get("/api/v1/message/{id}/link-check", link_check)


async def link_check(request: web.Request) -> web.Response:
    """``?follow=true`` checks the message's images too; ``{"Errors", "Links"}``.

    Refused when another site's page sent it: a check GETs every loopback link in the mail,
    and would spend single-use ones (magic log-in, email verification) for an ``<img>``.
    """
    if requested_by_another_site(request):
        raise ApiError(
            403,
            "link check refused: requested by another site's page "
            f"(Sec-Fetch-Site: {request.headers['Sec-Fetch-Site'].strip()[:40]}); "
            "use the inbox's Check links button or call the API from a script",
        )
    follow = request.query.get("follow", "").strip().lower()
    if follow not in _TRUE | _FALSE:
        raise ApiError(400, "follow must be true or false")
    store = await mailbox_of(request)
    loaded = await asyncio.to_thread(load_message, store, request.match_info["id"], mark_read=False)
    if loaded is None:
        raise ApiError(404, "message not found")
    links = extract_links(loaded.view.text, loaded.view.html, follow_images=follow in _TRUE)
    settings = request.app[SETTINGS]
    report = await check_links(
        links,
        allowed_hosts=set(settings.link_check_hosts),
        timeout=settings.link_check_timeout,
    )
    return web.json_response(report)
