"""``GET /api/v1/wait`` finds the next message even when mail is deleted while it waits."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from mail_sandbox.store import Page, SQLiteStore


class SignallingStore(SQLiteStore):
    """The real store, signalling each check a waiter makes (a page of one), so a test acts
    only once the waiter is certainly listening instead of sleeping."""

    def __init__(self) -> None:
        super().__init__(":memory:", max_messages=0)
        self.checks = threading.Semaphore(0)

    def list(self, start: int = 0, limit: int = 50, *, after: str | None = None) -> Page:
        try:
            return super().list(start, limit, after=after)
        finally:
            if limit == 1:
                self.checks.release()

    def search(
        self, query: str, start: int = 0, limit: int = 50, *, after: str | None = None
    ) -> Page:
        try:
            return super().search(query, start, limit, after=after)
        finally:
            if limit == 1:
                self.checks.release()


@pytest.fixture
def store() -> Iterator[SignallingStore]:
    """Overrides the conftest store, for ``web_server``."""
    signalling = SignallingStore()
    yield signalling
    signalling.close()


def message(subject: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "app@example.com"
    msg["To"] = "dev@example.com"
    msg["Subject"] = subject
    msg.set_content("body")
    return msg.as_bytes()


def add(store: SQLiteStore, subject: str) -> str:
    return store.add(message(subject), "app@example.com", ["dev@example.com"]).result(timeout=10)


@pytest.fixture
def api(web_server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web_server.url, timeout=30) as client:
        yield client


def start_waiting(
    pool: ThreadPoolExecutor, web_server: Any, api: httpx.Client, path: str
) -> Future[httpx.Response]:
    """Start ``GET path`` and return once the waiter has made its first check."""
    store: SignallingStore = web_server.store
    waiter = pool.submit(api.get, path)
    assert store.checks.acquire(timeout=10), "the waiter never checked the store"
    return waiter


@pytest.mark.parametrize("query", ["", "&query=subject:wanted"])
def test_wait_returns_the_next_message_after_the_mailbox_was_cleared(
    web_server: Any, api: httpx.Client, query: str
) -> None:
    store: SignallingStore = web_server.store
    add(store, "wanted old")
    with ThreadPoolExecutor(1) as pool:
        waiter = start_waiting(pool, web_server, api, f"/api/v1/wait?timeout=20{query}")
        assert api.delete("/api/v1/messages").status_code == 200
        new = add(store, "wanted new")
        reply = waiter.result(timeout=30)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["ID"] == new
    assert body["Subject"] == "wanted new"


def test_wait_after_its_marker_alone_was_deleted_ignores_older_mail(
    web_server: Any, api: httpx.Client
) -> None:
    store: SignallingStore = web_server.store
    add(store, "wanted older")
    marker = add(store, "the newest when the wait began")
    with ThreadPoolExecutor(1) as pool:
        waiter = start_waiting(
            pool, web_server, api, "/api/v1/wait?timeout=20&query=subject:wanted"
        )
        deleted = api.request("DELETE", "/api/v1/messages", json={"IDs": [marker]})
        assert deleted.status_code == 200
        add(store, "unrelated")
        assert store.checks.acquire(timeout=10)
        new = add(store, "wanted newer")
        reply = waiter.result(timeout=30)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["ID"] == new
