"""SMTP routing into mailboxes: by AUTH login, by ``X-Mailbox`` header, else ``default``."""

from __future__ import annotations

import smtplib
import threading

import pytest

from mail_sandbox.message_limits import MAX_HEADER_BYTES
from mail_sandbox.server import CaptureServer
from mail_sandbox.store import MessageStore, NoSuchMailboxError


def connect(server: CaptureServer) -> smtplib.SMTP:
    return smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=10)


def raw_message(subject: str, *headers: str) -> bytes:
    lines = ["From: app@example.com", "To: user@example.com", f"Subject: {subject}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\nbody of " + subject + "\r\n").encode()


def send(server: CaptureServer, raw: bytes, login: tuple[str, str] | None = None) -> None:
    with connect(server) as client:
        if login is not None:
            client.login(*login)
        assert client.sendmail("app@example.com", ["user@example.com"], raw) == {}


def subjects(mailbox: MessageStore) -> list[str]:
    return [summary.subject for summary in mailbox.list().messages]


def auth(client: smtplib.SMTP, mechanism: str, user: str, password: str) -> None:
    client.ehlo()
    client.user, client.password = user, password
    client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_as_a_mailbox_stores_there_byte_for_byte(start_capture_server, store, mechanism):
    store.create_mailbox("ci-4711")
    server = start_capture_server()
    raw = raw_message("for ci")
    with connect(server) as client:
        auth(client, mechanism, "ci-4711", "")
        client.sendmail("app@example.com", ["user@example.com"], raw)
    mailbox = store.mailbox("ci-4711")
    assert subjects(mailbox) == ["for ci"]
    assert mailbox.raw(mailbox.latest_id()) == raw
    assert subjects(store) == []


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_a_wrong_password_gets_535_and_nothing_is_stored(start_capture_server, store, mechanism):
    store.create_mailbox("locked", password="s3cret")
    server = start_capture_server()
    with connect(server) as client, pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        auth(client, mechanism, "locked", "wrong")
    assert refused.value.smtp_code == 535
    assert b"5.7.8 Authentication credentials invalid" in refused.value.smtp_error
    assert subjects(store.mailbox("locked")) == []
    assert subjects(store) == []


@pytest.mark.parametrize("password", ["", "S3CRET"])
def test_a_password_mailbox_refuses_an_empty_or_wrong_case_password(
    start_capture_server, store, password
):
    store.create_mailbox("locked", password="s3cret")
    server = start_capture_server()
    with connect(server) as client, pytest.raises(smtplib.SMTPAuthenticationError):
        client.login("locked", password)


def test_the_right_password_stores_into_the_password_mailbox(start_capture_server, store):
    store.create_mailbox("locked", password="s3cret")
    server = start_capture_server()
    send(server, raw_message("secret mail"), login=("locked", "s3cret"))
    assert subjects(store.mailbox("locked")) == ["secret mail"]
    assert subjects(store) == []


def test_a_refused_login_may_try_again_on_the_same_connection(start_capture_server, store):
    store.create_mailbox("locked", password="s3cret")
    server = start_capture_server()
    with connect(server) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("locked", "wrong")
        client.login("locked", "s3cret")
        client.sendmail("app@example.com", ["user@example.com"], raw_message("second try"))
    assert subjects(store.mailbox("locked")) == ["second try"]


def test_every_message_of_an_authenticated_session_goes_to_its_mailbox(start_capture_server, store):
    store.create_mailbox("ci")
    server = start_capture_server()
    with connect(server) as client:
        client.login("ci", "")
        for number in range(3):
            client.sendmail("a@example.com", ["b@example.com"], raw_message(f"m{number}"))
    assert subjects(store.mailbox("ci")) == ["m2", "m1", "m0"]


def test_x_mailbox_header_routes_and_is_kept_in_the_raw_bytes(start_capture_server, store):
    store.create_mailbox("ci-1")
    server = start_capture_server()
    raw = raw_message("by header", "X-Mailbox: ci-1")
    send(server, raw)
    mailbox = store.mailbox("ci-1")
    assert subjects(mailbox) == ["by header"]
    assert mailbox.raw(mailbox.latest_id()) == raw
    assert subjects(store) == []


def test_x_mailbox_header_name_is_case_insensitive_and_may_be_folded(start_capture_server, store):
    store.create_mailbox("ci-2")
    server = start_capture_server()
    send(server, raw_message("folded", "x-MAILBOX:\r\n  ci-2"))
    assert subjects(store.mailbox("ci-2")) == ["folded"]


def test_x_mailbox_naming_no_mailbox_goes_to_default(start_capture_server, store):
    server = start_capture_server()
    send(server, raw_message("nowhere", "X-Mailbox: nobody-made-this"))
    send(server, raw_message("bad name", "X-Mailbox: ../etc"))
    assert subjects(store) == ["bad name", "nowhere"]
    assert [info.name for info in store.mailboxes()] == ["default"]


