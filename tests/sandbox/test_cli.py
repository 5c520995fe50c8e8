"""``mail-sandbox`` as a person runs it: where it listens, clean stops, clear errors."""

from __future__ import annotations

import json
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from process_output import ProcessOutput


@dataclass
class Running:
    """A mail-sandbox process and the addresses it printed."""

    process: subprocess.Popen[str]
    smtp_port: int
    url: str
    output: ProcessOutput


@contextmanager
def mail_sandbox(*args: str) -> Iterator[Running]:
    """Run ``python -m mail_sandbox`` on free ports; stop it with SIGTERM afterwards."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mail_sandbox",
            "--smtp",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Its own process group, as in a terminal: a test may signal all of it (see below).
        start_new_session=True,
    )
    try:
        reader = ProcessOutput(process)
        text = reader.until(r"mail kept in")
        smtp_port = int(re.search(r"SMTP on 127\.0\.0\.1:(\d+)", text).group(1))
        url = re.search(r"inbox on (http://\S+)", text).group(1)
        yield Running(process, smtp_port, url, reader)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


def send(port: int, subject: str) -> None:
    """Send one small message to the capture server."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail("a@example.com", ["b@example.com"], f"Subject: {subject}\r\n\r\nhi\r\n")


def subjects(url: str) -> list[str]:
    """The subjects the API lists, newest first."""
    with urllib.request.urlopen(f"{url}/api/v1/messages", timeout=10) as response:
        return [m["Subject"] for m in json.load(response)["messages"]]


def test_prints_where_it_listens_and_stops_cleanly_on_sigterm(tmp_path):
    with mail_sandbox("--db", str(tmp_path / "mail.db")) as running:
        assert running.smtp_port > 0
        assert running.url.startswith("http://127.0.0.1:")
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(timeout=20) == 0


def test_ctrl_c_stops_cleanly(tmp_path):
    with mail_sandbox("--db", str(tmp_path / "mail.db")) as running:
        running.process.send_signal(signal.SIGINT)
        assert running.process.wait(timeout=20) == 0
        rest = running.output.rest()
    assert "Traceback" not in rest


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_its_whole_process_group_stops_it_cleanly(tmp_path, signum):
    # Ctrl-C in a terminal (and `nox -s sandbox` stopping it) signals the indexer too.
    with mail_sandbox("--db", str(tmp_path / "mail.db")) as running:
        send(running.smtp_port, "before the stop")
        os.killpg(running.process.pid, signum)
        assert running.process.wait(timeout=20) == 0
        rest = running.output.rest()
    assert "Traceback" not in rest
    assert "ERROR" not in rest, rest


def test_mail_survives_a_restart_with_the_same_db(tmp_path):
    db = str(tmp_path / "mail.db")
    with mail_sandbox("--db", db) as running:
        send(running.smtp_port, "kept across restarts")
    with mail_sandbox("--db", db) as running:
        assert subjects(running.url) == ["kept across restarts"]


def test_memory_db_starts_empty_each_time():
    with mail_sandbox("--db", ":memory:") as running:
        send(running.smtp_port, "gone after stop")
        assert subjects(running.url) == ["gone after stop"]
    with mail_sandbox("--db", ":memory:") as running:
        assert subjects(running.url) == []


def test_port_in_use_gives_one_clear_line_and_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mail_sandbox",
                "--smtp",
                f"127.0.0.1:{port}",
                "--http",
                "127.0.0.1:0",
                "--db",
                str(tmp_path / "mail.db"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, result.stderr
    assert "already in use" in errors[0]


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--smtp", "localhost"), ("--smtp", "127.0.0.1:99999"), ("--max-size", "-1")],
)
def test_bad_flags_are_refused_with_usage(flag, value):
    result = subprocess.run(
        [sys.executable, "-m", "mail_sandbox", flag, value],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "usage: mail-sandbox" in result.stderr
    assert "Traceback" not in result.stderr
