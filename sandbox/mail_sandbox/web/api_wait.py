"""``GET /api/v1/wait``: block until a matching message arrives, without polling.

The handler subscribes to new-message events first and only then takes its marker (``since``
or the newest ID), so every message stored after the marker also comes as an event. Each
check asks the store for the newest match after the marker with the same query every time,
so the store's remembered counts make it cost only what arrived since the previous check.

The marker can be deleted while the request waits (a test clearing the mailbox, then sending).
What came after it is then known only from the events; see ``_Floor``.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from mail_sandbox.store.contract import MessageStore, SearchError, Summary
from mail_sandbox.web import params
from mail_sandbox.web.errors import ApiError
from mail_sandbox.web.keys import HUB
from mail_sandbox.web.messages import resolve_id
from mail_sandbox.web.scope import mailbox_of, served_name
from mail_sandbox.web.serialize import summary_json


async def wait(request: web.Request) -> web.Response:
    """``GET /api/v1/wait?query=&timeout=&since=``: the newest matching message to arrive."""
    query = request.query.get("query", "").strip()
    timeout = params.wait_timeout(request.query)
    # Absent: only mail arriving from now on. Present but empty: anything already stored counts
    # too (the pytest plugin's wait_for after clearing the mailbox). An ID: anything after it.
    since = request.query.get("since")
    store = await mailbox_of(request)
    deadline = asyncio.get_running_loop().time() + timeout
    with request.app[HUB].subscribe(served_name(request)) as subscription:
        marker = await asyncio.to_thread(_wait_marker, store, since)
        floor = _Floor(marker)
        while True:
            found = await asyncio.to_thread(floor.newest_match, store, query)
            if found is not None:
                return web.json_response(summary_json(found))
            try:
                async with asyncio.timeout_at(deadline):
                    ids = await subscription.next()
            except TimeoutError:
                raise ApiError(
                    408, f"no matching message arrived within {timeout:g} seconds"
                ) from None
            if ids is None:
                raise ApiError(503, "the server is shutting down")
            floor.arrived(ids)


class _Floor:
    """Which messages count as new: those stored after ``marker`` (all, if it is None).

    While the marker exists the store sorts that out. Once it is deleted, the messages after
    it that no check has seen yet are the ones announced since the last check
    (``_unchecked``): the newest match in the whole mailbox counts only if it is one of them,
    and when none of them matches the newest of them becomes the marker, so the
    whole-mailbox search runs once per deletion, not once per arrival.
    """

    def __init__(self, marker: str | None) -> None:
        self._marker = marker
        self._lost = False
        self._unchecked: list[str] = []

    def arrived(self, ids: list[str]) -> None:
        """Note IDs announced as stored since the last check."""
        self._unchecked.extend(ids)

    def newest_match(self, store: MessageStore, query: str) -> Summary | None:
        """The newest message after the floor that ``query`` matches, or None."""
        if not self._lost:
            try:
                found = _newest(store, query, self._marker)
            except KeyError:
                self._lost = True
            else:
                self._unchecked = []
                return found
        found = _newest(store, query, None)
        if found is not None and found.id in self._unchecked:
            return found
        if self._unchecked:
            self._marker, self._lost, self._unchecked = self._unchecked[-1], False, []
        return None


def _wait_marker(store: MessageStore, since: str | None) -> str | None:
    if since is None:
        return store.latest_id()
    since = since.strip()
    if not since:
        return None
    resolved = resolve_id(store, since)
    if resolved is None or store.summary(resolved) is None:
        raise ApiError(404, f"since: no message with ID {since}")
    return resolved


def _newest(store: MessageStore, query: str, marker: str | None) -> Summary | None:
    try:
        page = store.search(query, 0, 1, after=marker) if query else store.list(0, 1, after=marker)
    except SearchError as exc:
        raise ApiError(400, str(exc) or "the search query could not be understood") from None
    return page.messages[0] if page.messages else None
