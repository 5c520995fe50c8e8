"""``GET /api/events``: server-sent events telling open inbox pages that mail arrived."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from aiohttp_sse import EventSourceResponse, sse_response

from mail_sandbox.web.events import Subscription
from mail_sandbox.web.keys import HUB
from mail_sandbox.web.routing import RouteTable
from mail_sandbox.web.scope import mailbox_of, served_name

PING_SECONDS = 15.0


def add_routes(router: RouteTable) -> None:
    """Register the event stream."""
    router.add_get("/api/events", events)


async def events(request: web.Request) -> web.StreamResponse:
    """Stream ``event: new`` with ``{"IDs": [...]}`` for every batch of stored messages.

    Only the mailbox of the path is heard (``default`` at ``/api/events``). The subscription
    starts before the response is sent, so a page that re-reads the list when the stream opens
    misses nothing. The stream ends when the client goes away (its
    pings fail) or the server shuts down.
    """
    # Resolved first: an unknown mailbox is a 404, not an empty stream.
    await mailbox_of(request)
    with request.app[HUB].subscribe(served_name(request)) as subscription:
        async with sse_response(request, ping_interval=PING_SECONDS) as stream:
            disconnected = asyncio.ensure_future(stream.wait())
            try:
                await _forward(subscription, stream, disconnected)
            except ConnectionResetError:
                pass
            finally:
                disconnected.cancel()
    return stream


async def _forward(
    subscription: Subscription, stream: EventSourceResponse, disconnected: asyncio.Future[None]
) -> None:
    while True:
        batch = asyncio.ensure_future(subscription.next())
        done, _ = await asyncio.wait({batch, disconnected}, return_when=asyncio.FIRST_COMPLETED)
        if batch not in done:
            batch.cancel()
            return
        ids = batch.result()
        if ids is None:
            return
        if ids:
            await stream.send(json.dumps({"IDs": ids}), event="new")
