"""The link checker: Mailpit's answer shape, and no connection to a host that is not allowed.

Every server here is a local aiohttp app on 127.0.0.1. That forbidden hosts are never contacted
is proven at the socket level: a ``sys.addaudithook`` hook records every connect and name lookup
the process makes while a check runs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from mail_sandbox.hostnames import LoopbackResolver
from mail_sandbox.linkcheck import (
    SKIPPED_HOST,
    check_links,
    extract_links,
    is_allowed_host,
)
from mail_sandbox.server import run_on_own_loop

# Events through which a process reaches another host: connecting, and looking up a name.
_NETWORK_EVENTS = frozenset(
    {
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyname_ex",
        "socket.gethostbyaddr",
        "socket.getnameinfo",
        "socket.sendto",
        "socket.sendmsg",
    }
)
FORBIDDEN = ["forbidden.example", "192.0.2.10", "10.0.0.1", "2130706433", "::ffff:192.0.2.1"]


@dataclass
class SocketRecorder:
    """Network audit events seen while ``active``; ``(event, host, port)`` for each."""

    active: bool = False
    events: list[tuple[str, str, Any]] = field(default_factory=list)

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        """The audit hook: must be cheap and must never raise."""
        if not self.active or event not in _NETWORK_EVENTS:
            return
        if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
            address = args[1] if len(args) > 1 else None
            if isinstance(address, tuple) and len(address) >= 2:
                self.events.append((event, str(address[0]), address[1]))
            else:
                self.events.append((event, str(address), None))
        else:
            self.events.append((event, str(args[0]) if args else "", args[1:2]))

    def hosts(self) -> set[str]:
        """Every host named in a recorded event."""
        return {host for _, host, _ in self.events}


@pytest.fixture
def sockets() -> Iterator[SocketRecorder]:
    """Records the process's connects and name lookups while the test sets ``active``.

    Audit hooks cannot be removed, so the hook stays installed, inert, after the test.
    """
    recorder = SocketRecorder()
    sys.addaudithook(recorder)
    yield recorder
    recorder.active = False


@dataclass
class Site:
    """A local test site: its base URL and every request it received, as ``(method, path)``."""

    url: str
    port: int
    hits: list[tuple[str, str]]


@asynccontextmanager
async def local_site() -> AsyncIterator[Site]:
    """An aiohttp app on 127.0.0.1 with pages that answer, fail, redirect and hang."""
    hits: list[tuple[str, str]] = []
    release = asyncio.Event()

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        hits.append((request.method, request.path))
        return await handler(request)

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="fine")

    async def missing(_: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    def redirect(location: str) -> Any:
        async def handler(_: web.Request) -> web.Response:
            raise web.HTTPFound(location)

        return handler

    async def slow(_: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="late")

    app = web.Application(middlewares=[record])
    app.router.add_get("/ok", ok)
    app.router.add_get("/missing", missing)
    app.router.add_get("/get-only", ok, allow_head=False)
    app.router.add_get("/redirect-ok", redirect("/ok"))
    app.router.add_get("/redirect-away", redirect("http://forbidden.example/landing"))
    app.router.add_get("/redirect-ip", redirect("http://192.0.2.10/landing"))
    app.router.add_get("/redirect-ftp", redirect("ftp://127.0.0.1/file"))
    app.router.add_get("/redirect-loop", redirect("/redirect-loop"))
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        yield Site(f"http://127.0.0.1:{port}", port, hits)
    finally:
        release.set()
        await runner.cleanup()


class StaticResolver(AbstractResolver):
    """Resolves the listed names to loopback addresses, and records every name asked for."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The listed address for ``host``; any other name fails as an unknown host would."""
        self.asked.append(host)
        name = host.removesuffix(".")  # a fully qualified name, as a real resolver reads it
        if name not in self.names:
            raise OSError(f"unknown host {host}")
        return [
            ResolveResult(
                hostname=host,
                host=self.names[name],
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        """Nothing to release."""


def statuses(report: dict) -> list[tuple[int, str]]:
    """``(StatusCode, Status)`` of each link, in order."""
    return [(link["StatusCode"], link["Status"]) for link in report["Links"]]


def test_answers_in_mailpits_shape_with_real_statuses() -> None:
    async def scenario() -> tuple[dict, Site]:
        async with local_site() as site:
            links = [
                f"{site.url}/ok",
                f"{site.url}/missing",
                f"{site.url}/redirect-ok",
                f"{site.url}/get-only",
                f"http://localhost:{site.port}/ok",
            ]
            return await check_links(links, allowed_hosts=set(), timeout=10), site

    report, site = run_on_own_loop(scenario())
    assert set(report) == {"Errors", "Links"}
    assert all(set(link) == {"URL", "StatusCode", "Status"} for link in report["Links"])
    assert [link["URL"] for link in report["Links"]] == [
        f"{site.url}/ok",
        f"{site.url}/missing",
        f"{site.url}/redirect-ok",
        f"{site.url}/get-only",
        f"http://localhost:{site.port}/ok",
    ]
    assert statuses(report) == [
        (200, "OK"),
        (404, "Not Found"),
        (200, "OK"),
        (200, "OK"),
        (200, "OK"),
    ]
    assert report["Errors"] == 1
    # HEAD first; GET only where HEAD was refused; the redirect was followed by hand.
    assert ("HEAD", "/ok") in site.hits
    assert ("GET", "/ok") not in site.hits
    assert site.hits.count(("HEAD", "/get-only")) == 1
    assert site.hits.count(("GET", "/get-only")) == 1
    assert ("HEAD", "/redirect-ok") in site.hits


def test_without_following_redirects_the_redirect_is_the_answer() -> None:
    async def scenario() -> dict:
        async with local_site() as site:
            return await check_links(
                [f"{site.url}/redirect-ok"],
                allowed_hosts=set(),
                timeout=10,
                follow_redirects=False,
            )

    report = run_on_own_loop(scenario())
    assert statuses(report) == [(302, "Found")]
    assert report["Errors"] == 0


def test_links_to_hosts_not_allowed_are_never_contacted(sockets: SocketRecorder) -> None:
    links = [
        "http://forbidden.example/reset?token=1",
        "https://192.0.2.10/",
        "http://10.0.0.1:8080/admin",
        "http://2130706433/",
        "http://[::ffff:192.0.2.1]/",
        "http://127.0.0.1@forbidden.example/",
        "http://localhost.forbidden.example/",
    ]

    async def scenario() -> dict:
        sockets.active = True
        try:
            return await check_links(links, allowed_hosts={"allowed.example"}, timeout=10)
        finally:
            sockets.active = False

    report = run_on_own_loop(scenario())
    assert statuses(report) == [(0, SKIPPED_HOST)] * len(links)
    assert report["Errors"] == 0
    assert sockets.events == []


def test_redirect_off_the_allowed_hosts_is_not_followed(sockets: SocketRecorder) -> None:
    async def scenario() -> tuple[dict, Site]:
        async with local_site() as site:
            sockets.active = True
            try:
                report = await check_links(
                    [f"{site.url}/redirect-away", f"{site.url}/redirect-ip"],
                    allowed_hosts=set(),
                    timeout=10,
                )
            finally:
                sockets.active = False
            return report, site

    report, site = run_on_own_loop(scenario())
    assert statuses(report) == [
        (302, "redirect not followed: host not allowed (forbidden.example)"),
        (302, "redirect not followed: host not allowed (192.0.2.10)"),
    ]
    assert report["Errors"] == 0
    # The hook saw the connections to the local site (so it was watching)...
    connects = [(host, port) for event, host, port in sockets.events if event == "socket.connect"]
    assert ("127.0.0.1", site.port) in connects
    # ...and nothing else: no lookup and no connection for the redirect targets.
    assert sockets.hosts() <= {"127.0.0.1"}
    assert not sockets.hosts() & set(FORBIDDEN)


def test_redirect_to_another_scheme_is_not_followed() -> None:
    async def scenario() -> dict:
        async with local_site() as site:
            return await check_links([f"{site.url}/redirect-ftp"], allowed_hosts=set(), timeout=10)

    assert statuses(run_on_own_loop(scenario())) == [
        (302, "redirect to a non-http(s) URL not followed")
    ]


def test_allowed_hosts_are_contacted_and_other_names_never_looked_up() -> None:
    resolver = StaticResolver({"app.internal": "127.0.0.1", "other.internal": "127.0.0.1"})

    async def scenario() -> tuple[dict, Site]:
        async with local_site() as site:
            connector = aiohttp.TCPConnector(resolver=resolver)
            async with aiohttp.ClientSession(connector=connector) as session:
                report = await check_links(
                    [
                        f"http://APP.internal:{site.port}/ok",
                        f"http://other.internal:{site.port}/ok",
                        f"http://app.internal.:{site.port}/missing",
                    ],
                    allowed_hosts={"app.INTERNAL"},
                    timeout=10,
                    session=session,
                )
            return report, site

    report, site = run_on_own_loop(scenario())
    assert statuses(report) == [(200, "OK"), (0, SKIPPED_HOST), (404, "Not Found")]
    assert {host.removesuffix(".") for host in resolver.asked} == {"app.internal"}
    assert site.hits.count(("HEAD", "/ok")) == 1


def test_at_most_max_links_are_contacted_and_the_rest_listed_as_skipped() -> None:
    async def scenario() -> tuple[dict, Site]:
        async with local_site() as site:
            links = [
                "http://forbidden.example/not-counted",
                f"{site.url}/ok?1",
                f"{site.url}/ok?2",
                f"{site.url}/ok?3",
                f"{site.url}/ok?1",  # a repeat is checked once
            ]
            return await check_links(links, allowed_hosts=set(), timeout=10, max_links=2), site

    report, site = run_on_own_loop(scenario())
    assert statuses(report) == [
        (0, SKIPPED_HOST),
        (200, "OK"),
        (200, "OK"),
        (0, "skipped: only the first 2 links are checked"),
    ]
    assert report["Errors"] == 0
    assert len(site.hits) == 2


def test_a_hanging_server_costs_one_timeout() -> None:
    async def scenario() -> dict:
        async with local_site() as site:
            return await check_links(
                [f"{site.url}/slow", f"{site.url}/ok"], allowed_hosts=set(), timeout=1
            )

    report = run_on_own_loop(scenario())
    assert statuses(report) == [(0, "timed out after 1 s"), (200, "OK")]
    assert report["Errors"] == 1


def test_redirect_loops_stop_after_a_few_hops() -> None:
    async def scenario() -> tuple[dict, Site]:
        async with local_site() as site:
            report = await check_links(
                [f"{site.url}/redirect-loop"], allowed_hosts=set(), timeout=10
            )
            return report, site

    report, site = run_on_own_loop(scenario())
    assert statuses(report) == [(302, "too many redirects (more than 3)")]
    assert site.hits == [("HEAD", "/redirect-loop")] * 4


def test_unreachable_and_malformed_links_are_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    links = [
        f"http://127.0.0.1:{closed_port}/",
        "http://127.0.0.1:99999/",
        "ftp://127.0.0.1/file",
        "http:///no-host",
    ]
    report = run_on_own_loop(check_links(links, allowed_hosts=set(), timeout=10))
    assert statuses(report) == [
        (0, "connection refused"),
        (0, "invalid URL"),
        (0, "skipped: not an http(s) link"),
        (0, "invalid URL"),
    ]
    assert report["Errors"] == 3


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("dev.test", True),
        ("DEV.test.", True),
        ("app.localhost", True),
        ("App.Localhost.", True),
        ("localhost.example", False),
        ("sub.dev.test", False),
        ("128.0.0.1", False),
        ("0.0.0.0", False),
        ("2130706433", False),
        ("127.1", False),
        ("::ffff:10.0.0.1", False),
        ("", False),
        (None, False),
    ],
)
def test_which_hosts_are_allowed(host: str | None, allowed: bool) -> None:
    assert is_allowed_host(host, {"Dev.Test"}) is allowed


