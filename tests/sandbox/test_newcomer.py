"""What a newcomer trips over first: a refused upload holding up the stop, ``--version``, and
which port a "port in use" error names."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import subprocess
import sys
from importlib import metadata

import pytest

from mail_sandbox.endpoints import Endpoint
from mail_sandbox.server import CaptureServer, run_on_own_loop
from mail_sandbox.smtp import SMTPSettings
from mail_sandbox.store import MessageStore

# Far more than any limit below; only its first part is ever sent, more than the 1 MiB that
# API calls other than send may carry.
HUGE = 64 * 1024 * 1024
SENT = 2 * 1024 * 1024


async def refused_upload(
    server: CaptureServer, method: str, path: str
) -> tuple[int, dict, asyncio.StreamWriter]:
    """Announce a huge body, send its start and read the answer; the connection stays open."""
    reader, writer = await asyncio.open_connection(server.http.host, server.http.port)
    writer.write(
        f"{method} {path} HTTP/1.1\r\nHost: {server.http}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {HUGE}\r\n\r\n".encode()
        + b"[" * SENT
    )
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split()[1])
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return status, json.loads(await reader.readexactly(length)), writer


@pytest.mark.parametrize("hang_up", [False, True], ids=["client-waits", "client-hangs-up"])
@pytest.mark.parametrize(
    ("method", "path", "complaint"),
    [
        ("POST", "/api/v1/send", "larger than the limit"),
        ("PUT", "/api/v1/messages", "Too Large"),
    ],
)
def test_a_refused_oversized_body_gets_413_and_does_not_hold_up_the_stop(
    store: MessageStore, method: str, path: str, complaint: str, hang_up: bool
) -> None:
    async def scenario() -> tuple[int, dict]:
        server = CaptureServer(
            store,
            smtp=Endpoint("127.0.0.1", 0),
            http=Endpoint("127.0.0.1", 0),
            smtp_settings=SMTPSettings(max_size=1024 * 1024),
        )
        await server.start()
        writer = None
        try:
            status, body, writer = await asyncio.wait_for(refused_upload(server, method, path), 10)
            if hang_up:
                writer.close()
        finally:
            # A bound, not a wait: the stop is expected at once, and took ten seconds.
            await asyncio.wait_for(server.stop(), 5)
            if writer is not None:
                writer.close()
        return status, body

    status, body = run_on_own_loop(scenario())

    assert status == 413
    assert complaint in body["Error"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mail_sandbox", *args], capture_output=True, text=True, timeout=30
    )


def test_version_prints_the_installed_version() -> None:
    result = run_cli("--version")

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"mail-sandbox {metadata.version('mail-sandbox')}\n"


@pytest.mark.parametrize(
    ("busy", "free", "service", "flag"),
    [("--smtp", "--http", "SMTP", "--smtp"), ("--http", "--smtp", "inbox", "--http")],
)
def test_a_port_in_use_is_named_alone(busy: str, free: str, service: str, flag: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = run_cli(busy, f"127.0.0.1:{port}", free, "127.0.0.1:0", "--db", ":memory:")

    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("mail-sandbox: ")
    assert f"127.0.0.1:{port} for {service}" in line
    assert "already in use" in line
    assert "127.0.0.1:0" not in line
    assert flag in line
    assert ({"--smtp", "--http"} - {flag}).pop() not in line


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /api/v1/messages HTTP/1.1\r\n\r\n",
        b"GET /api/v1/messages HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ],
    ids=["no host", "malformed header", "tls hello"],
)
def test_a_request_that_is_not_http_gets_400_and_one_log_line_without_a_traceback(
    start_capture_server, caplog: pytest.LogCaptureFixture, request_bytes: bytes
) -> None:
    server = start_capture_server()
    caplog.set_level(logging.DEBUG)

    with socket.create_connection(("127.0.0.1", server.http.port), timeout=30) as client:
        client.sendall(request_bytes)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk

    assert answer.split(b" ", 2)[1:2] in ([b"400"], [])
    # The server's and aiohttp's records only: another test's loop may log as it is collected.
    served = [r for r in caplog.records if r.name.startswith(("mail_sandbox", "aiohttp"))]
    assert [r.getMessage() for r in served if r.levelno >= logging.WARNING] == []
    assert all(r.exc_info is None for r in served)
