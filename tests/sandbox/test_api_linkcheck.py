"""``GET /api/v1/message/{ID}/link-check`` through the API, with a local site as the links' target.

That links to hosts not allowed are never contacted is proven at the socket level: an audit hook
(``sys.addaudithook``) records every connect and name lookup this process makes (the server runs
in it) while the check runs. ``0.0.0.0`` stands in for a non-loopback host that the developer
allows with ``--link-check-host``: it is not a loopback address by name, so it is refused by
default, yet Linux delivers a connection to it locally, so the test never leaves the machine.
"""

from __future__ import annotations

import signal
import smtplib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from link_target import Site
from process_output import start_mail_sandbox

from mail_sandbox.store import MessageStore
from mail_sandbox.web import WebSettings

NETWORK_EVENTS = frozenset(
    {
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyname_ex",
        "socket.gethostbyaddr",
        "socket.sendto",
        "socket.sendmsg",
    }
)
FORBIDDEN = ("forbidden.example", "192.0.2.10", "0.0.0.0")
SKIPPED = "skipped: host not allowed"


@dataclass
class SocketRecorder:
    """The hosts this process connects to or looks up while ``active``."""

    active: bool = False
    hosts: list[str] = field(default_factory=list)

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        """The audit hook: cheap, and never raises."""
        if not self.active or event not in NETWORK_EVENTS:
            return
        target = args[1] if event in ("socket.connect", "socket.sendto", "socket.sendmsg") else args
        if isinstance(target, tuple) and target:
            self.hosts.append(str(target[0]))
        else:
            self.hosts.append(str(target))


@pytest.fixture
def sockets() -> Iterator[SocketRecorder]:
    """Records network activity while the test sets ``active`` (the hook stays, inert)."""
    recorder = SocketRecorder()
    sys.addaudithook(recorder)
    yield recorder
    recorder.active = False


@pytest.fixture
def start_inbox(serve_web_app: Callable[..., int]) -> Callable[..., httpx.Client]:
    """Start the web app with the given link-check hosts; returns a client."""

    def start(*allowed: str) -> httpx.Client:
        settings = WebSettings(link_check_hosts=frozenset(allowed), link_check_timeout=5)
        return httpx.Client(base_url=f"http://127.0.0.1:{serve_web_app(settings)}", timeout=30)

    return start


def add_newsletter(store: MessageStore, port: int) -> str:
    """A message linking to the local site, to hosts not allowed, and showing an image."""
    local = f"http://127.0.0.1:{port}"
    email = EmailMessage()
    email["From"] = "news@example.com"
    email["To"] = "ann@example.com"
    email["Subject"] = "Newsletter"
    email.set_content(
        f"Read it at {local}/ok.\nPromo: http://forbidden.example/promo\n"
        "Tracking: http://192.0.2.10/track\n"
    )
    email.add_alternative(
        f'<a href="{local}/missing">archive</a> <a href="http://0.0.0.0:{port}/ok">mirror</a>'
        f' <a href="{local}/redirect-away">elsewhere</a> <img src="{local}/logo.png">',
        subtype="html",
    )
    return store.add(email.as_bytes(), "news@example.com", ["ann@example.com"]).result(5)


def test_link_check_answers_in_mailpits_shape(
    start_inbox: Callable[..., httpx.Client], store: MessageStore, site: Site
) -> None:
    message_id = add_newsletter(store, site.port)
    api = start_inbox()

    reply = api.get(f"/api/v1/message/{message_id}/link-check")

    assert reply.status_code == 200
    local = f"http://127.0.0.1:{site.port}"
    assert reply.json() == {
        "Errors": 1,
        "Links": [
            {"URL": f"{local}/ok", "StatusCode": 200, "Status": "OK"},
            {"URL": "http://forbidden.example/promo", "StatusCode": 0, "Status": SKIPPED},
            {"URL": "http://192.0.2.10/track", "StatusCode": 0, "Status": SKIPPED},
            {"URL": f"{local}/missing", "StatusCode": 404, "Status": "Not Found"},
            {"URL": f"http://0.0.0.0:{site.port}/ok", "StatusCode": 0, "Status": SKIPPED},
            {
                "URL": f"{local}/redirect-away",
                "StatusCode": 302,
                "Status": "redirect not followed: host not allowed (forbidden.example)",
            },
        ],
    }
    assert ("GET", "/logo.png") not in site.hits and ("HEAD", "/logo.png") not in site.hits