def test_loopback_names_are_reached_without_any_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    # glibc sends "localhost." (and names under localhost) to the network's DNS server, whose
    # answer could point anywhere; the check must connect to loopback without asking anyone.
    looked_up: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def numeric_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            ipaddress.ip_address(str(host).strip("[]"))
        except ValueError:
            looked_up.append(str(host))
            raise socket.gaierror(
                socket.EAI_NONAME, f"this test forbids looking up {host}"
            ) from None
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", numeric_only)
    links = [
        "http://localhost.:{port}/ok",
        "http://app.localhost:{port}/ok",
        "http://LOCALHOST:{port}/ok",
    ]

    async def scenario() -> tuple[dict, Site]:
        async with local_site() as site:
            report = await check_links(
                [link.format(port=site.port) for link in links], allowed_hosts=set(), timeout=10
            )
            return report, site

    def on_standard_loop() -> tuple[dict, Site]:
        # The standard loop, whose lookups all go through socket.getaddrinfo (uvloop's do not),
        # in a thread of its own: the main thread's loop may be Playwright's, already running.
        with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
            return runner.run(scenario())

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        report, site = pool.submit(on_standard_loop).result(timeout=60)

    assert statuses(report) == [(200, "OK")] * 3
    assert looked_up == []
    assert site.hits.count(("HEAD", "/ok")) == 3


