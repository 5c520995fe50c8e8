"""``mail-sandbox mailboxes``, ``sendmail --mailbox`` and ``--auto-mailboxes`` as a person or a
CI script runs them: against real servers on free ports, with one-line errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest
from process_output import start_mail_sandbox

from mail_sandbox.server import CaptureServer
from mail_sandbox.web import Credentials

LETTER = b"From: ci@build.example\nTo: ann@example.com\nSubject: From the job\n\nHello.\n"


def run(*args: str, env: dict[str, str] | None = None, message: bytes | None = None):
    """``python -m mail_sandbox ARGS``, finished, with its output as text."""
    return subprocess.run(
        [sys.executable, "-m", "mail_sandbox", *args],
        input=None if message is None else message.decode(),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def mailboxes(server: CaptureServer, *args: str, env: dict[str, str] | None = None):
    return run("mailboxes", *args, "--url", server.url, env=env)


def sendmail(server: CaptureServer, *args: str, env: dict[str, str] | None = None):
    smtp = str(server.smtp)
    return run("sendmail", "--smtp", smtp, *args, "ann@example.com", env=env, message=LETTER)


def one_error_line(result: subprocess.CompletedProcess[str], prefix: str) -> str:
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(prefix), lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def server(start_capture_server) -> CaptureServer:
    return start_capture_server()


def test_lists_the_mailboxes_as_a_table(server, store):
    store.create_mailbox("ci-4711", ttl=600)
    store.create_mailbox("locked", password="s3cret")
    store.mailbox("ci-4711").add(b"Subject: x\r\n\r\ny\r\n", "a@x", ["b@x"]).result(10)
    result = mailboxes(server)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["NAME", "MESSAGES", "UNREAD", "EXPIRES", "PASSWORD"]
    cells = {row.split()[0]: row.split() for row in rows}
    # The server lists no password mailbox to a client without its --ui-auth credentials.
    assert list(cells) == ["default", "ci-4711"]
    assert cells["default"] == ["default", "0", "0", "never", "no"]
    name, messages, unread, day, time, utc, password = cells["ci-4711"]
    assert (messages, unread, utc, password) == ("1", "1", "UTC", "no")
    assert len(day) == 10 and len(time) == 8


def test_list_before_or_after_the_command_word(server):
    assert mailboxes(server, "list").returncode == 0
    listed = run("mailboxes", "list", "--url", server.url)
    assert listed.returncode == 0 and listed.stdout.startswith("NAME")


def test_create_with_ttl_and_password_then_delete(server, store):
    created = mailboxes(
        server, "create", "ci-9", "--ttl", "120", "--password-env", "JOB_PW",
        env={"JOB_PW": "hunter2"},
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "created mailbox ci-9, with a password, deleted after 120 s unused" in created.stdout
    assert f"{server.url}/m/ci-9/" in created.stdout
    info = store.mailbox_info("ci-9")
    assert (info.ttl, info.has_password) == (120, True)
    assert store.check_password("ci-9", "hunter2")
    refused = mailboxes(server, "delete", "ci-9")
    assert refused.returncode == 1
    line = one_error_line(refused, "mail-sandbox mailboxes: ")
    assert "--password-env" in line
    deleted = mailboxes(
        server, "delete", "ci-9", "--password-env", "JOB_PW", env={"JOB_PW": "hunter2"}
    )
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout == "deleted mailbox ci-9 and its mail\n"
    assert [info.name for info in store.mailboxes()] == ["default"]


def test_a_taken_name_is_one_line_and_status_1(server, store):
    store.create_mailbox("taken")
    result = mailboxes(server, "create", "taken")
    line = one_error_line(result, "mail-sandbox mailboxes: ")
    assert "taken" in line and "409" in line
    assert result.returncode == 1


def test_deleting_an_unknown_mailbox_is_one_line_and_status_1(server):
    result = mailboxes(server, "delete", "never-made")
    line = one_error_line(result, "mail-sandbox mailboxes: ")
    assert line == "mail-sandbox mailboxes: no mailbox named never-made (HTTP 404)"
    assert result.returncode == 1


def test_a_server_that_is_not_running_is_one_line_and_status_1():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run("mailboxes", "--url", f"http://127.0.0.1:{port}")
    line = one_error_line(result, "mail-sandbox mailboxes: cannot reach mail-sandbox at ")
    assert "refused" in line.lower()
    assert result.returncode == 1


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["create", "a/b"], {}, "a mailbox name is"),
        (["create", "ok", "--ttl", "0"], {}, "must be 1 or more"),
        (["create", "ok", "--password-env", "UNSET_VAR_FOR_TEST"], {}, "is not set"),
        (["--ui-auth", "nocolon"], {}, "USER:PASS"),
        ([], {"MAIL_SANDBOX_UI_AUTH": "nocolon"}, "$MAIL_SANDBOX_UI_AUTH"),
    ],
)
def test_bad_command_lines_exit_2_with_one_reason(server, args, env, expected):
    result = mailboxes(server, *args, env=env)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_ui_auth_opens_a_protected_server(start_capture_server, store):
    server = start_capture_server(credentials=Credentials("admin", "pw"))
    store.create_mailbox("locked", password="s3cret")
    refused = mailboxes(server)
    line = one_error_line(refused, "mail-sandbox mailboxes: ")
    assert "--ui-auth" in line
    assert refused.returncode == 1
    listed = mailboxes(server, env={"MAIL_SANDBOX_UI_AUTH": "admin:pw"})
    assert listed.returncode == 0, listed.stderr
    assert [row.split()[-1] for row in listed.stdout.splitlines()[1:]] == ["no", "yes"]
    deleted = mailboxes(server, "delete", "locked", "--ui-auth", "admin:pw")
    assert deleted.returncode == 0, deleted.stderr


def test_sendmail_mailbox_delivers_into_it(server, store):
    store.create_mailbox("ci-1")
    result = sendmail(server, "--mailbox", "ci-1")
    assert result.returncode == 0, result.stderr
    assert [s.subject for s in store.mailbox("ci-1").list().messages] == ["From the job"]
    assert store.list().total == 0


def test_sendmail_mailbox_with_a_password(server, store):
    store.create_mailbox("locked", password="pässword")
    by_flag = sendmail(
        server, "--mailbox", "locked", "--password-env", "PW", env={"PW": "pässword"}
    )
    assert by_flag.returncode == 0, by_flag.stderr
    by_default = sendmail(
        server, "--mailbox", "locked", env={"MAIL_SANDBOX_MAILBOX_PASSWORD": "pässword"}
    )
    assert by_default.returncode == 0, by_default.stderr
    assert store.mailbox("locked").list().total == 2


def test_sendmail_with_a_wrong_password_exits_77_with_one_line(server, store):
    store.create_mailbox("locked", password="s3cret")
    wrong = sendmail(server, "--mailbox", "locked", "--password-env", "PW", env={"PW": "nope"})
    assert wrong.returncode == 77
    line = one_error_line(wrong, "mail-sandbox sendmail: mailbox locked refused the password")
    assert "535" in line
    missing = sendmail(server, "--mailbox", "locked", env={"MAIL_SANDBOX_MAILBOX_PASSWORD": ""})
    assert missing.returncode == 77
    assert "none was given" in missing.stderr
    assert store.mailbox("locked").list().total == 0
    assert store.list().total == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--mailbox", "no/slash"], "a mailbox name is"),
        (["--password-env", "PW"], "name the mailbox too"),
        (["--mailbox", "ok", "--password-env", "UNSET_VAR_FOR_TEST"], "is not set"),
    ],
)
def test_sendmail_mailbox_usage_errors_exit_64(server, args, expected):
    result = sendmail(server, *args)
    assert result.returncode == 64
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_auto_mailboxes_flag_creates_the_mailbox_of_a_login():
    process, smtp_port, url = start_mail_sandbox("--auto-mailboxes")
    try:
        sent = run(
            "sendmail", "--smtp", f"127.0.0.1:{smtp_port}", "--mailbox", "job-77", "ann@x.example",
            message=LETTER,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        listed = run("mailboxes", "--url", url)
        assert listed.returncode == 0, listed.stderr
        rows = [row.split() for row in listed.stdout.splitlines()[1:]]
        assert [(row[0], row[1]) for row in rows] == [("default", "0"), ("job-77", "1")]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


def test_without_auto_mailboxes_an_unknown_login_goes_to_default(server, store):
    result = sendmail(server, "--mailbox", "job-78")
    assert result.returncode == 0, result.stderr
    assert store.list().total == 1
    assert [info.name for info in store.mailboxes()] == ["default"]
