"""``mail-sandbox sendmail`` run as scripts run sendmail: a message on standard input, recipients
on the command line or (``-t``) in the message, and sendmail's exit statuses when it fails."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from mail_sandbox.endpoints import Endpoint
from mail_sandbox.sendmail import EX_TEMPFAIL, EX_UNAVAILABLE, EX_USAGE, without_bcc
from mail_sandbox.server import CaptureServer, LoopThread
from mail_sandbox.store import MessageStore

# As a shell script or cron job writes it: LF line endings, no Date or Message-ID.
LETTER = (
    b"From: Cron Daemon <cron@build.example>\n"
    b"To: Ann <ann@example.com>\n"
    b"Cc: ops@example.com\n"
    b"Bcc: auditor@example.com,\n"
    b"  second-auditor@example.com\n"
    b"Subject: Nightly backup finished\n"
    b"\n"
    b"All 3 volumes copied.\n"
    b".\n"
    b"Bcc: this line is body text and stays\n"
)


@pytest.fixture
def server(store: MessageStore) -> Iterator[CaptureServer]:
    """A capture server with chaos enabled, on free loopback ports."""
    capture = CaptureServer(
        store, smtp=Endpoint("127.0.0.1", 0), http=Endpoint("127.0.0.1", 0), enable_chaos=True
    )
    loop = LoopThread()
    try:
        loop.run(capture.start())
        yield capture
        loop.run(capture.stop())
    finally:
        loop.stop()


def sendmail(
    endpoint: Endpoint | str, *args: str, message: bytes = LETTER
) -> subprocess.CompletedProcess[str]:
    """Run ``mail-sandbox sendmail --smtp ENDPOINT ARGS`` with ``message`` on standard input."""
    return subprocess.run(
        [sys.executable, "-m", "mail_sandbox", "sendmail", "--smtp", str(endpoint), *args],
        input=message.decode(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def only_message(store: MessageStore):
    """The one stored message's summary and raw bytes."""
    page = store.list()
    assert page.total == 1, f"{page.total} messages stored"
    summary = page.messages[0]
    return summary, store.raw(summary.id)


def test_round_trip_with_recipients_on_the_command_line(
    server: CaptureServer, store: MessageStore
) -> None:
    result = sendmail(server.smtp, "-i", "-oi", "ann@example.com", "bob@example.com")

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    summary, raw = only_message(store)
    assert summary.subject == "Nightly backup finished"
    assert summary.return_path == "cron@build.example"
    # Exactly the recipients named; the headers' addresses are not added without -t.
    assert [a.address for a in summary.bcc] == ["bob@example.com"]
    # The message arrives as written, with SMTP's CRLF line endings and the lone dot intact.
    assert raw == LETTER.replace(b"\n", b"\r\n")


def test_t_reads_recipients_from_the_message_and_drops_bcc(
    server: CaptureServer, store: MessageStore
) -> None:
    result = sendmail(server.smtp, "-t")

    assert result.returncode == 0, result.stderr
    summary, raw = only_message(store)
    assert [a.address for a in summary.to] == ["ann@example.com"]
    assert [a.address for a in summary.cc] == ["ops@example.com"]
    assert [a.address for a in summary.bcc] == [
        "auditor@example.com",
        "second-auditor@example.com",
    ]
    assert not raw.startswith(b"Bcc") and b"\r\nBcc: auditor" not in raw
    assert b"second-auditor" not in raw
    assert raw.endswith(b"Bcc: this line is body text and stays\r\n")


def test_f_sets_the_envelope_sender(server: CaptureServer, store: MessageStore) -> None:
    result = sendmail(server.smtp, "-f", "bounces@build.example", "-t")

    assert result.returncode == 0, result.stderr
    summary, _ = only_message(store)
    assert summary.return_path == "bounces@build.example"
    assert summary.sender.address == "cron@build.example"


def test_server_not_running_is_a_temporary_failure_in_one_line(store: MessageStore) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Closed again: nothing listens there now.

    result = sendmail(f"127.0.0.1:{port}", "ann@example.com")

    assert result.returncode == EX_TEMPFAIL == 75
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("mail-sandbox sendmail: cannot connect to the capture server at ")
    assert f"127.0.0.1:{port}" in line and "is mail-sandbox running?" in line


def test_no_recipients_is_a_usage_error(server: CaptureServer, store: MessageStore) -> None:
    result = sendmail(server.smtp)

    assert result.returncode == EX_USAGE
    [line] = result.stderr.splitlines()
    assert "no recipients" in line and "-t" in line
    assert store.counts() == (0, 0)


def test_empty_input_is_refused(server: CaptureServer, store: MessageStore) -> None:
    result = sendmail(server.smtp, "ann@example.com", message=b"")

    assert result.returncode == 65
    assert result.stderr.strip() == "mail-sandbox sendmail: no message on standard input"
    assert store.counts() == (0, 0)


@pytest.mark.parametrize(
    ("code", "status"), [(451, EX_TEMPFAIL), (550, EX_UNAVAILABLE)], ids=["4xx", "5xx"]
)
def test_refused_recipients_give_sendmails_status(
    server: CaptureServer, store: MessageStore, code: int, status: int
) -> None:
    server.chaos.update({"Recipient": {"ErrorCode": code, "Probability": 100}})

    result = sendmail(server.smtp, "ann@example.com")

    assert result.returncode == status
    [line] = result.stderr.splitlines()
    assert f"ann@example.com: {code} Chaos recipient error" in line
    assert store.counts() == (0, 0)


def test_bad_option_is_a_usage_error() -> None:
    result = sendmail("127.0.0.1:1", "--no-such-option", "ann@example.com")

    assert result.returncode == EX_USAGE
    assert "usage: mail-sandbox sendmail" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_names_the_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mail_sandbox", "sendmail", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0
    for option in ("-f FROM", "-t", "--smtp HOST:PORT", "RECIPIENT"):
        assert option in result.stdout


def test_sendmail_does_not_load_the_server() -> None:
    """Scripts run sendmail once per message: it starts without the server's web and SMTP stack."""
    code = (
        "import sys\n"
        "from mail_sandbox.command import main\n"
        "try:\n"
        "    main(['sendmail', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('aiohttp', 'aiosmtpd', 'jinja2', 'mail_sandbox.server', 'mail_sandbox.store')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )

    assert "usage: mail-sandbox sendmail" in result.stdout
    assert result.stderr.strip() == "[]"


def test_without_bcc_keeps_everything_but_the_bcc_fields() -> None:
    message = b"To: a@x\r\nBCC: b@x,\r\n\tc@x\r\nSubject: s\r\n\r\nBcc: body\r\n"

    assert without_bcc(message) == b"To: a@x\r\nSubject: s\r\n\r\nBcc: body\r\n"
