"""Probes of the capture server's HTTP side: API latency, how soon mail shows, how soon a burst
is searchable. Each is bounded in requests and in time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field

import aiohttp

from benchmarks.emails import ResetEmails
from benchmarks.loadgen import SMTPClient

#: How often ``searchable_after`` asks; also the resolution of what it measures.
SEARCH_POLL_SECONDS = 0.025


class ProbeError(RuntimeError):
    """The server answered a probe with something other than what the API promises."""


async def _get_json(session: aiohttp.ClientSession, url: str, params: Mapping[str, str]) -> dict:
    async with session.get(url, params=params) as response:
        if response.status != 200:
            body = await response.text()
            raise ProbeError(f"GET {url} {dict(params)}: {response.status} {body[:200]}")
        return await response.json()


async def paced(count: int, rate: float, deadline: float) -> AsyncIterator[int]:
    """``0`` to ``count - 1``, each when its turn comes at ``rate`` a second, counted from the
    first; ends early at ``deadline`` (a ``perf_counter`` time)."""
    started = time.perf_counter()
    for seq in range(count):
        # Pacing to the rate is the point here, so this is a wait for a time, not an event.
        await asyncio.sleep(max(0.0, started + seq / rate - time.perf_counter()))
        if time.perf_counter() > deadline:
            return
        yield seq


def stored_id(reply: str) -> str:
    """The message ID a 250 names ("stored as ID"); ``ProbeError`` when it names none."""
    _, marker, message_id = reply.rpartition("stored as ")
    if not marker or not message_id:
        raise ProbeError(f"the 250 names no stored message ID: {reply!r}")
    return message_id


def wait_params(query: str, deadline: float) -> dict[str, str]:
    """The parameters of a ``/api/v1/wait`` for ``query`` that gives up at ``deadline`` (a
    ``perf_counter`` time), but never in less than a second."""
    timeout = max(1.0, deadline - time.perf_counter())
    # since= (empty) also counts a message stored before the wait is registered.
    return {"query": query, "since": "", "timeout": f"{timeout:.1f}"}


async def api_latency(
    base_url: str,
    path: str,
    queries: Sequence[Mapping[str, str]],
    *,
    count: int,
    time_limit: float,
) -> list[float]:
    """Seconds each of ``count`` GETs of ``path`` took (one at a time, cycling ``queries``);
    stops early at ``time_limit``."""
    latencies: list[float] = []
    deadline = time.perf_counter() + time_limit
    async with aiohttp.ClientSession() as session:
        for index in range(count):
            started = time.perf_counter()
            if started > deadline:
                break
            await _get_json(session, base_url + path, queries[index % len(queries)])
            latencies.append(time.perf_counter() - started)
    return latencies


@dataclass
class Visibility:
    """Seconds from each 250 until the message was in ``GET /api/v1/messages`` (``listed``)
    and until a ``/api/v1/wait`` for it, begun before it was sent, returned (``waited``)."""

    listed: list[float] = field(default_factory=list)
    waited: list[float] = field(default_factory=list)
    sent: int = 0


async def visible_latency(
    host: str,
    smtp_port: int,
    base_url: str,
    *,
    rate: float,
    count: int,
    time_limit: float,
    domain: str,
) -> Visibility:
    """Send ``count`` messages at ``rate`` a second on one connection and time their showing.

    The server's 250 names the stored ID ("stored as ID"), which the listing is searched for.
    At ``time_limit`` it stops, with what it measured so far (``sent`` says how many).
    """
    emails = ResetEmails(domain=domain)
    result = Visibility()
    deadline = time.perf_counter() + time_limit
    async with aiohttp.ClientSession() as session:
        client = await SMTPClient.connect(host, smtp_port)
        try:
            async for seq in paced(count, rate, deadline):
                recipient = emails.recipient(seq)
                waiting = asyncio.create_task(
                    _wait_for(session, base_url, f"to:{recipient}", deadline)
                )
                _, reply = await client.send(emails.sender, recipient, emails.payload(seq))
                acknowledged = time.perf_counter()
                message_id = stored_id(reply)
                listed = await _listed_at(session, base_url, message_id, deadline)
                if listed is None:
                    waiting.cancel()
                    break
                result.listed.append(listed - acknowledged)
                result.waited.append(await waiting - acknowledged)
                result.sent += 1
        finally:
            await client.quit()
    return result


async def _wait_for(
    session: aiohttp.ClientSession, base_url: str, query: str, deadline: float
) -> float:
    """When ``/api/v1/wait`` returned the message matching ``query``."""
    await _get_json(session, base_url + "/api/v1/wait", wait_params(query, deadline))
    return time.perf_counter()


async def _listed_at(
    session: aiohttp.ClientSession, base_url: str, message_id: str, deadline: float
) -> float | None:
    """When the first listing that holds ``message_id`` arrived (polled back to back); None
    when the deadline came first."""
    while time.perf_counter() < deadline:
        page = await _get_json(session, base_url + "/api/v1/messages", {"limit": "50"})
        if any(summary["ID"] == message_id for summary in page["messages"]):
            return time.perf_counter()
    return None


async def searchable_after(
    base_url: str, query: str, expected: int, *, since: float, time_limit: float
) -> float | None:
    """Seconds from ``since`` (a ``perf_counter`` time) until a search for ``query`` counts
    ``expected`` messages, asked every ``SEARCH_POLL_SECONDS``; None when that did not happen
    within ``time_limit``."""
    deadline = time.perf_counter() + time_limit
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() < deadline:
            page = await _get_json(
                session, base_url + "/api/v1/search", {"query": query, "limit": "1"}
            )
            if page["messages_count"] >= expected:
                return time.perf_counter() - since
            # A search behind a flood answers at once with what is indexed so far: asked back
            # to back, the probe would take CPU from the indexer it is timing.
            await asyncio.sleep(SEARCH_POLL_SECONDS)
    return None


async def count_grows(base_url: str, *, by: int, time_limit: float) -> None:
    """Return once the mailbox holds ``by`` more messages than at the call (load has begun);
    ``ProbeError`` after ``time_limit`` seconds."""
    target = await stored_count(base_url) + by
    if await count_reaches(base_url, target, time_limit=time_limit) < target:
        raise ProbeError(f"the mailbox did not grow by {by} within {time_limit:g} s")


async def count_reaches(base_url: str, target: int, *, time_limit: float) -> int:
    """Poll the mailbox's total until it holds ``target`` messages or ``time_limit`` seconds
    pass; returns the last total seen. Mail added to the store's files by other processes
    shows only once the server's indexer has taken it in."""
    deadline = time.perf_counter() + time_limit
    async with aiohttp.ClientSession() as session:
        url = base_url + "/api/v1/messages"
        while True:
            total = int((await _get_json(session, url, {"limit": "1"}))["total"])
            if total >= target or time.perf_counter() > deadline:
                return total
            # The indexer takes in a chunk every few milliseconds: no need to ask faster.
            await asyncio.sleep(0.05)


async def stored_count(base_url: str) -> int:
    """How many messages the mailbox holds."""
    async with aiohttp.ClientSession() as session:
        page = await _get_json(session, base_url + "/api/v1/messages", {"limit": "1"})
    return int(page["total"])
