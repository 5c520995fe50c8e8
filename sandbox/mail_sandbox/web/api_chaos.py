"""``GET/PUT /api/v1/chaos``: Mailpit's SMTP fault injection triggers."""

from __future__ import annotations

from aiohttp import web

from mail_sandbox.chaos import NOT_ENABLED, ChaosError
from mail_sandbox.web import params
from mail_sandbox.web.errors import ApiError
from mail_sandbox.web.keys import CHAOS
from mail_sandbox.web.routing import RouteTable

_EXAMPLE = '{"Recipient": {"ErrorCode": 451, "Probability": 100}}'


def add_routes(router: RouteTable) -> None:
    """Register the two routes."""
    router.add_get("/api/v1/chaos", get_triggers)
    router.add_put("/api/v1/chaos", set_triggers)


async def get_triggers(request: web.Request) -> web.Response:
    """The current triggers; 400 while chaos is off."""
    try:
        return web.json_response(request.app[CHAOS].to_json())
    except ChaosError as exc:
        raise ApiError(400, exc.message) from None


async def set_triggers(request: web.Request) -> web.Response:
    """Replace the triggers (omitted ones go back to never firing) and answer the new set."""
    chaos = request.app[CHAOS]
    if not chaos.enabled:
        # Said before anything about the body: no body would make it work.
        raise ApiError(400, NOT_ENABLED)
    body = (await request.read()).strip()
    # An empty body is the npm client's setChaosTriggers() and curl's bare -X PUT: reset all.
    data: object = {}
    if body:
        data = params.json_value(body, f"request body is not valid JSON; expected {_EXAMPLE}")
    try:
        return web.json_response(chaos.update(data))
    except ChaosError as exc:
        raise ApiError(400, exc.message) from None
