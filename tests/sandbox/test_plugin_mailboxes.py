"""The plugin's ``mailbox``: a mailbox of its own for every test, on one shared server too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mail_sandbox.server import CaptureServer

pytest_plugins = ["pytester"]

#: A suite of email tests as another project writes them: each logs in as its mailbox, sends,
#: deletes all of its mailbox's mail, sends again, and must then see exactly its own message.
SUITE = """
import os
import smtplib
from email.message import EmailMessage

import pytest

RUN = os.environ["SUITE_RUN"]


def send(mailbox, subject):
    message = EmailMessage()
    message["From"] = "app@example.com"
    message["To"] = "ann@example.com"
    message["Subject"] = subject
    message.set_content("hello")
    with smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=10) as smtp:
        smtp.login(mailbox.smtp_username, mailbox.smtp_password)
        smtp.send_message(message)


@pytest.mark.parametrize("n", range(12))
def test_sees_only_its_own_mail(mailbox, n):
    tag = f"{RUN}-{n}"
    send(mailbox, f"first {tag}")
    send(mailbox, f"second {tag}")
    assert mailbox.wait_for(subject=f"second {tag}").subject == f"second {tag}"
    assert sorted(s["Subject"] for s in mailbox.summaries()) == [f"first {tag}", f"second {tag}"]
    mailbox.clear()
    send(mailbox, f"third {tag}")
    assert mailbox.wait_for(subject=f"third {tag}").subject == f"third {tag}"
    assert [s["Subject"] for s in mailbox.summaries()] == [f"third {tag}"]
"""


def test_two_parallel_runs_against_one_server_never_see_each_others_mail(
    tmp_path: Path, capture_server: CaptureServer
):
    suite = tmp_path / "test_suite.py"
    suite.write_text(SUITE)
    smtp = f"{capture_server.smtp.host}:{capture_server.smtp.port}"
    runs = []
    for run in ("a", "b"):
        argv = [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
            "-n", "4", "--mail-sandbox-url", capture_server.url, "--mail-sandbox-smtp", smtp,
            str(suite),
        ]  # fmt: skip
        env = {**os.environ, "SUITE_RUN": run}
        runs.append(
            subprocess.Popen(
                argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
        )
    outputs = [run.communicate(timeout=300)[0].decode() for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output
        assert "12 passed" in output, output
    # Every test's mailbox went with its test, and nothing reached the default mailbox.
    assert [box.name for box in capture_server.store.mailboxes()] == ["default"]
    assert capture_server.store.counts() == (0, 0)


def test_each_test_gets_a_mailbox_of_its_own(pytester):
    pytester.makepyfile(
        """
        import smtplib

        MESSAGE = b"From: a@example.com\\r\\nTo: b@example.com\\r\\nSubject: %s\\r\\n\\r\\nhi\\r\\n"
        seen = []

        def send(mailbox, subject, login=False):
            with smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=10) as smtp:
                if login:
                    smtp.login(mailbox.smtp_username, mailbox.smtp_password)
                smtp.sendmail("a@example.com", ["b@example.com"], MESSAGE % subject.encode())

        def test_first(mailbox, mail_sandbox):
            seen.append(mailbox.smtp_username)
            send(mailbox, "logged in", login=True)
            send(mailbox, "not logged in")
            assert mailbox.wait_for(subject="not logged in")
            assert sorted(s["Subject"] for s in mailbox.summaries()) == [
                "logged in", "not logged in"]
            # The server as a whole keeps its default mailbox apart.
            assert mail_sandbox.summaries() == []
            assert mailbox.url == mail_sandbox.url + "/m/" + mailbox.smtp_username
            names = [box["Name"] for box in mail_sandbox.mailboxes()]
            assert names == ["default", mailbox.smtp_username]

        def test_second(mailbox, mail_sandbox):
            assert mailbox.smtp_username != seen[0]
            assert "test_first" in seen[0]
            assert mailbox.summaries() == []
            names = [box["Name"] for box in mail_sandbox.mailboxes()]
            assert names == ["default", mailbox.smtp_username]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=2)
