"""The inbox's HTML pages: the list, one message, and the email's HTML for the iframe.

Each page serves the mailbox of its path (``scope.mailbox_of``), and every URL it builds starts
with that path's ``base_path``, so a page under ``/m/NAME/`` never shows or links to another
mailbox's mail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp_jinja2
from aiohttp import web

from mail_sandbox.store.contract import MessageStore, Page, SearchError
from mail_sandbox.web.errors import ApiError
from mail_sandbox.web.frame import email_document
from mail_sandbox.web.messages import LATEST, LoadedMessage, load_message, resolve_id
from mail_sandbox.web.routing import RouteTable
from mail_sandbox.web.scope import base_path, mailbox_of
from mail_sandbox.web.security import EMAIL_CSP
from mail_sandbox.web.ui_mailboxes import switcher

PAGE_SIZE = 50
# The Raw tab shows this much; the full message is one click away as a download.
RAW_DISPLAY_LIMIT = 1024 * 1024
TABS = (("html", "HTML"), ("text", "Text"), ("headers", "Headers"), ("raw", "Raw"))


def add_routes(router: RouteTable) -> None:
    """Register the inbox pages and their form actions."""
    router.add_get("/", inbox, name="inbox")
    router.add_get("/fragments/inbox", inbox_fragment)
    router.add_post("/delete-all", delete_all)
    router.add_get("/message/{id}", message_page)
    router.add_get("/message/{id}/html", message_html)
    router.add_post("/message/{id}/delete", delete_message)


async def inbox(request: web.Request) -> web.Response:
    """``/?q=&page=``: the list, newest first, with search and pagination."""
    context = await _inbox_context(request)
    return aiohttp_jinja2.render_template("inbox.html", request, context, status=context["status"])


async def inbox_fragment(request: web.Request) -> web.Response:
    """The list and the mailbox switcher, which the page's script swaps in when mail arrives."""
    context = await _inbox_context(request)
    return aiohttp_jinja2.render_template(
        "_inbox_fragment.html", request, context, status=context["status"]
    )


async def delete_all(request: web.Request) -> web.Response:
    """The "Delete all" button."""
    store = await mailbox_of(request)
    await asyncio.to_thread(store.delete, None)
    raise web.HTTPSeeOther(base_path(request) + "/")


async def message_page(request: web.Request) -> web.Response:
    """``/message/{ID}``: headers, the four views, attachments; opening it marks it read."""
    store = await mailbox_of(request)
    base = base_path(request)
    message_id = request.match_info["id"]
    if message_id == LATEST:
        resolved = await asyncio.to_thread(resolve_id, store, message_id)
        if resolved is None:
            raise web.HTTPNotFound(reason="The inbox is empty")
        raise web.HTTPFound(f"{base}/message/{quote(resolved, safe='')}")
    loaded = await asyncio.to_thread(load_message, store, message_id, mark_read=True)
    if loaded is None:
        raise web.HTTPNotFound(reason="Message not found")
    tab = request.query.get("tab", "")
    if tab not in dict(TABS):
        tab = "html" if loaded.view.html else "text"
    raw_text = loaded.raw[:RAW_DISPLAY_LIMIT].decode("utf-8", errors="replace")
    summary = loaded.summary
    context = {
        "message": summary,
        "view": loaded.view,
        "path_id": quote(summary.id, safe=""),
        "date": loaded.view.date or summary.date or summary.created,
        "parts": [(part, "attachment") for part in loaded.view.attachments]
        + [(part, "inline") for part in loaded.view.inline],
        "tabs": TABS,
        "tab": tab,
        "raw_text": raw_text,
        "raw_truncated": len(loaded.raw) > RAW_DISPLAY_LIMIT,
        "tag_url": partial(tag_filter_url, base=base),
        "switcher": await switcher(request),
    }
    return aiohttp_jinja2.render_template("message.html", request, context)


async def message_html(request: web.Request) -> web.Response:
    """The email's HTML as its own document, for the sandboxed iframe on the message page."""
    store = await mailbox_of(request)
    loaded = await asyncio.to_thread(load_message, store, request.match_info["id"], mark_read=False)
    if loaded is None:
        raise web.HTTPNotFound(reason="Message not found")
    if not loaded.view.html:
        raise web.HTTPNotFound(reason="This message has no HTML part")
    document = email_document(
        loaded.view.html,
        [*loaded.view.inline, *loaded.view.attachments],
        _part_url(base_path(request), loaded),
    )
    return web.Response(
        text=document,
        content_type="text/html",
        charset="utf-8",
        headers={"Content-Security-Policy": EMAIL_CSP, "X-Frame-Options": "SAMEORIGIN"},
    )


async def delete_message(request: web.Request) -> web.Response:
    """The message page's "Delete" button."""
    store = await mailbox_of(request)
    await asyncio.to_thread(store.delete, [request.match_info["id"]])
    raise web.HTTPSeeOther(base_path(request) + "/")


def tag_filter_url(tag: str, *, base: str = "") -> str:
    """The inbox at ``base`` filtered to one tag: ``BASE/?q=tag:NAME``, quoted when the name
    holds a space."""
    term = f'tag:"{tag}"' if " " in tag else f"tag:{tag}"
    return f"{base}/?" + urlencode({"q": term})


def _part_url(base: str, loaded: LoadedMessage) -> Callable[[str], str]:
    prefix = f"{base}/api/v1/message/{quote(loaded.summary.id, safe='')}/part/"
    return lambda part_id: prefix + quote(part_id, safe=".")


async def _inbox_context(request: web.Request) -> dict[str, Any]:
    query = request.query.get("q", "").strip()
    page_number = _page_number(request.query.get("page", ""))
    start = (page_number - 1) * PAGE_SIZE
    store = await mailbox_of(request)
    base = base_path(request)
    page, error = await asyncio.to_thread(_read_page, store, query, start)
    pages = max(1, -(-page.matched // PAGE_SIZE))
    link_query = {"q": query} if query else {}
    return {
        "status": 400 if error else 200,
        "error": error,
        "q": query,
        "messages": page.messages,
        "total": page.total,
        "unread": page.unread,
        "matched": page.matched,
        "first": start + 1 if page.messages else 0,
        "last": start + len(page.messages),
        "page_number": page_number,
        "pages": pages,
        "newer_url": _list_url(base, link_query, page_number - 1) if page_number > 1 else None,
        "older_url": _list_url(base, link_query, page_number + 1) if page_number < pages else None,
        "fragment_url": f"{base}/fragments/inbox?" + urlencode({**link_query, "page": page_number}),
        "events_url": f"{base}/api/events",
        "title": f"Inbox ({page.unread} unread) · Mail Sandbox",
        "tag_url": partial(tag_filter_url, base=base),
        "switcher": await switcher(request),
    }


def _page_number(value: str) -> int:
    value = value.strip()
    if not value:
        return 1
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise ApiError(400, "The page number must be a whole number, 1 or more")
    return int(value)


def _read_page(store: MessageStore, query: str, start: int) -> tuple[Page, str]:
    try:
        if query:
            return store.search(query, start, PAGE_SIZE), ""
        return store.list(start, PAGE_SIZE), ""
    except SearchError as exc:
        total, unread = store.counts()
        empty = Page(total=total, unread=unread, matched=0, matched_unread=0, start=0, messages=[])
        return empty, f"Search not understood: {exc}"


def _list_url(base: str, query: dict[str, str], page_number: int) -> str:
    parameters = dict(query)
    if page_number > 1:
        parameters["page"] = str(page_number)
    return f"{base}/?" + urlencode(parameters) if parameters else f"{base}/"
