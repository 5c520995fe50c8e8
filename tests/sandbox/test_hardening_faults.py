"""Faults the capture server must ride out: crowds of connections, stalled clients, a full or
read-only store. In every case mail that was not stored is never acknowledged with 250."""

from __future__ import annotations

import json
import logging
import resource
import smtplib
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from mail_sandbox.server import CaptureServer

CROWD = 500


def read_reply(sock: socket.socket) -> bytes:
    """One complete SMTP reply (all its lines) from a raw socket."""
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"connection closed after {data!r}")
        data += chunk
        lines = data.split(b"\r\n")
        # A reply ends with a line whose code is followed by a space, not a hyphen.
        if len(lines) > 1 and len(lines[-2]) >= 4 and lines[-2][3:4] == b" ":
            return data


def command(sock: socket.socket, line: bytes) -> bytes:
    """Send one SMTP command and return its reply."""
    sock.sendall(line + b"\r\n")
    return read_reply(sock)


def send(server: CaptureServer, subject: str, body: bytes = b"hello\r\n") -> None:
    """Send one message with smtplib, as an app would."""
    with smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=10) as client:
        client.sendmail(
            "app@example.com",
            ["user@example.com"],
            b"Subject: " + subject.encode() + b"\r\n\r\n" + body,
        )


def subjects(server: CaptureServer) -> list[str]:
    """Subjects the API lists, newest first."""
    with urllib.request.urlopen(f"{server.url}/api/v1/messages", timeout=10) as response:
        return [m["Subject"] for m in json.load(response)["messages"]]


def api_delete_all(server: CaptureServer) -> tuple[int, str]:
    """``DELETE /api/v1/messages`` (every message): status and the JSON error, if any."""
    request = urllib.request.Request(f"{server.url}/api/v1/messages", method="DELETE")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)["Error"]


@pytest.fixture
def enough_file_descriptors() -> Iterator[None]:
    """Room for the crowd's client and server sockets in this process, restored afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * CROWD + 256
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_500_open_connections_do_not_stop_mail(capture_server, enough_file_descriptors):
    crowd: list[socket.socket] = []
    try:
        for _ in range(CROWD):
            sock = socket.create_connection(
                (capture_server.smtp.host, capture_server.smtp.port), timeout=10
            )
            crowd.append(sock)
            assert read_reply(sock).startswith(b"220 ")

        send(capture_server, "through the crowd")

        assert subjects(capture_server) == ["through the crowd"]
        # Every idle session is still served, none was dropped to make room.
        for sock in crowd:
            assert command(sock, b"NOOP").startswith(b"250")
    finally:
        for sock in crowd:
            sock.close()


def test_client_stalling_mid_data_is_dropped_after_the_idle_timeout(start_capture_server):
    server = start_capture_server(idle_timeout=0.5)
    with socket.create_connection((server.smtp.host, server.smtp.port), timeout=10) as sock:
        read_reply(sock)
        assert command(sock, b"EHLO client").startswith(b"250")
        assert command(sock, b"MAIL FROM:<app@example.com>").startswith(b"250")
        assert command(sock, b"RCPT TO:<user@example.com>").startswith(b"250")
        # Before DATA, so the server's timer (restarted by DATA) certainly started later.
        started = time.monotonic()
        assert command(sock, b"DATA").startswith(b"354")
        sock.sendall(b"Subject: stalled\r\n\r\nhalf a bo")

        # Waiting for the server to hang up: read until end of stream, bounded by the timeout.
        sock.settimeout(10)
        while sock.recv(4096):
            pass
        waited = time.monotonic() - started

    # A little slack: the event loop's clock is read once per iteration.
    assert waited >= 0.45
    assert server.store.counts() == (0, 0)
    send(server, "after the stall")
    assert subjects(server) == ["after the stall"]


def test_a_session_keeps_its_limits_when_other_clients_connect(capture_server):
    # EHLO lets MAIL FROM grow by its SIZE/BODY/SMTPUTF8 parameters; a long sender address
    # needs that room.
    sender = "x" * 480 + "@example.com"
    with smtplib.SMTP(capture_server.smtp.host, capture_server.smtp.port, timeout=10) as first:
        first.ehlo()
        with smtplib.SMTP(capture_server.smtp.host, capture_server.smtp.port, timeout=10):
            code, reply = first.docmd(f"MAIL FROM:<{sender}> SMTPUTF8 BODY=8BITMIME")
            assert (code, reply) == (250, b"OK")
            assert first.rcpt("user@example.com")[0] == 250
            assert first.data(b"Subject: long sender\r\n\r\nhi\r\n")[0] == 250
    assert capture_server.store.list().messages[0].return_path == sender


def test_full_store_answers_452_and_accepts_mail_again_once_there_is_room(capture_server, caplog):
    store = capture_server.store
    send(capture_server, "fits")
    unlimited = store.writer_pragma("max_page_count")
    store.writer_pragma("max_page_count", store.writer_pragma("page_count") + 2)
    caplog.set_level(logging.ERROR)

    with smtplib.SMTP(capture_server.smtp.host, capture_server.smtp.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail(
                "app@example.com",
                ["user@example.com"],
                b"Subject: too much\r\n\r\n"
                + b"y" * 200
                + b"\r\n" * 200
                + b"z" * 200_000
                + b"\r\n",
            )
        assert refused.value.smtp_code == 452
        assert subjects(capture_server) == ["fits"]
        assert any("full" in record.getMessage() for record in caplog.records)

        store.writer_pragma("max_page_count", unlimited)
        # The same connection goes on: 452 is temporary, the client may simply retry.
        client.sendmail("app@example.com", ["user@example.com"], b"Subject: retried\r\n\r\nok\r\n")

    assert subjects(capture_server) == ["retried", "fits"]


def test_read_only_store_answers_451_and_accepts_mail_again_once_writable(capture_server, caplog):
    store = capture_server.store
    send(capture_server, "before")
    caplog.set_level(logging.ERROR)
    with smtplib.SMTP(capture_server.smtp.host, capture_server.smtp.port, timeout=10) as client:
        store.writer_pragma("query_only", 1)
        try:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.sendmail(
                    "app@example.com", ["user@example.com"], b"Subject: refused\r\n\r\nno\r\n"
                )
            assert refused.value.smtp_code == 451
            assert any("not stored" in record.getMessage() for record in caplog.records)
            # Reading still works; changing is refused with a clear JSON error, not a 500.
            assert subjects(capture_server) == ["before"]
            status, error = api_delete_all(capture_server)
            assert status == 503
            assert "mail store" in error
        finally:
            store.writer_pragma("query_only", 0)

        client.sendmail("app@example.com", ["user@example.com"], b"Subject: after\r\n\r\nok\r\n")

    assert subjects(capture_server) == ["after", "before"]
