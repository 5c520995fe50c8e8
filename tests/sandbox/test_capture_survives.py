"""Capture never stops: envelope bytes that are not UTF-8 are stored and shown, a message the
store cannot take is refused with 451, and either way the next message gets its 250."""

from __future__ import annotations

import json
import smtplib
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest

from mail_sandbox.server import CaptureServer
from mail_sandbox.store import MessageStore

#: How long a normal message may take to be acknowledged after a hostile one.
ANSWER_WITHIN = 5.0


def api(server: CaptureServer, path: str) -> Any:
    with urllib.request.urlopen(server.url + path, timeout=10) as response:
        return json.load(response)


def subjects(server: CaptureServer) -> list[str]:
    return [m["Subject"] for m in api(server, "/api/v1/messages")["messages"]]


def send_normal(server: CaptureServer, subject: str) -> None:
    """An ordinary message, which must get its 250 within ``ANSWER_WITHIN`` seconds."""
    with smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=ANSWER_WITHIN) as client:
        refused = client.sendmail(
            "app@example.com", ["user@example.com"], f"Subject: {subject}\r\n\r\nhi\r\n"
        )
    assert refused == {}


def command(client: smtplib.SMTP, line: bytes) -> tuple[int, bytes]:
    """Send one command exactly as given (raw bytes, no encoding) and read its reply."""
    client.send(line + b"\r\n")
    return client.getreply()


def test_latin_1_bytes_in_the_envelope_are_stored_and_shown_and_mail_goes_on(capture_server):
    server = capture_server
    with smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=ANSWER_WITHIN) as client:
        client.ehlo()
        assert command(client, b"MAIL FROM:<caf\xe9@example.com>")[0] == 250
        assert command(client, b"RCPT TO:<b\xe9b@example.com>")[0] == 250
        code, reply = client.data(b"Subject: latin-1 envelope\r\n\r\nhi\r\n")
    assert code == 250, reply

    send_normal(server, "next")

    assert subjects(server) == ["next", "latin-1 envelope"]
    listed = api(server, "/api/v1/messages")["messages"][1]
    assert [a["Address"] for a in listed["Bcc"]] == ["b\ufffdb@example.com"]
    message = api(server, f"/api/v1/message/{urllib.parse.quote(listed['ID'])}")
    assert message["ReturnPath"] == "caf\ufffd@example.com"
    assert [a["Address"] for a in message["Bcc"]] == ["b\ufffdb@example.com"]


class FailingStore:
    """A real store whose ``add`` fails as ``fail`` says for the first message only."""

    def __init__(self, store: MessageStore, fail: Callable[[], Future[str]]) -> None:
        self._store = store
        self._fail: Callable[[], Future[str]] | None = fail

    def add(self, raw: bytes, envelope_from: str, envelope_to: Any) -> Future[str]:
        fail, self._fail = self._fail, None
        if fail is not None:
            return fail()
        return self._store.add(raw, envelope_from, envelope_to)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def raises(error: BaseException) -> Callable[[], Future[str]]:
    def fail() -> Future[str]:
        raise error

    return fail


def fails_later(error: BaseException) -> Callable[[], Future[str]]:
    def fail() -> Future[str]:
        future: Future[str] = Future()
        future.set_exception(error)
        return future

    return fail


FAILURES = {
    "add-raises-runtime-error": raises(RuntimeError("boom")),
    "add-raises-memory-error": raises(MemoryError()),
    "future-fails-with-value-error": fails_later(ValueError("bad value")),
    "future-fails-with-unicode-error": fails_later(
        UnicodeEncodeError("utf-8", "\udce9", 0, 1, "surrogates not allowed")
    ),
}


@pytest.mark.parametrize("fail", FAILURES.values(), ids=FAILURES.keys())
def test_a_message_the_store_fails_on_gets_451_and_the_next_is_accepted(
    store, start_capture_server, fail
):
    server = start_capture_server(over=FailingStore(store, fail))

    with smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=ANSWER_WITHIN) as client:
        client.ehlo()
        client.mail("app@example.com")
        client.rcpt("user@example.com")
        code, reply = client.data(b"Subject: refused\r\n\r\nhi\r\n")
        assert (code, reply[:5]) == (451, b"4.3.0"), reply

        # The same connection goes on, and so does a new one.
        refused = client.sendmail(
            "app@example.com", ["user@example.com"], b"Subject: same connection\r\n\r\nhi\r\n"
        )
        assert refused == {}
    send_normal(server, "new connection")

    assert subjects(server) == ["new connection", "same connection"]
