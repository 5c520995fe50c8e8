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
from mail_sandbox.web.openapi_paths import PATHS
from mail_sandbox.web.openapi_schemas import SCHEMAS

PATH = "/api/v1/swagger.json"


def add_routes(router: web.UrlDispatcher) -> None:
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
                "Mailpit's /api/v1 field names and status codes, plus /api/v1/wait. "
                'Errors are {"Error": "..."}; nothing is ever relayed. Any operation may '
                "also answer 401 (the server was started with --ui-auth) or 421 (a Host "
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


async def swagger_json(request: web.Request) -> web.Response:
    """The description as JSON."""
    return web.Response(body=_body(), content_type="application/json")
