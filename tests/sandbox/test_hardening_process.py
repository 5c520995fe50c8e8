"""``mail-sandbox`` as a process: it never opens a connection anywhere, it says so when other
machines can reach it, ``--ui-auth`` guards the inbox, and a SIGKILL loses no acknowledged mail."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from process_output import ProcessOutput

from mail_sandbox.cli import UI_AUTH_ENV, parse_args

# Runs the real command line with an audit hook that writes down every attempt to reach
# another host (connections, datagrams, name lookups), and the binds that prove it was live.
AUDITED_SANDBOX = """
import json
import os
import sys

WATCHED = {
    "socket.bind", "socket.connect", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
    "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo",
}
log = open(os.environ["NET_AUDIT_LOG"], "w", buffering=1)


def record(event, args):
    if event in WATCHED:
        log.write(json.dumps([event, [repr(arg) for arg in args]]) + "\\n")


sys.addaudithook(record)
# uvloop's sockets live in C and raise no audit events; the standard loop's all do.
sys.modules["uvloop"] = None
from mail_sandbox.cli import main

raise SystemExit(main(sys.argv[1:]))
"""
LOOPBACK_HOSTS = {"'127.0.0.1'", "'localhost'", "'::1'"}
OUTSIDE_RECIPIENTS = [
    "someone@gmail.com",
    "ceo@example.org",
    "root@[192.0.2.1]",
    "用户@例子.广告",
    "postmaster@mail.example.net",
]


@dataclass
class Sandbox:
    """A running mail-sandbox process and where it listens."""

    process: subprocess.Popen[str]
    smtp_port: int
    url: str
    output: ProcessOutput


def clean_environment() -> dict[str, str]:
    """This process's environment without a password the developer may have set for real use."""
    return {name: value for name, value in os.environ.items() if name != UI_AUTH_ENV}


@contextmanager
def sandbox_process(
    *args: str, command: list[str] | None = None, env: dict[str, str] | None = None
) -> Iterator[Sandbox]:
    """Run mail-sandbox on free loopback ports until the block ends (then SIGTERM)."""
    process = subprocess.Popen(
        [*(command or [sys.executable, "-m", "mail_sandbox"]), "--smtp", "127.0.0.1:0"]
        + ["--http", "127.0.0.1:0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**clean_environment(), **(env or {})},
    )
    try:
        output = ProcessOutput(process)
        text = output.until(r"mail kept in")
        smtp_port = int(re.search(r"SMTP on 127\.0\.0\.1:(\d+)", text).group(1))
        url = re.search(r"inbox on (http://\S+)", text).group(1)
        yield Sandbox(process, smtp_port, url, output)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def api_status(url: str, authorization: str | None = None) -> int:
    """Status of ``GET url``."""
    headers = {"Authorization": authorization} if authorization else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10):
            return 200
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def all_subjects(url: str) -> list[str]:
    """Every subject stored, read page by page through the API."""
    subjects: list[str] = []
    while True:
        with urllib.request.urlopen(
            f"{url}/api/v1/messages?start={len(subjects)}&limit=1000", timeout=30
        ) as response:
            page = json.load(response)
        subjects.extend(m["Subject"] for m in page["messages"])
        if not page["messages"]:
            return subjects


# --- never relays --------------------------------------------------------------------------


def test_mail_to_outside_domains_never_leaves_the_machine(tmp_path: Path):
    wrapper = tmp_path / "audited_sandbox.py"
    wrapper.write_text(AUDITED_SANDBOX)
    audit_log = tmp_path / "network.jsonl"
    command = [sys.executable, str(wrapper)]
    with sandbox_process(
        "--db", str(tmp_path / "mail.db"), command=command, env={"NET_AUDIT_LOG": str(audit_log)}
    ) as running:
        message = EmailMessage()
        message["From"] = "app@example.com"
        message["To"] = ", ".join(OUTSIDE_RECIPIENTS)
        message["Subject"] = "Please deliver"
        message.set_content("Nothing here may leave this machine.\n")
        with smtplib.SMTP("127.0.0.1", running.smtp_port, timeout=10) as client:
            for recipient in OUTSIDE_RECIPIENTS:
                client.send_message(message, to_addrs=[recipient])
        assert all_subjects(running.url) == ["Please deliver"] * len(OUTSIDE_RECIPIENTS)
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(timeout=30) == 0

    events = [json.loads(line) for line in audit_log.read_text().splitlines()]
    binds = [args[1] for event, args in events if event == "socket.bind"]
    # The hook saw both listeners being set up, so it was live the whole time.
    assert [address.startswith("('127.0.0.1', ") for address in binds] == [True, True]
    outbound = [
        (event, args)
        for event, args in events
        if event in ("socket.connect", "socket.gethostbyname", "socket.gethostbyaddr")
        or (event in ("socket.sendto", "socket.sendmsg") and args[-1] != "None")
        or (event in ("socket.getaddrinfo", "socket.getnameinfo") and args[0] not in LOOPBACK_HOSTS)
    ]
    assert outbound == []


# --- where it listens, and who may read it -------------------------------------------------


