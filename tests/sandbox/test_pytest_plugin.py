"""The pytest plugin as another project uses it: installed, no conftest needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from mail_sandbox.links import find_links

pytest_plugins = ["pytester"]

SEND_HELPER = """
import smtplib
from email.message import EmailMessage


def send(sandbox, to, subject, text, html=None):
    message = EmailMessage()
    message["From"] = "app@example.com"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    with smtplib.SMTP(sandbox.smtp_host, sandbox.smtp_port, timeout=10) as client:
        client.send_message(message)
"""


def test_fixtures_capture_wait_for_and_links(pytester):
    pytester.makepyfile(helpers=SEND_HELPER)
    pytester.makepyfile(
        """
        import threading
        import pytest
        from helpers import send

        def test_wait_for_a_message_sent_later(mailbox):
            sender = threading.Timer(0.2, send, args=(
                mailbox, "susan@example.com", "[Microblog] Reset Your Password",
                "Go to http://127.0.0.1:5000/reset_password/abc.",
                '<a href="http://127.0.0.1:5000/reset_password/abc">Reset</a>'
                ' <a href="http://127.0.0.1:5000/help">Help</a>'))
            sender.start()
            message = mailbox.wait_for(to="susan@example.com", subject="Reset Your Password")
            sender.join()
            assert message.subject == "[Microblog] Reset Your Password"
            assert message.sender == "app@example.com"
            assert message.to == ["susan@example.com"]
            assert "reset_password/abc" in message.text
            assert message.links == [
                "http://127.0.0.1:5000/reset_password/abc", "http://127.0.0.1:5000/help"]
            assert b"Subject: [Microblog] Reset Your Password" in message.raw
            assert message.headers["Subject"] == ["[Microblog] Reset Your Password"]

        def test_mailbox_is_empty_for_each_test(mailbox):
            assert mailbox.messages() == []
            send(mailbox, "a@example.com", "one", "first")
            send(mailbox, "b@example.com", "two", "second")
            assert mailbox.wait_for(to="b@example.com").subject == "two"
            assert [m.subject for m in mailbox.messages()] == ["one", "two"]

        def test_each_wait_for_returns_a_new_message(mailbox):
            send(mailbox, "a@example.com", "first", "1")
            send(mailbox, "a@example.com", "second", "2")
            got = [mailbox.wait_for(to="a@example.com").subject for _ in range(2)]
            assert got == ["first", "second"]
            with pytest.raises(TimeoutError, match="a@example.com"):
                mailbox.wait_for(to="a@example.com", timeout=0.3)

        def test_session_server_is_shared(mail_sandbox, mailbox):
            assert mailbox.server_url == mail_sandbox.url
            assert mail_sandbox.url.startswith("http://127.0.0.1:")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=4)


def test_each_xdist_worker_has_its_own_server(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_record(mail_sandbox, n, worker_id):
            print(f"SERVER {worker_id} {mail_sandbox.url}")
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-rA")
    result.assert_outcomes(passed=4)
    servers = {tuple(line.split()[-2:]) for line in result.outlines if line.startswith("SERVER ")}
    workers = {worker for worker, _ in servers}
    urls = {url for _, url in servers}
    assert len(workers) == 2
    assert len(urls) == 2


@pytest.mark.parametrize(
    ("text", "html", "expected"),
    [
        ("See https://a.example/x.", "", ["https://a.example/x"]),
        ("", '<a href="mailto:x@y">m</a><a href="/rel">r</a>', []),
        ("http://a/1 and http://a/1", '<a href="http://a/2">2</a>', ["http://a/1", "http://a/2"]),
    ],
)
def test_find_links(text, html, expected):
    assert find_links(text, html) == expected


def test_the_readme_example_runs(pytester):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## The pytest plugin", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    pytester.makepyfile(test_readme_example=example)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
