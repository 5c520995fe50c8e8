"""Hostile and broken input over SMTP: each message is stored and shown, or refused with a proper
SMTP code, and the server keeps serving. No page or API call ever answers 500."""

from __future__ import annotations

import json
import re
import smtplib
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mail_sandbox.message_limits import MAX_ADDRESSES
from mail_sandbox.server import CaptureServer
from mail_sandbox.smtp import MAX_LINE_LENGTH


def nested_multipart(depth: int) -> bytes:
    """A message whose text sits inside ``depth`` levels of multipart/mixed."""
    body = b"Content-Type: text/plain\r\n\r\nthe deepest text\r\n"
    for level in reversed(range(depth)):
        boundary = f"level{level}".encode()
        body = (
            b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n"
            b"--" + boundary + b"\r\n" + body + b"--" + boundary + b"--\r\n"
        )
    return b"From: a@example.com\r\nSubject: nested\r\nMIME-Version: 1.0\r\n" + body


HOSTILE_MESSAGES = {
    "empty": b"",
    "nul-bytes": b"From: a@example.com\r\nSubject: nul\x00inside\r\n\r\nbody\x00\x00end\r\n",
    "invalid-utf8-headers": (
        b"From: \xff\xfe Name <a@example.com>\r\nTo: \x80\x81@example.com\r\n"
        b"Subject: broken \xc3\x28 utf-8\r\nX-Junk: \xed\xa0\x80\r\n\r\nbody \xff\r\n"
    ),
    "long-lines": (
        b"From: a@example.com\r\nSubject: " + b"s" * 3000 + b"\r\nX-Long: " + b"h" * 5000 + b"\r\n"
        b"\r\n" + b"<p>minified html</p>" * 2000 + b"\r\n"
    ),
    "broken-boundary": (
        b"From: a@example.com\r\nSubject: boundary\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="right"\r\n\r\n'
        b"--wrong\r\nContent-Type: text/plain\r\n\r\nnever opened\r\n"
        b"--right\r\nContent-Type: text/html\r\n\r\n<b>never closed\r\n"
    ),
    "missing-boundary": (
        b"From: a@example.com\r\nSubject: no boundary\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/alternative\r\n\r\n--\r\ntext\r\n"
    ),
    "bad-base64": (
        b"From: a@example.com\r\nSubject: base64\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"!!not*base64===\r\n"
        b"--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="a.pdf"\r\n\r\nJVBER=i0x\r\n--b--\r\n'
    ),
    "nested-50": nested_multipart(50),
    # Deeper than the viewer unpacks (message_limits.MAX_DEPTH): the rest shows as one blob.
    "nested-150": nested_multipart(150),
    "garbage-headers": (
        b"no colon here\r\n: empty name\r\nFrom a@example.com\r\n"
        b'Content-Type: text/\xff; charset="\xff\xff"\r\n'
        b"Date: Mon, 99 Foo 99999 99:99:99 +9999\r\n\r\nbody\r\n"
    ),
    "bare-newlines": b"Subject: bare\nFrom: a@example.com\n\rbody\rmore\n",
}


