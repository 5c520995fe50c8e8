"""``GET /api/v1/swagger.json``: the API's OpenAPI description, where Mailpit serves its own.

Clients and API tools (and this project's fuzzing tests) generate requests from it, so it is
built from the same limits the handlers enforce rather than written out separately.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from aiohttp import web

from mail_sandbox import __version__
from mail_sandbox.web.api_mailboxes import PATH as MAILBOXES_PATH
from mail_sandbox.web.openapi_paths import PATHS
from mail_sandbox.web.openapi_schemas import SCHEMAS
from mail_sandbox.web.routing import RouteTable
from mail_sandbox.web.scope import base_path

PATH = "/api/v1/swagger.json"


def add_routes(router: RouteTable) -> None:
    """Register the route."""
    router.add_get(PATH, swagger_json)


@functools.cache
def description() -> dict[str, Any]:
    """The OpenAPI 3.0 document for every operation under /api/v1 (do not modify it)."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "mail-sandbox API",
            "version": __version__,
            "description": (
                "Mailpit's /api/v1 field names and status codes, plus /api/v1/wait and "
                "/api/v1/mailboxes. Every operation but those on mailboxes is also served under "
                "/m/{Name}/ for that mailbox alone (chaos and webui being server-wide). "
                'Errors are {"Error": "..."}; nothing is ever relayed. Any operation may '
                "also answer 401 (the server was started with --ui-auth, or the mailbox "
                "has a password) or 421 (a Host "
                "header that is not loopback, the bound address or an --allow-host name)."
            ),
            "license": {"name": "MIT"},
        },
        "paths": PATHS,
        "components": {"schemas": SCHEMAS},
    }


@functools.cache
def _body() -> bytes:
    return json.dumps(description(), indent=1).encode()


@functools.lru_cache(maxsize=64)
def _scoped_body(prefix: str) -> bytes:
    # Under /m/NAME/ the operations are the mailbox's, at that prefix; the mailbox routes are
    # the server's and stay at the root, so they are left out.
    document = description()
    paths = {path: item for path, item in document["paths"].items() if not _server_wide(path)}
    scoped = {**document, "servers": [{"url": prefix}], "paths": paths}
    return json.dumps(scoped, indent=1).encode()


def _server_wide(path: str) -> bool:
    return path == MAILBOXES_PATH or path.startswith(MAILBOXES_PATH + "/")


async def swagger_json(request: web.Request) -> web.Response:
    """The description as JSON; under ``/m/NAME/``, of that mailbox's operations there."""
    prefix = base_path(request)
    body = _scoped_body(prefix) if prefix else _body()
    return web.Response(body=body, content_type="application/json")