def test_listens_on_loopback_by_default(monkeypatch):
    monkeypatch.delenv(UI_AUTH_ENV, raising=False)

    args = parse_args([])

    assert (args.smtp.host, args.http.host) == ("127.0.0.1", "127.0.0.1")
    assert (args.smtp.port, args.http.port) == (8025, 8026)
    assert args.ui_auth is None


@pytest.mark.parametrize(
    ("flag", "says"),
    [
        ("--http", r"warning: the inbox and API on 192\.0\.2\.1:\d+ can be reached from other"),
        ("--smtp", r"warning: SMTP on 192\.0\.2\.1:\d+ accepts mail from other machines"),
    ],
)
def test_listening_beyond_loopback_prints_a_warning(flag, says, tmp_path):
    # 192.0.2.1 is a documentation address no machine has: binding fails, after the warning.
    result = subprocess.run(
        [sys.executable, "-m", "mail_sandbox", "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0"]
        + [flag, "192.0.2.1:0", "--db", str(tmp_path / "mail.db")],
        capture_output=True,
        text=True,
        timeout=30,
        env=clean_environment(),
    )

    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1, result.stderr
    assert re.search(says, warnings[0])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def basic(user: str, password: str) -> str:
    """An HTTP Basic ``Authorization`` value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("source", ["flag", "environment"])
def test_ui_auth_guards_the_inbox_and_api(source, tmp_path):
    secret = "s3cret:with-colon"
    args = ["--ui-auth", f"dev:{secret}"] if source == "flag" else []
    env = {UI_AUTH_ENV: f"dev:{secret}"} if source == "environment" else {}

    with sandbox_process("--db", str(tmp_path / "mail.db"), *args, env=env) as running:
        statuses = [
            api_status(f"{running.url}/api/v1/messages"),
            api_status(f"{running.url}/"),
            api_status(f"{running.url}/api/v1/messages", basic("dev", "guess")),
            api_status(f"{running.url}/api/v1/messages", basic("dev", secret)),
            api_status(f"{running.url}/", basic("dev", secret)),
        ]
        printed = "".join(running.output.seen)

    assert statuses == [401, 401, 401, 200, 200]
    assert secret not in printed
    assert "warning" not in printed


@pytest.mark.parametrize(
    ("source", "value"),
    [
        *[("flag", value) for value in ("dev", "dev:", ":secret-only", "")],
        # An empty variable means "not set", as in most programs.
        *[("environment", value) for value in ("dev", "dev:", ":secret-only")],
    ],
)
def test_bad_ui_auth_is_a_usage_error(source, value):
    args = ["--ui-auth", value] if source == "flag" else []
    env = {**clean_environment(), **({UI_AUTH_ENV: value} if source == "environment" else {})}

    result = subprocess.run(
        [sys.executable, "-m", "mail_sandbox", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )

    assert result.returncode == 2
    assert "usage: mail-sandbox" in result.stderr
    assert "USER:PASS" in result.stderr
    assert "Traceback" not in result.stderr
    if value:
        assert value not in result.stderr.replace("--ui-auth", "")


# --- a crash loses nothing that was acknowledged -------------------------------------------

SENDERS = 4
MOST_MESSAGES = 2000
KILL_AFTER = 300
SEND_SECONDS = 10


def test_sigkill_under_load_loses_no_acknowledged_message(tmp_path):
    db = str(tmp_path / "mail.db")
    acknowledged: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()
    deadline = time.monotonic() + SEND_SECONDS

    def send_until_it_dies(port: int, sender: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                for number in range(MOST_MESSAGES // SENDERS):
                    if time.monotonic() > deadline:
                        return
                    subject = f"load {sender}-{number}"
                    client.sendmail(
                        "app@example.com",
                        ["user@example.com"],
                        f"Subject: {subject}\r\n\r\n{'x' * 2000}\r\n".encode(),
                    )
                    # sendmail returned, so DATA was answered with 250.
                    with lock:
                        acknowledged.append(subject)
                        if len(acknowledged) >= KILL_AFTER:
                            enough.set()
        except (OSError, smtplib.SMTPException):
            return  # the server was killed under us

    with sandbox_process("--db", db) as running:
        senders = [
            threading.Thread(target=send_until_it_dies, args=(running.smtp_port, n), daemon=True)
            for n in range(SENDERS)
        ]
        for thread in senders:
            thread.start()
        assert enough.wait(timeout=SEND_SECONDS + 20), f"only {len(acknowledged)} acknowledged"
        running.process.send_signal(signal.SIGKILL)
        assert running.process.wait(timeout=30) == -signal.SIGKILL
        for thread in senders:
            thread.join(timeout=30)
            assert not thread.is_alive()

    with lock:
        kept_promises = list(acknowledged)
    with sandbox_process("--db", db) as restarted:
        stored = all_subjects(restarted.url)

    assert len(kept_promises) >= KILL_AFTER
    assert set(kept_promises) <= set(stored)
    # Anything beyond the acknowledged was committed just before the kill, never invented.
    assert len(stored) == len(set(stored))
    assert all(re.fullmatch(r"load \d+-\d+", subject) for subject in stored)
