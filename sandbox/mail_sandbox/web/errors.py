"""Every failure becomes a clear response: JSON ``{"Error": ...}`` under /api, a page elsewhere.

No request ever sees a traceback, whatever goes wrong inside a handler.
"""

from __future__ import annotations

import logging

import aiohttp_jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from mail_sandbox.store.contract import StoreError
from mail_sandbox.web.routing import unscoped_path

log = logging.getLogger(__name__)

_KEPT_HEADERS = ("Allow", "WWW-Authenticate")


class ApiError(Exception):
    """A request the API refuses; ``message`` is shown to the client as ``{"Error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def is_api(request: web.Request) -> bool:
    """Whether the request is for the JSON API (and so gets JSON errors), in any mailbox."""
    path = unscoped_path(request.path)
    return path == "/api" or path.startswith("/api/")


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """``{"Error": message}`` with the given status."""
    return web.json_response({"Error": message}, status=status, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn refusals and unexpected failures into JSON errors or an error page."""
    try:
        return await handler(request)
    except ApiError as exc:
        if is_api(request):
            return json_error(exc.status, exc.message)
        return _error_page(request, exc.status, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # Keep headers that tell the client what to do instead: Allow (405), the Basic
        # challenge (401).
        headers = {name: exc.headers[name] for name in _KEPT_HEADERS if name in exc.headers}
        message = exc.reason
        if is_api(request):
            return json_error(exc.status, message, headers)
        return _error_page(request, exc.status, message, headers)
    except StoreError as exc:
        log.error("store failure serving %s %s: %s", request.method, request.path, exc)
        message = f"The mail store is unavailable: {exc}"
        if is_api(request):
            return json_error(503, message)
        return _error_page(request, 503, message)
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.path)
        message = "Internal error; the server log has the details"
        if is_api(request):
            return json_error(500, message)
        return _error_page(request, 500, message)


def _error_page(
    request: web.Request, status: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    response = aiohttp_jinja2.render_template(
        "error.html", request, {"status": status, "message": message}, status=status
    )
    response.headers.update(headers or {})
    return response