def test_x_mailbox_past_the_header_bound_is_not_read(start_capture_server, store):
    store.create_mailbox("ci-late")
    server = start_capture_server(max_size=4 * 1024 * 1024)
    padding = [f"X-Pad-{n}: {'a' * 1000}" for n in range(MAX_HEADER_BYTES // 1000 + 1)]
    raw = raw_message("late header", *padding, "X-Mailbox: ci-late")
    send(server, raw)
    assert subjects(store) == ["late header"]
    assert store.raw(store.latest_id()) == raw


def test_x_mailbox_in_the_body_does_not_route(start_capture_server, store):
    store.create_mailbox("ci-3")
    server = start_capture_server()
    raw = b"Subject: body line\r\n\r\nX-Mailbox: ci-3\r\n"
    send(server, raw)
    assert subjects(store) == ["body line"]
    assert subjects(store.mailbox("ci-3")) == []


def test_the_auth_mailbox_wins_over_the_header(start_capture_server, store):
    store.create_mailbox("by-auth")
    store.create_mailbox("by-header")
    server = start_capture_server()
    send(server, raw_message("both", "X-Mailbox: by-header"), login=("by-auth", ""))
    assert subjects(store.mailbox("by-auth")) == ["both"]
    assert subjects(store.mailbox("by-header")) == []


def test_a_login_naming_no_mailbox_sends_to_default_without_creating_one(
    start_capture_server, store
):
    server = start_capture_server()
    send(server, raw_message("any login"), login=("apikey", "whatever"))
    assert subjects(store) == ["any login"]
    assert [info.name for info in store.mailboxes()] == ["default"]


def test_a_login_naming_no_mailbox_still_lets_the_header_route(start_capture_server, store):
    store.create_mailbox("ci-4")
    server = start_capture_server()
    send(server, raw_message("header", "X-Mailbox: ci-4"), login=("apikey", "whatever"))
    assert subjects(store.mailbox("ci-4")) == ["header"]


def test_auto_mailboxes_creates_the_mailbox_of_an_unknown_login(start_capture_server, store):
    server = start_capture_server(auto_mailboxes=True)
    send(server, raw_message("first of job 9"), login=("job-9", "ignored"))
    send(server, raw_message("second of job 9"), login=("job-9", "ignored"))
    info = store.mailbox_info("job-9")
    assert not info.has_password
    assert subjects(store.mailbox("job-9")) == ["second of job 9", "first of job 9"]
    assert subjects(store) == []


def test_auto_mailboxes_still_checks_an_existing_password(start_capture_server, store):
    store.create_mailbox("locked", password="s3cret")
    server = start_capture_server(auto_mailboxes=True)
    with connect(server) as client, pytest.raises(smtplib.SMTPAuthenticationError):
        client.login("locked", "wrong")


@pytest.mark.parametrize("login", ["someone@example.com", "..", "x" * 65, "a/b"])
def test_auto_mailboxes_sends_a_login_that_is_no_mailbox_name_to_default(
    start_capture_server, store, login
):
    server = start_capture_server(auto_mailboxes=True)
    send(server, raw_message("odd login"), login=(login, "pw"))
    assert subjects(store) == ["odd login"]
    assert [info.name for info in store.mailboxes()] == ["default"]


def test_a_login_that_is_not_utf8_is_accepted_into_default(start_capture_server, store):
    server = start_capture_server(auto_mailboxes=True)
    with connect(server) as client:
        client.ehlo()
        code, _ = client.docmd("AUTH", "PLAIN AHVzZXL/AHB3")  # "\0user\xff\0pw"
        assert code == 235
        client.sendmail("a@example.com", ["b@example.com"], raw_message("latin"))
    assert subjects(store) == ["latin"]


def test_a_mailbox_deleted_after_auth_refuses_the_message(start_capture_server, store):
    store.create_mailbox("short-lived")
    server = start_capture_server()
    with connect(server) as client:
        client.login("short-lived", "")
        store.delete_mailbox("short-lived")
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("a@example.com", ["b@example.com"], raw_message("late"))
        assert refused.value.smtp_code == 550
        assert b"short-lived no longer exists" in refused.value.smtp_error
        client.rset()  # the connection goes on
    assert subjects(store) == []
    with pytest.raises(NoSuchMailboxError):
        store.mailbox("short-lived")


def test_chaos_can_still_refuse_auth_of_a_mailbox(start_capture_server, store):
    store.create_mailbox("ci")
    server = start_capture_server(enable_chaos=True)
    server.chaos.update({"Authentication": {"ErrorCode": 454, "Probability": 100}})
    with connect(server) as client, pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.login("ci", "")
    assert refused.value.smtp_code == 454


def test_a_slow_password_check_does_not_hold_up_other_sessions(
    start_capture_server, store, monkeypatch
):
    store.create_mailbox("locked", password="s3cret")
    checking, release = threading.Event(), threading.Event()
    check_password = store.check_password

    def slow_check(name: str, password: str | None) -> bool:
        checking.set()
        release.wait(10)
        return check_password(name, password)

    monkeypatch.setattr(store, "check_password", slow_check)
    server = start_capture_server()
    outcome: list[object] = []

    def log_in() -> None:
        with connect(server) as client:
            client.login("locked", "s3cret")
            outcome.append("logged in")

    slow = threading.Thread(target=log_in)
    slow.start()
    try:
        assert checking.wait(10)
        send(server, raw_message("meanwhile"))
        assert subjects(store) == ["meanwhile"]
        assert not outcome  # the check really was still running
    finally:
        release.set()
        slow.join(10)
    assert outcome == ["logged in"]
