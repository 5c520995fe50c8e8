"""The benchmark's load generator: it delivers what it counts, byte for byte, within its limits."""

from __future__ import annotations

import email
import time

import pytest

from benchmarks.emails import ResetEmails
from benchmarks.loadgen import LoadResult, LoadSpec, run_load
from benchmarks.reference_smtp import ListHandler, start
from mail_sandbox.server import run_on_own_loop


async def deliver(spec: LoadSpec, handler: ListHandler) -> LoadResult:
    """Run the generator against the floor server (plain aiosmtpd) on a free loopback port."""
    server = await start(handler, "127.0.0.1", 0)
    try:
        return await run_load("127.0.0.1", server.sockets[0].getsockname()[1], spec)
    finally:
        server.close()


@pytest.mark.parametrize("per_connection", [1, 5])
def test_every_message_arrives_intact_and_is_counted(per_connection: int) -> None:
    spec = LoadSpec(total=36, connections=4, per_connection=per_connection, time_limit=30)
    handler = ListHandler()

    result = run_on_own_loop(deliver(spec, handler))

    assert (result.sent, result.failed, result.timed_out) == (36, 0, False)
    emails = ResetEmails(spec.size, domain=spec.domain)
    assert sorted(handler.messages) == sorted(emails.message(seq) for seq in range(36))
    assert result.bytes_sent == sum(len(message) for message in handler.messages)
    assert len(result.latencies) == len(result.completions) == 36
    assert result.messages_per_second > 0


def test_a_run_stops_at_its_time_limit() -> None:
    # A server that takes 30 s to answer each message.
    spec = LoadSpec(total=10, connections=2, time_limit=0.5)
    started = time.perf_counter()

    result = run_on_own_loop(deliver(spec, ListHandler(delay=30)))

    assert result.timed_out
    assert result.sent == 0
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize("size", [4 * 1024, 200 * 1024])
def test_messages_are_reset_emails_of_the_asked_size(size: int) -> None:
    emails = ResetEmails(size, domain="run.example")

    raw = emails.message(7)

    assert abs(len(raw) - size) <= max(64, size // 200)
    message = email.message_from_bytes(raw)
    assert message["Subject"] == "[Microblog] Reset Your Password"
    assert message["To"] == emails.recipient(7) == "user0000000007@run.example"
    parts = {part.get_content_type(): part for part in message.walk()}
    assert list(parts) == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html"]
    text = parts["text/plain"].get_payload(decode=True).decode()
    assert "Dear user0000000007," in text
    assert "http://127.0.0.1:5000/reset_password/eyJ" in text
    assert emails.message(8) != raw