def http_status(url: str) -> tuple[int, bytes]:
    """Status and body of a GET; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def on_the_wire(raw: bytes) -> bytes:
    """What the server receives for ``raw``: DATA can only end after a CRLF."""
    return raw if not raw or raw.endswith(b"\r\n") else raw + b"\r\n"


def send_raw(
    server: CaptureServer, raw: bytes, recipients: list[str] | None = None
) -> tuple[int, bytes]:
    """Send exactly ``raw`` (plus a final CRLF if it lacks one) as DATA; returns the reply.

    smtplib's ``data`` would add a CRLF to an empty message, and dot-stuffs after bare LFs,
    which the server rightly does not undo; this stuffs only what SMTP says to.
    """
    with smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=30) as client:
        client.ehlo()
        assert client.mail("app@example.com")[0] == 250
        for recipient in recipients or ["user@example.com"]:
            assert client.rcpt(recipient)[0] == 250
        client.putcmd("data")
        code, reply = client.getreply()
        assert code == 354, reply
        client.send(re.sub(rb"(^|\r\n)\.", rb"\1..", on_the_wire(raw)) + b".\r\n")
        return client.getreply()


def assert_shown_without_errors(server: CaptureServer, message_id: str) -> dict[str, Any]:
    """Every view of one message answers 200 (or 404 for a part it lacks); returns its JSON."""
    quoted = urllib.parse.quote(message_id, safe="")
    status, body = http_status(f"{server.url}/api/v1/message/{quoted}")
    assert status == 200, body
    message = json.loads(body)
    paths = {
        f"/api/v1/message/{quoted}/raw": {200},
        f"/api/v1/message/{quoted}/headers": {200},
        f"/api/v1/message/{quoted}/part/1": {200, 404},
        f"/api/v1/message/{quoted}/part/1.1": {200, 404},
        f"/message/{quoted}/html": {200, 404},
        "/api/v1/messages": {200},
        "/": {200},
        "/fragments/inbox": {200},
    }
    for part in [*message["Attachments"], *message["Inline"]]:
        paths[f"/api/v1/message/{quoted}/part/{part['PartID']}"] = {200}
    for tab in ("html", "text", "headers", "raw"):
        paths[f"/message/{quoted}?tab={tab}"] = {200}
    for path, expected in paths.items():
        status, body = http_status(server.url + path)
        assert status in expected, (path, status, body[:300])
    return message


@pytest.mark.parametrize("raw", HOSTILE_MESSAGES.values(), ids=HOSTILE_MESSAGES.keys())
def test_broken_message_is_stored_byte_for_byte_and_shown(capture_server, raw):
    code, reply = send_raw(capture_server, raw)

    assert code == 250, reply
    message_id = capture_server.store.latest_id()
    assert message_id in reply.decode()
    status, stored = http_status(
        f"{capture_server.url}/api/v1/message/{urllib.parse.quote(message_id)}/raw"
    )
    assert (status, stored) == (200, on_the_wire(raw))
    assert_shown_without_errors(capture_server, message_id)


def test_deeply_nested_text_is_still_found(capture_server):
    send_raw(capture_server, nested_multipart(50))

    message = assert_shown_without_errors(capture_server, capture_server.store.latest_id())

    assert "the deepest text" in message["Text"]


def test_line_longer_than_the_limit_gets_500_and_the_connection_goes_on(start_capture_server):
    server = start_capture_server(max_size=4 * MAX_LINE_LENGTH)
    too_long = b"Subject: too long\r\n\r\n" + b"x" * (MAX_LINE_LENGTH + 10) + b"\r\n"
    with smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=30) as client:
        client.ehlo()
        client.mail("app@example.com")
        client.rcpt("user@example.com")
        code, reply = client.data(too_long)
        assert code == 500, reply

        client.sendmail("app@example.com", ["user@example.com"], b"Subject: next\r\n\r\nok\r\n")

    assert [m.subject for m in server.store.list().messages] == ["next"]


def test_ten_thousand_recipients_are_accepted_when_the_limit_allows(start_capture_server):
    server = start_capture_server(max_recipients=10_000)
    recipients = [f"user{i}@example.com" for i in range(10_000)]

    code, reply = send_raw(
        server, b"To: user0@example.com\r\nSubject: everyone\r\n\r\nhi\r\n", recipients
    )

    assert code == 250, reply
    message = assert_shown_without_errors(server, server.store.latest_id())
    # The view shows the first MAX_ADDRESSES of the envelope's Bcc, in the order they came.
    assert [a["Address"] for a in message["To"]] == ["user0@example.com"]
    bcc = [a["Address"] for a in message["Bcc"]]
    assert bcc == recipients[1 : 1 + MAX_ADDRESSES]


# Pieces of real messages, so random input reaches the MIME parser and not just its first line.
FRAGMENTS = [
    b"\r\n",
    b"\n",
    b"\r",
    b".",
    b"\x00",
    b"From: a@example.com\r\n",
    b"Subject: =?utf-8?b?w7w=?= =?bogus?q?x?=\r\n",
    b"MIME-Version: 1.0\r\n",
    b"Content-Type: multipart/mixed; boundary=zz\r\n",
    b"Content-Type: text/html; charset=\xff\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"Content-Disposition: attachment; filename*=utf-8''%e2%82\r\n",
    b"--zz\r\n",
    b"--zz--\r\n",
    b"=\r\n",
    b"<script>alert(1)</script>",
]


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    # One server for every example is the point: it has to survive all of them.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=40)), max_size=60).map(
        b"".join
    )
)
def test_random_bytes_through_data_never_break_the_server(capture_server, raw):
    code, _ = send_raw(capture_server, raw)

    assert code == 250 or 400 <= code < 600
    if code == 250:
        assert_shown_without_errors(capture_server, capture_server.store.latest_id())
    code, _ = send_raw(capture_server, b"Subject: still here\r\n\r\nnormal mail\r\n")
    assert code == 250
    status, body = http_status(f"{capture_server.url}/api/v1/messages?limit=1")
    assert status == 200
    assert json.loads(body)["messages"][0]["Subject"] == "still here"
