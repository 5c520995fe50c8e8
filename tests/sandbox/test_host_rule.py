"""The Host rule: a page on a rebound name (DNS rebinding) can neither read nor change the inbox.

A rebinding attack makes the browser send the attacker's own name in ``Host`` to 127.0.0.1, so
each test here sends exactly that over a real connection to an inbox on 127.0.0.1 and looks at
what came back. The inbox must answer its loopback names, the address it was reached on and the
names given with ``--allow-host``, and nothing else.
"""

from __future__ import annotations

import http.client
import json
import logging
import signal
import smtplib
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

import pytest
from aiohttp.test_utils import make_mocked_request
from process_output import start_mail_sandbox

from mail_sandbox.store import MessageStore
from mail_sandbox.web import WebSettings
from mail_sandbox.web.hosts import HostRule
from mail_sandbox.web.security import is_cross_site

SUBJECT = "Your sign-in link"


@dataclass
class Reply:
    """What the inbox answered: status, Content-Type and body."""

    status: int
    content_type: str
    body: bytes

    def error(self) -> str:
        """The API's ``{"Error": ...}`` message."""
        return json.loads(self.body)["Error"]


def send(port: int, method: str, path: str, headers: dict[str, str], *, host: bool = True) -> Reply:
    """One request over a fresh connection with exactly ``headers`` (Host among them or not)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", "0")
        connection.endheaders()
        response = connection.getresponse()
        content_type = response.getheader("Content-Type", "")
        # An event stream that was let through never ends: its status says enough.
        body = b"" if content_type.startswith("text/event-stream") else response.read()
        return Reply(response.status, content_type, body)
    finally:
        connection.close()


def add_message(store: MessageStore) -> str:
    email = EmailMessage()
    email["From"] = "app@example.com"
    email["To"] = "ann@example.com"
    email["Subject"] = SUBJECT
    email.set_content("http://127.0.0.1:5000/magic/secret-token")
    email.add_alternative("<p>Sign in</p>", subtype="html")
    return store.add(email.as_bytes(), "app@example.com", ["ann@example.com"]).result(5)


@pytest.fixture
def start_inbox(serve_web_app: Callable[..., int]) -> Callable[..., int]:
    """Serve the web app on 127.0.0.1 with the given ``allowed_hosts``; returns its port."""

    def start(*allowed: str) -> int:
        return serve_web_app(WebSettings(allowed_hosts=frozenset(allowed)))

    return start


PATHS = [
    "/api/v1/messages",
    "/api/v1/message/{id}",
    "/api/v1/message/{id}/raw",
    "/api/events",
    "/",
    "/message/{id}",
    "/view/{id}.html",
    "/static/inbox.js",
    "/no-such-page",
]


@pytest.mark.parametrize("path", PATHS)
def test_a_rebound_name_gets_421_and_no_mail(
    start_inbox: Callable[..., int], store: MessageStore, path: str
) -> None:
    message_id = add_message(store)
    port = start_inbox()

    reply = send(port, "GET", path.format(id=message_id), {"Host": f"evil.example:{port}"})

    assert reply.status == 421
    assert SUBJECT.encode() not in reply.body and b"secret-token" not in reply.body
    assert b"evil.example" in reply.body and b"--allow-host" in reply.body
    if path.startswith("/api/"):
        assert reply.content_type.startswith("application/json")
        assert "--allow-host" in reply.error()
    else:
        assert reply.content_type.startswith("text/html")


@pytest.mark.parametrize(
    "host",
    [
        "localhost:{port}",
        "LOCALHOST:{port}",
        "localhost.:{port}",
        "inbox.localhost:{port}",
        "127.0.0.1:{port}",
        "127.8.9.10:{port}",
        "[::1]:{port}",
        "localhost",
        "127.0.0.1",
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/messages", "/", "/view/{id}.html", "/static/inbox.js"])
def test_loopback_names_are_served(
    start_inbox: Callable[..., int], store: MessageStore, host: str, path: str
) -> None:
    message_id = add_message(store)
    port = start_inbox()

    reply = send(port, "GET", path.format(id=message_id), {"Host": host.format(port=port)})

    assert reply.status == 200
    if path != "/static/inbox.js":
        assert SUBJECT.encode() in reply.body or b"Sign in" in reply.body


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "localhost.evil.example:{port}",
        "127.0.0.1.nip.io:{port}",
        "0.0.0.0:{port}",
        "2130706433:{port}",
        "192.0.2.1:{port}",
    ],
)
def test_lookalikes_of_loopback_are_refused(
    start_inbox: Callable[..., int], store: MessageStore, host: str
) -> None:
    add_message(store)
    port = start_inbox()

    reply = send(port, "GET", "/api/v1/messages", {"Host": host.format(port=port)})

    assert reply.status == 421
    assert SUBJECT.encode() not in reply.body


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Host": ""}, "exactly one Host header"),
        ({"Host": "localhost:80x"}, "not a host name"),
        ({"Host": "localhost:80:81"}, "not a host name"),
        ({"Host": "[evil.example]:80"}, "not a host name"),
    ],
)
def test_a_missing_or_malformed_host_is_400(
    start_inbox: Callable[..., int], store: MessageStore, headers: dict[str, str], reason: str
) -> None:
    add_message(store)
    port = start_inbox()

    reply = send(port, "GET", "/api/v1/messages", headers)

    assert reply.status == 400
    assert reason in reply.error()
    assert SUBJECT.encode() not in reply.body


@pytest.mark.parametrize("headers", [{}, {"Host": "localhost", "host": "evil.example"}])
def test_an_http_1_1_request_without_exactly_one_host_is_refused(
    start_inbox: Callable[..., int], store: MessageStore, headers: dict[str, str]
) -> None:
    add_message(store)
    port = start_inbox()

    reply = send(port, "GET", "/api/v1/messages", headers)

    assert reply.status == 400
    assert SUBJECT.encode() not in reply.body


def test_an_http_1_0_request_without_host_is_refused(
    start_inbox: Callable[..., int], store: MessageStore
) -> None:
    add_message(store)
    port = start_inbox()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(b"GET /api/v1/messages HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk

    assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400")
    assert SUBJECT.encode() not in answer


def test_a_rebound_page_cannot_delete(start_inbox: Callable[..., int], store: MessageStore) -> None:
    message_id = add_message(store)
    port = start_inbox()
    rebound = f"evil.example:{port}"

    reply = send(
        port,
        "DELETE",
        "/api/v1/messages",
        {"Host": rebound, "Origin": f"http://{rebound}", "Sec-Fetch-Site": "same-origin"},
    )

    assert reply.status == 421
    assert store.summary(message_id) is not None


def test_allow_host_names_are_served_and_others_still_refused(
    start_inbox: Callable[..., int], store: MessageStore
) -> None:
    add_message(store)
    port = start_inbox("Inbox.Test", "10.1.2.3")

    for host in ("inbox.test", "INBOX.test.", "10.1.2.3"):
        reply = send(port, "GET", "/api/v1/messages", {"Host": f"{host}:{port}"})
        assert reply.status == 200, host
        assert SUBJECT.encode() in reply.body
    for host in ("other.test", "sub.inbox.test", "10.1.2.4"):
        assert send(port, "GET", "/", {"Host": f"{host}:{port}"}).status == 421, host


def test_an_allowed_name_may_write_from_its_own_origin(
    start_inbox: Callable[..., int], store: MessageStore
) -> None:
    message_id = add_message(store)
    port = start_inbox("inbox.test")
    ours = f"inbox.test:{port}"

    reply = send(port, "DELETE", "/api/v1/messages", {"Host": ours, "Origin": f"http://{ours}"})

    assert reply.status == 200
    assert store.summary(message_id) is None


def test_star_turns_the_host_check_off(
    start_inbox: Callable[..., int], store: MessageStore
) -> None:
    add_message(store)
    port = start_inbox("*")

    reply = send(port, "GET", "/api/v1/messages", {"Host": f"anything.example:{port}"})

    assert reply.status == 200
    assert SUBJECT.encode() in reply.body


@pytest.mark.parametrize(
    ("host", "origin", "cross_site"),
    [
        ("evil.example:8026", "http://evil.example:8026", True),
        ("localhost:8026", "http://localhost:8026", False),
        ("inbox.test:8026", "http://inbox.test:8026", False),
        ("localhost:8026", "http://evil.example:8026", True),
    ],
)
def test_the_cross_site_guard_refuses_an_origin_the_host_rule_refuses(
    host: str, origin: str, cross_site: bool
) -> None:
    # The guard on its own, as it would run were the Host rule skipped: a rebound page's
    # Origin equals its Host, and must still not pass as our own.
    request = make_mocked_request(
        "DELETE", "/api/v1/messages", headers={"Host": host, "Origin": origin}
    )

    assert is_cross_site(request, HostRule.allowing(["inbox.test"])) is cross_site


def test_refused_hosts_are_logged_once_each_and_never_as_errors(
    start_inbox: Callable[..., int], store: MessageStore, caplog: pytest.LogCaptureFixture
) -> None:
    port = start_inbox()
    caplog.set_level(logging.DEBUG)

    for _ in range(3):
        for host in ("evil.example", "other.example"):
            assert send(port, "GET", "/", {"Host": f"{host}:{port}"}).status == 421

    refusals = [r.getMessage() for r in caplog.records if "--allow-host" in r.getMessage()]
    assert [r.levelno for r in caplog.records if "--allow-host" in r.getMessage()] == [
        logging.WARNING,
        logging.WARNING,
    ]
    assert "evil.example" in refusals[0] and "other.example" in refusals[1]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("host", "local", "allowed"),
    [
        ("192.168.1.5", "192.168.1.5", True),
        ("192.168.1.5", "::ffff:192.168.1.5", True),
        ("fe80::1", "fe80::1%eth0", True),
        ("2001:db8::5", "2001:db8::5", True),
        ("192.168.1.6", "192.168.1.5", False),
        ("evil.example", "192.168.1.5", False),
        ("192.168.1.5", None, False),
    ],
)
def test_the_address_a_connection_came_in_on_is_a_name_of_ours(
    host: str, local: str | None, allowed: bool
) -> None:
    # Binding 0.0.0.0 makes every address of the machine reachable; an IP literal in Host
    # cannot be rebound, so the one the client actually connected to is served.
    assert HostRule.allowing(["0.0.0.0"]).allows(host, local) is allowed


def test_mail_sandbox_allow_host_flag() -> None:
    process, smtp_port, url = start_mail_sandbox("--allow-host", "inbox.test")
    port = int(url.rsplit(":", 1)[1])
    try:
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
            client.sendmail(
                "app@example.com", ["ann@example.com"], f"Subject: {SUBJECT}\r\n\r\nhi\r\n"
            )
        allowed = send(port, "GET", "/api/v1/messages", {"Host": f"inbox.test:{port}"})
        bound = send(port, "GET", "/api/v1/messages", {"Host": f"127.0.0.1:{port}"})
        refused = send(port, "GET", "/api/v1/messages", {"Host": f"evil.example:{port}"})
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)

    assert allowed.status == 200 and SUBJECT.encode() in allowed.body
    assert bound.status == 200
    assert refused.status == 421 and SUBJECT.encode() not in refused.body


@pytest.mark.parametrize("value", ["inbox.test:8026", "", "http://inbox.test/", "a b"])
def test_mail_sandbox_refuses_an_allow_host_that_is_no_host_name(value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mail_sandbox", "--allow-host", value],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 2
    assert "error: argument --allow-host:" in result.stderr
    assert "Traceback" not in result.stderr