def test_loopback_resolver_answers_loopback_names_itself_and_hands_on_the_rest() -> None:
    fallback = StaticResolver({"dev.test": "127.0.0.1"})
    resolver = LoopbackResolver(fallback)

    async def scenario() -> tuple[list[ResolveResult], list[ResolveResult], list[ResolveResult]]:
        return (
            await resolver.resolve("localhost.", 8000, socket.AF_INET),
            await resolver.resolve("app.localhost", 8000, socket.AF_UNSPEC),
            await resolver.resolve("dev.test", 8000, socket.AF_INET),
        )

    ipv4_only, any_family, other = run_on_own_loop(scenario())
    assert [(r["host"], r["port"]) for r in ipv4_only] == [("127.0.0.1", 8000)]
    assert [r["host"] for r in any_family][0] == "127.0.0.1"
    assert {r["host"] for r in any_family} <= {"127.0.0.1", "::1"}
    assert [r["host"] for r in other] == ["127.0.0.1"]
    assert fallback.asked == ["dev.test"]


def test_extract_links_from_text_anchors_and_images() -> None:
    text = "Reset: https://app.example/reset/abc. Also see http://127.0.0.1:5000/help"
    html = (
        '<p><a href="https://app.example/reset/abc">Reset</a>'
        '<a href="mailto:help@example.com">mail</a><a href="/relative">rel</a>'
        '<a href="https://app.example/a?x=1&amp;y=2">amp</a>'
        '<img src="cid:logo"><img src="https://cdn.example/logo.png">'
        '<img src="HTTP://cdn.example/pixel.gif"></p>'
    )
    assert extract_links(text, html, follow_images=False) == [
        "https://app.example/reset/abc",
        "http://127.0.0.1:5000/help",
        "https://app.example/a?x=1&y=2",
    ]
    assert extract_links(text, html, follow_images=True) == [
        "https://app.example/reset/abc",
        "http://127.0.0.1:5000/help",
        "https://app.example/a?x=1&y=2",
        "https://cdn.example/logo.png",
        "HTTP://cdn.example/pixel.gif",
    ]
    assert extract_links("", "", follow_images=True) == []
