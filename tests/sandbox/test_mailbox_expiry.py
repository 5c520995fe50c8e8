"""The running server deletes mailboxes whose TTL ran out, and keeps capturing meanwhile."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import time
from collections.abc import Callable, Iterator

import pytest

from mail_sandbox.endpoints import Endpoint
from mail_sandbox.server import CaptureServer, LoopThread
from mail_sandbox.store import MessageStore, StoreError


@pytest.fixture
def serve(store: MessageStore) -> Iterator[Callable[..., CaptureServer]]:
    loop = LoopThread()
    started: list[CaptureServer] = []

    def start(interval: float = 0.02) -> CaptureServer:
        server = CaptureServer(
            store,
            smtp=Endpoint("127.0.0.1", 0),
            http=Endpoint("127.0.0.1", 0),
            mailbox_expiry_interval=interval,
        )
        loop.run(server.start())
        started.append(server)
        return server

    def stop(server: CaptureServer) -> None:
        loop.run(server.stop())
        started.remove(server)

    start.stop = stop  # type: ignore[attr-defined]
    start.run = loop.run  # type: ignore[attr-defined]
    try:
        yield start
        for server in started:
            loop.run(server.stop())
    finally:
        loop.stop()


def names(store: MessageStore) -> list[str]:
    return [info.name for info in store.mailboxes()]


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.01)


def test_a_mailbox_whose_ttl_ran_out_disappears(serve, store, clock):
    store.create_mailbox("ci-short", ttl=1)
    store.create_mailbox("ci-long", ttl=3600)
    store.create_mailbox("ci-forever")
    store.mailbox("ci-short").add(b"Subject: doomed\r\n\r\nx\r\n", "a@x", ["b@x"]).result(10)
    serve()
    clock.advance(2)
    wait_until(lambda: "ci-short" not in names(store))
    assert names(store) == ["default", "ci-forever", "ci-long"]


def test_a_mailbox_in_use_is_kept(serve, store, clock):
    store.create_mailbox("ci-busy", ttl=5)
    store.create_mailbox("ci-idle", ttl=5)
    server = serve()
    clock.advance(4)
    with smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=10) as client:
        client.login("ci-busy", "")
        client.sendmail("a@x", ["b@x"], b"Subject: still here\r\n\r\nx\r\n")
    clock.advance(2)  # 6 s after creation, 2 s after the mail
    wait_until(lambda: "ci-idle" not in names(store))
    assert "ci-busy" in names(store)


def test_a_failing_expiry_is_logged_once_and_tried_again(serve, store, clock, monkeypatch, caplog):
    store.create_mailbox("ci-short", ttl=1)
    expire = store.expire_mailboxes
    calls = 0

    def flaky() -> list[str]:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise StoreError("database is locked")
        return expire()

    monkeypatch.setattr(store, "expire_mailboxes", flaky)
    caplog.set_level(logging.INFO, logger="mail_sandbox.server")
    server = serve()
    clock.advance(2)
    wait_until(lambda: "ci-short" not in names(store))
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in failures] == [
        "mailbox expiry failed; trying again every 0.02 s"
    ]
    assert "database is locked" in caplog.text
    # SMTP went on through all of it.
    with smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=10) as client:
        assert client.sendmail("a@x", ["b@x"], b"Subject: ok\r\n\r\nx\r\n") == {}


def test_expiry_stops_with_the_server(serve, store):
    server = serve(interval=0.01)
    assert "mail-sandbox-mailbox-expiry" in serve.run(task_names())
    serve.stop(server)
    assert "mail-sandbox-mailbox-expiry" not in serve.run(task_names())


async def task_names() -> set[str]:
    return {task.get_name() for task in asyncio.all_tasks()}


@pytest.mark.parametrize("interval", [0, -1])
def test_the_interval_must_be_positive(store, interval):
    with pytest.raises(ValueError, match="above 0"):
        CaptureServer(
            store,
            smtp=Endpoint("127.0.0.1", 0),
            http=Endpoint("127.0.0.1", 0),
            mailbox_expiry_interval=interval,
        )
