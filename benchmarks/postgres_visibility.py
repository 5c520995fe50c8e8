"""Cross-process visibility on one PostgreSQL database: how soon after server A's 250 a
``GET /api/v1/wait`` on server B returns that message (B hears of it by NOTIFY)."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp

from benchmarks.emails import ResetEmails
from benchmarks.loadgen import SMTPClient
from benchmarks.probes import ProbeError, paced, stored_id, wait_params


async def visible_on_other(
    host: str,
    smtp_port: int,
    wait_url: str,
    *,
    rate: float,
    count: int,
    time_limit: float,
    domain: str,
) -> list[float]:
    """Send ``count`` messages at ``rate`` a second on one connection to ``smtp_port`` (server
    A); for each, seconds from A's 250 until a wait on ``wait_url`` (server B), begun before
    the message was sent, returned it. Stops at ``time_limit`` with what it measured so far.
    """
    emails = ResetEmails(domain=domain)
    latencies: list[float] = []
    deadline = time.perf_counter() + time_limit
    async with aiohttp.ClientSession() as session:
        client = await SMTPClient.connect(host, smtp_port)
        try:
            async for seq in paced(count, rate, deadline):
                recipient = emails.recipient(seq)
                waiting = asyncio.create_task(
                    _waited(session, wait_url, f"to:{recipient}", deadline)
                )
                _, reply = await client.send(emails.sender, recipient, emails.payload(seq))
                acknowledged = time.perf_counter()
                try:
                    message_id = stored_id(reply)
                except ProbeError:
                    waiting.cancel()
                    raise
                returned, found = await waiting
                if found != message_id:
                    raise ProbeError(f"B's wait returned {found}, not A's {message_id}")
                latencies.append(returned - acknowledged)
        finally:
            await client.quit()
    return latencies


async def _waited(
    session: aiohttp.ClientSession, wait_url: str, query: str, deadline: float
) -> tuple[float, str]:
    """When ``/api/v1/wait`` on ``wait_url`` answered the message matching ``query``, and its ID."""
    params = wait_params(query, deadline)
    async with session.get(wait_url + "/api/v1/wait", params=params) as response:
        body = await response.text()
        returned = time.perf_counter()
        if response.status != 200:
            raise ProbeError(f"GET {wait_url}/api/v1/wait {params}: {response.status} {body[:200]}")
    return returned, str(json.loads(body)["ID"])
