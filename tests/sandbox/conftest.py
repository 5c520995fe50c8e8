"""Fixtures for the capture server's tests: a store, the web app alone, and the whole server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from sandbox.server import CaptureServer, Endpoint, LoopThread
from sandbox.smtp import SMTPSettings
from sandbox.store import MessageStore, open_store
from sandbox.tls import self_signed_context
from sandbox.web import create_web_app


@pytest.fixture
def store() -> Iterator[MessageStore]:
    """A fresh throwaway store, closed after the test."""
    store = open_store(":memory:", max_messages=0)
    yield store
    store.close()


@dataclass
class WebServer:
    """The inbox web app served over HTTP, with the store behind it."""

    url: str
    store: MessageStore


@pytest.fixture
def web_server(store: MessageStore) -> Iterator[WebServer]:
    """The web app alone (no SMTP) on a free loopback port, over a fresh store."""
    loop = LoopThread()
    runner = web.AppRunner(create_web_app(store), access_log=None)

    async def start() -> int:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner.addresses[0][1]

    try:
        port = loop.run(start())
        yield WebServer(f"http://127.0.0.1:{port}", store)
        loop.run(runner.cleanup())
    finally:
        loop.stop()


@pytest.fixture
def capture_server(store: MessageStore) -> Iterator[CaptureServer]:
    """SMTP and web together on free loopback ports, with STARTTLS and a 1 MiB size limit."""
    server = CaptureServer(
        store,
        smtp=Endpoint("127.0.0.1", 0),
        http=Endpoint("127.0.0.1", 0),
        smtp_settings=SMTPSettings(
            max_size=1024 * 1024, idle_timeout=5, tls_context=self_signed_context()
        ),
    )
    loop = LoopThread()
    try:
        loop.run(server.start())
        yield server
        loop.run(server.stop())
    finally:
        loop.stop()


@pytest.fixture
def start_capture_server(store: MessageStore) -> Iterator[Callable[..., CaptureServer]]:
    """Start capture servers over ``store`` on free loopback ports, each stopped after the test.

    Keyword arguments are ``SMTPSettings`` fields (``idle_timeout=0.5``) or ``CaptureServer``
    options (``credentials=...``); the size limit defaults to 1 MiB as in ``capture_server``.
    """
    loop = LoopThread()
    started: list[CaptureServer] = []

    def start(*, credentials: Any = None, **smtp_settings: Any) -> CaptureServer:
        server = CaptureServer(
            store,
            smtp=Endpoint("127.0.0.1", 0),
            http=Endpoint("127.0.0.1", 0),
            smtp_settings=SMTPSettings(**{"max_size": 1024 * 1024, **smtp_settings}),
            credentials=credentials,
        )
        loop.run(server.start())
        started.append(server)
        return server

    try:
        yield start
        for server in started:
            loop.run(server.stop())
    finally:
        loop.stop()
