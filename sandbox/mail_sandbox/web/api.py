"""The JSON API under ``/api/v1``, in Mailpit's shapes (docs/api.md describes each)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from email.parser import BytesHeaderParser
from email.policy import compat32

from aiohttp import web

from mail_sandbox.message_limits import bounded_headers
from mail_sandbox.mime import MessageView, get_part, parse_message
from mail_sandbox.store.contract import MessageStore, Page, SearchError
from mail_sandbox.web import api_wait, params
from mail_sandbox.web.downloads import attachment_disposition
from mail_sandbox.web.errors import ApiError
from mail_sandbox.web.messages import load_message, load_raw
from mail_sandbox.web.routing import RouteTable
from mail_sandbox.web.scope import mailbox_of
from mail_sandbox.web.security import DOWNLOAD_CSP
from mail_sandbox.web.serialize import headers_json, message_json, page_json

NOT_FOUND = "message not found"


def add_routes(router: RouteTable) -> None:
    """Register every ``/api/v1`` route."""
    router.add_get("/api/v1/messages", list_messages)
    router.add_put("/api/v1/messages", set_read)
    router.add_delete("/api/v1/messages", delete_messages)
    router.add_get("/api/v1/message/{id}", get_message)
    router.add_get("/api/v1/message/{id}/raw", get_raw)
    router.add_get("/api/v1/message/{id}/headers", get_headers)
    router.add_get("/api/v1/message/{id}/part/{part_id}", get_message_part)
    router.add_get("/api/v1/search", search)
    router.add_delete("/api/v1/search", delete_by_search)
    router.add_get("/api/v1/wait", api_wait.wait)


async def list_messages(request: web.Request) -> web.Response:
    """``GET /api/v1/messages?start=&limit=``: newest first."""
    start, limit = params.paging(request.query)
    store = await mailbox_of(request)
    page, tags = await asyncio.to_thread(_page_and_tags, store, None, start, limit)
    return web.json_response(page_json(page, tags))


async def search(request: web.Request) -> web.Response:
    """``GET /api/v1/search?query=&start=&limit=``: Mailpit's search grammar."""
    query = request.query.get("query", "").strip()
    if not query:
        raise ApiError(400, "query is required, e.g. ?query=subject:welcome")
    start, limit = params.paging(request.query)
    store = await mailbox_of(request)
    page, tags = await asyncio.to_thread(_page_and_tags, store, query, start, limit)
    return web.json_response(page_json(page, tags))


async def set_read(request: web.Request) -> web.Response:
    """``PUT /api/v1/messages {"IDs"|"Search", "Read": bool}``; neither means every message."""
    change = params.change_request(await request.read(), read_required=True, allow_search=True)
    assert change.read is not None  # read_required guarantees it
    store = await mailbox_of(request)
    if change.search is not None:
        await asyncio.to_thread(_searching, store.set_read_matching, change.search, change.read)
    else:
        await asyncio.to_thread(store.set_read, change.ids, change.read)
    return web.Response(text="ok")


async def delete_messages(request: web.Request) -> web.Response:
    """``DELETE /api/v1/messages {"IDs": [...]}``; no body or no IDs means every message."""
    change = params.change_request(await request.read(), read_required=False)
    store = await mailbox_of(request)
    await asyncio.to_thread(store.delete, change.ids)
    return web.Response(text="ok")


async def delete_by_search(request: web.Request) -> web.Response:
    """``DELETE /api/v1/search?query=``: delete every message the query matches."""
    query = request.query.get("query", "").strip()
    if not query:
        raise ApiError(400, "no search query")
    store = await mailbox_of(request)
    await asyncio.to_thread(_searching, store.delete_matching, query)
    return web.Response(text="ok")


async def get_message(request: web.Request) -> web.Response:
    """``GET /api/v1/message/{ID}`` (``latest`` allowed); marks the message read."""
    store = await mailbox_of(request)
    loaded = await asyncio.to_thread(load_message, store, request.match_info["id"], mark_read=True)
    if loaded is None:
        raise ApiError(404, NOT_FOUND)
    return web.json_response(message_json(loaded.summary, loaded.view))


async def get_raw(request: web.Request) -> web.Response:
    """``GET /api/v1/message/{ID}/raw``: the exact bytes received."""
    store = await mailbox_of(request)
    raw = await asyncio.to_thread(load_raw, store, request.match_info["id"])
    if raw is None:
        raise ApiError(404, NOT_FOUND)
    return web.Response(body=raw, content_type="text/plain", charset="utf-8")


async def get_headers(request: web.Request) -> web.Response:
    """``GET /api/v1/message/{ID}/headers``: ``{"Name": ["value", ...]}``, as Mailpit names them."""
    store = await mailbox_of(request)
    raw = await asyncio.to_thread(load_raw, store, request.match_info["id"])
    if raw is None:
        raise ApiError(404, NOT_FOUND)
    view, order = await asyncio.to_thread(_headers_and_order, raw)
    return web.json_response(headers_json(view.headers, order))


async def get_message_part(request: web.Request) -> web.Response:
    """``GET /api/v1/message/{ID}/part/{PartID}``: the decoded part, always as a download."""
    store = await mailbox_of(request)
    raw = await asyncio.to_thread(load_raw, store, request.match_info["id"])
    if raw is None:
        raise ApiError(404, NOT_FOUND)
    part_id = request.match_info["part_id"]
    part = await asyncio.to_thread(get_part, raw, part_id)
    if part is None:
        raise ApiError(404, f"message has no part {part_id}")
    content_type, filename, data = part
    headers = {
        "Content-Type": content_type,
        "Content-Disposition": attachment_disposition(filename, f"part-{part_id}", content_type),
        "Content-Security-Policy": DOWNLOAD_CSP,
    }
    return web.Response(body=data, headers=headers)


def _page_and_tags(
    store: MessageStore, query: str | None, start: int, limit: int
) -> tuple[Page, list[str]]:
    try:
        page = store.list(start, limit) if query is None else store.search(query, start, limit)
    except SearchError as exc:
        raise ApiError(400, str(exc) or "the search query could not be understood") from None
    return page, store.all_tags()


def _headers_and_order(raw: bytes) -> tuple[MessageView, list[str]]:
    """The parsed message, and its header names in the order they appear (within the same cap
    on header bytes as the view, so a hostile message costs no more here)."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(bounded_headers(raw))
    names = [name for name, _ in headers.raw_items()]
    return parse_message(raw), names


def _searching(operation: Callable[..., int], query: str, *args: object) -> int:
    """Run a store operation over a search query, a query it cannot read being a 400."""
    try:
        return operation(query, *args)
    except SearchError as exc:
        raise ApiError(400, str(exc) or "the search query could not be understood") from None
