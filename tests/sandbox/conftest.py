"""Fixtures for the capture server's tests: a store, the web app alone, and the whole server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from link_target import PAGES, Site, serve_site
from manual_clock import ManualClock

from mail_sandbox.endpoints import Endpoint
from mail_sandbox.server import CaptureServer, LoopThread
from mail_sandbox.smtp import SMTPSettings
from mail_sandbox.store import MessageStore, open_store
from mail_sandbox.tls import self_signed_context
from mail_sandbox.web import WebSettings, create_web_app
from tools.postgres_cluster import Cluster, start_cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster for the module's tests (some stop and start it)."""
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(cluster: Cluster) -> Iterator[str]:
    """The URL of an empty PostgreSQL database of the test's own."""
    url = cluster.new_database()
    yield url
    cluster.drop_database(url)


@pytest.fixture
def clock() -> ManualClock:
    """The clock of the test's ``store``, when the test asks for both."""
    return ManualClock()


@pytest.fixture
def store(request: pytest.FixtureRequest) -> Iterator[MessageStore]:
    """A fresh throwaway store, closed after the test; on the test's ``clock`` if it has one."""
    clock = request.getfixturevalue("clock") if "clock" in request.fixturenames else time.time
    store = open_store(":memory:", max_messages=0, clock=clock)
    yield store
    store.close()


@dataclass
class WebServer:
    """The inbox web app served over HTTP, with the store behind it."""

    url: str
    store: MessageStore


@pytest.fixture
def serve_web_app(store: MessageStore) -> Iterator[Callable[..., int]]:
    """Serve the web app alone (no SMTP) over ``store`` on free loopback ports, with the given
    ``WebSettings`` (the defaults when none); each call returns its port, all stopped after."""
    loop = LoopThread()
    runners: list[web.AppRunner] = []

    def start(settings: WebSettings | None = None) -> int:
        runner = web.AppRunner(create_web_app(store, settings=settings), access_log=None)

        async def serve() -> int:
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            return runner.addresses[0][1]

        port = loop.run(serve())
        runners.append(runner)
        return port

    try:
        yield start
        for runner in runners:
            loop.run(runner.cleanup())
    finally:
        loop.stop()


@pytest.fixture
def web_server(store: MessageStore, serve_web_app: Callable[..., int]) -> WebServer:
    """The web app alone (no SMTP) on a free loopback port, over a fresh store."""
    return WebServer(f"http://127.0.0.1:{serve_web_app()}", store)


@pytest.fixture
def start_capture_server(store: MessageStore) -> Iterator[Callable[..., CaptureServer]]:
    """Start capture servers over ``store`` on free loopback ports, each stopped after the test.

    Keyword arguments are ``SMTPSettings`` fields (``idle_timeout=0.5``) or ``CaptureServer``
    options (``credentials=...``, ``enable_chaos=True``); ``over`` serves another store (one
    that wraps ``store``, say); the size limit defaults to 1 MiB as in ``capture_server``.
    """
    loop = LoopThread()
    started: list[CaptureServer] = []

    def start(
        *,
        credentials: Any = None,
        enable_chaos: bool = False,
        over: MessageStore | None = None,
        **smtp_settings: Any,
    ) -> CaptureServer:
        server = CaptureServer(
            over or store,
            smtp=Endpoint("127.0.0.1", 0),
            http=Endpoint("127.0.0.1", 0),
            smtp_settings=SMTPSettings(**{"max_size": 1024 * 1024, **smtp_settings}),
            credentials=credentials,
            enable_chaos=enable_chaos,
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


@pytest.fixture
def capture_server(start_capture_server: Callable[..., CaptureServer]) -> CaptureServer:
    """SMTP and web together on free loopback ports, with STARTTLS and a 1 MiB size limit."""
    return start_capture_server(idle_timeout=5, tls_context=self_signed_context())


@pytest.fixture
def chaos_server(start_capture_server: Callable[..., CaptureServer]) -> CaptureServer:
    """A capture server with chaos enabled (as ``mail-sandbox --enable-chaos``), on free ports."""
    return start_capture_server(enable_chaos=True, max_size=SMTPSettings().max_size)


@pytest.fixture
def site() -> Iterator[Site]:
    """A local site on 127.0.0.1 with pages that answer 200 (a single-use sign-in link among
    them), 404, and a redirect to a host that is not allowed."""
    with serve_site(PAGES) as served:
        yield served
