"""``MailSandboxClient`` with mailboxes: managing them, and a client scoped to one."""

from __future__ import annotations

import smtplib

import pytest

from mail_sandbox.client import MailSandboxClient, MailSandboxError
from mail_sandbox.server import CaptureServer
from mail_sandbox.web import Credentials


def send(server: CaptureServer, subject: str, mailbox: str | None = None, password: str = ""):
    with smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=10) as client:
        if mailbox is not None:
            client.login(mailbox, password)
        client.sendmail(
            "app@example.com",
            ["user@example.com"],
            f"To: user@example.com\r\nSubject: {subject}\r\n\r\nhello\r\n",
        )


@pytest.fixture
def server(start_capture_server) -> CaptureServer:
    return start_capture_server()


@pytest.fixture
def client(server) -> MailSandboxClient:
    return MailSandboxClient(server.url)


def test_create_list_and_delete_mailboxes(client, store):
    made = client.create_mailbox("ci-4711", ttl=600)
    assert made["Name"] == "ci-4711"
    assert made["TTL"] == 600
    assert made["Expires"] is not None
    assert made["HasPassword"] is False
    assert (made["Messages"], made["Unread"]) == (0, 0)
    assert [box["Name"] for box in client.mailboxes()] == ["default", "ci-4711"]
    assert client.mailbox_info("ci-4711")["TTL"] == 600
    client.delete_mailbox("ci-4711")
    assert [box["Name"] for box in client.mailboxes()] == ["default"]
    assert [info.name for info in store.mailboxes()] == ["default"]


def test_a_taken_name_raises_with_the_status_and_the_servers_words(client):
    client.create_mailbox("twice")
    with pytest.raises(MailSandboxError) as taken:
        client.create_mailbox("twice")
    assert taken.value.status == 409
    assert "twice" in taken.value.error


def test_deleting_an_unknown_mailbox_raises_404(client):
    with pytest.raises(MailSandboxError) as missing:
        client.delete_mailbox("never-made")
    assert missing.value.status == 404
    assert missing.value.error == "no mailbox named never-made"


def test_a_scoped_client_sees_only_its_mailbox(client, server):
    client.create_mailbox("a")
    client.create_mailbox("b")
    send(server, "to default")
    send(server, "to a", mailbox="a")
    send(server, "to b", mailbox="b")
    only_a = client.for_mailbox("a")
    assert only_a.mailbox == "a"
    assert [s["Subject"] for s in only_a.summaries()] == ["to a"]
    assert [m.subject for m in only_a.messages()] == ["to a"]
    assert only_a.info()["Messages"] == 1
    only_a.clear()
    assert only_a.summaries() == []
    assert [s["Subject"] for s in client.for_mailbox("b").summaries()] == ["to b"]
    assert [s["Subject"] for s in client.summaries()] == ["to default"]


def test_wait_for_in_a_mailbox_ignores_mail_to_others(client, server):
    client.create_mailbox("a")
    client.create_mailbox("b")
    only_a = MailSandboxClient(server.url, mailbox="a")
    send(server, "for b", mailbox="b")
    send(server, "for a", mailbox="a")
    assert only_a.wait_for(to="user@example.com", timeout=10).subject == "for a"
    with pytest.raises(TimeoutError):
        only_a.wait_for(timeout=0.5)


def test_a_password_mailbox_needs_its_password(client, server):
    client.create_mailbox("locked", password="s3cret")
    send(server, "secret", mailbox="locked", password="s3cret")
    with pytest.raises(MailSandboxError) as refused:
        client.for_mailbox("locked").summaries()
    assert refused.value.status == 401
    with pytest.raises(MailSandboxError):
        client.for_mailbox("locked", "wrong").summaries()
    opened = client.for_mailbox("locked", "s3cret")
    assert [s["Subject"] for s in opened.summaries()] == ["secret"]
    assert opened.mailbox_info("locked")["HasPassword"] is True
    opened.delete_mailbox("locked")


def test_password_mailboxes_are_listed_with_the_ui_auth_credentials(start_capture_server):
    server = start_capture_server(credentials=Credentials("admin", "pw"))
    admin = MailSandboxClient(server.url, auth=("admin", "pw"))
    admin.create_mailbox("locked", password="s3cret")
    admin.create_mailbox("open")
    assert [box["Name"] for box in admin.mailboxes()] == ["default", "locked", "open"]
    send(server, "via admin", mailbox="locked", password="s3cret")
    assert [s["Subject"] for s in admin.for_mailbox("locked").summaries()] == ["via admin"]
    with pytest.raises(MailSandboxError) as refused:
        MailSandboxClient(server.url).mailboxes()
    assert refused.value.status == 401


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("http://127.0.0.1:1",), {"password": "pw"}, "name the mailbox"),
        (("http://127.0.0.1:1", "a/b"), {}, "mailbox name"),
        (("http://127.0.0.1:1", "a", "pw"), {"auth": ("u", "p")}, "not both"),
        (("127.0.0.1:1",), {}, "http"),
    ],
)
def test_bad_arguments_are_refused_at_once(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        MailSandboxClient(*args, **kwargs)