def test_follow_checks_images_too(
    start_inbox: Callable[..., httpx.Client], store: MessageStore, site: Site
) -> None:
    message_id = add_newsletter(store, site.port)
    api = start_inbox()

    links = api.get(f"/api/v1/message/{message_id}/link-check?follow=true").json()["Links"]

    assert links[-1] == {
        "URL": f"http://127.0.0.1:{site.port}/logo.png",
        "StatusCode": 200,
        "Status": "OK",
    }
    assert ("HEAD", "/logo.png") in site.hits


def test_hosts_not_allowed_are_never_contacted(
    start_inbox: Callable[..., httpx.Client],
    store: MessageStore,
    site: Site,
    sockets: SocketRecorder,
) -> None:
    message_id = add_newsletter(store, site.port)
    api = start_inbox()

    sockets.active = True
    try:
        reply = api.get(f"/api/v1/message/{message_id}/link-check?follow=true")
    finally:
        sockets.active = False

    assert reply.status_code == 200
    assert sockets.hosts, "the audit hook saw nothing: it is not recording"
    assert set(sockets.hosts) <= {"127.0.0.1"}
    assert not set(sockets.hosts) & set(FORBIDDEN)


def test_link_check_host_allows_a_host(
    start_inbox: Callable[..., httpx.Client],
    store: MessageStore,
    site: Site,
    sockets: SocketRecorder,
) -> None:
    message_id = add_newsletter(store, site.port)
    api = start_inbox("0.0.0.0")

    sockets.active = True
    try:
        report = api.get(f"/api/v1/message/{message_id}/link-check").json()
    finally:
        sockets.active = False

    mirror = f"http://0.0.0.0:{site.port}/ok"
    assert {"URL": mirror, "StatusCode": 200, "Status": "OK"} in report["Links"]
    assert "0.0.0.0" in sockets.hosts
    assert not set(sockets.hosts) & {"forbidden.example", "192.0.2.10"}


def test_link_check_of_latest_leaves_the_message_unread(
    start_inbox: Callable[..., httpx.Client], store: MessageStore, site: Site
) -> None:
    message_id = add_newsletter(store, site.port)
    api = start_inbox()

    report = api.get("/api/v1/message/latest/link-check").json()

    assert len(report["Links"]) == 6
    assert store.summary(message_id).read is False


def test_unknown_message_is_404(start_inbox: Callable[..., httpx.Client]) -> None:
    reply = start_inbox().get("/api/v1/message/no-such-id/link-check")

    assert reply.status_code == 404
    assert reply.json()["Error"] == "message not found"


def test_bad_follow_value_is_400(
    start_inbox: Callable[..., httpx.Client], store: MessageStore, site: Site
) -> None:
    message_id = add_newsletter(store, site.port)

    reply = start_inbox().get(f"/api/v1/message/{message_id}/link-check?follow=perhaps")

    assert reply.status_code == 400
    assert site.hits == []


def test_link_check_host_flag_of_mail_sandbox(site: Site) -> None:
    process, smtp_port, url = start_mail_sandbox(
        "--link-check-host", "0.0.0.0", "--link-check-host", "other.example"
    )
    try:
        mirror = f"http://0.0.0.0:{site.port}/ok"
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
            client.sendmail(
                "news@example.com",
                ["ann@example.com"],
                f"Subject: Mirror\r\n\r\n{mirror} http://forbidden.example/x\r\n",
            )

        report = httpx.get(f"{url}/api/v1/message/latest/link-check", timeout=30).json()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)

    assert report["Links"] == [
        {"URL": mirror, "StatusCode": 200, "Status": "OK"},
        {"URL": "http://forbidden.example/x", "StatusCode": 0, "Status": SKIPPED},
    ]
    assert ("HEAD", "/ok") in site.hits
