"""Tags: ``GET/PUT /api/v1/tags`` and ``PUT/DELETE /api/v1/tags/{tag}``, as Mailpit has them.

Names are cleaned as the ``X-Tags`` header's are: only letters, digits, ``-``, ``.``, ``_`` and
spaces are kept.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from mail_sandbox.store.contract import NoSuchMessageError, NoSuchTagError, TagExistsError
from mail_sandbox.tags import clean_tag
from mail_sandbox.web import params
from mail_sandbox.web.errors import ApiError
from mail_sandbox.web.routing import RouteTable
from mail_sandbox.web.scope import mailbox_of

_SET_FIELDS = {"ids": "IDs", "tags": "Tags"}
_SET_EXAMPLE = '{"IDs": ["..."], "Tags": ["tag"]}'
_RENAME_FIELDS = {"name": "Name"}
_RENAME_EXAMPLE = '{"Name": "new name"}'


def add_routes(router: RouteTable) -> None:
    """Register the tag routes."""
    router.add_get("/api/v1/tags", list_tags)
    router.add_put("/api/v1/tags", set_tags)
    router.add_put("/api/v1/tags/{tag}", rename_tag)
    router.add_delete("/api/v1/tags/{tag}", delete_tag)


async def list_tags(request: web.Request) -> web.Response:
    """Every tag in use, sorted."""
    store = await mailbox_of(request)
    return web.json_response(await asyncio.to_thread(store.all_tags))


async def set_tags(request: web.Request) -> web.Response:
    """``{"IDs": [...], "Tags": [...]}``: replace those messages' tags; no Tags clears them."""
    fields = params.json_object(await request.read(), _SET_FIELDS, _SET_EXAMPLE)
    ids = _strings(fields.get("IDs"), "IDs")
    if not ids:
        raise ApiError(400, f"IDs is required: {_SET_EXAMPLE}")
    tags = [tag for tag in map(clean_tag, _strings(fields.get("Tags"), "Tags")) if tag]
    store = await mailbox_of(request)
    try:
        await asyncio.to_thread(store.set_tags, ids, tags)
    except NoSuchMessageError as exc:
        raise ApiError(404, str(exc)) from None
    return web.Response(text="ok")


async def rename_tag(request: web.Request) -> web.Response:
    """``{"Name": "new"}``: rename the tag in the path on every message."""
    tag = request.match_info["tag"]
    fields = params.json_object(await request.read(), _RENAME_FIELDS, _RENAME_EXAMPLE)
    name = fields.get("Name")
    if not isinstance(name, str):
        raise ApiError(400, f"Name is required: {_RENAME_EXAMPLE}")
    new_name = clean_tag(name)
    if not new_name:
        raise ApiError(400, f"invalid tag name: {name}")
    if new_name == tag:
        return web.Response(text="ok")
    store = await mailbox_of(request)
    try:
        await asyncio.to_thread(store.rename_tag, tag, new_name)
    except NoSuchTagError as exc:
        raise ApiError(404, str(exc)) from None
    except TagExistsError as exc:
        raise ApiError(400, str(exc)) from None
    return web.Response(text="ok")


async def delete_tag(request: web.Request) -> web.Response:
    """Remove the tag from every message; the messages stay."""
    store = await mailbox_of(request)
    try:
        await asyncio.to_thread(store.delete_tag, request.match_info["tag"])
    except NoSuchTagError as exc:
        raise ApiError(404, str(exc)) from None
    return web.Response(text="ok")


def _strings(value: object, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(400, f"{name} must be a list of strings")
    return [item for item in value if item]
