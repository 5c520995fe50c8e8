"""Real SMTP delivery: failures are logged and retried, never shown to the user, and the
background sender delivers without holding up the request."""

import logging
import socket
from email import message_from_bytes, policy

import pytest
from app_helpers import BASE_URL, EMAIL, NEUTRAL_FLASH, SENDER, flashes

from app.email import EXECUTOR_KEY


@pytest.fixture
def closed_port():
    """A loopback port that refuses connections: bound, never listening, so nobody takes it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def _request_reset(app):
    client = app.test_client()
    return client, client.post("/reset_password_request", data={"email": EMAIL})


def test_smtp_server_down_is_logged_retried_and_never_shown(make_app, user, closed_port, caplog):
    app = make_app(MAIL_SUPPRESS_SEND=False, MAIL_PORT=closed_port, MAIL_SEND_RETRIES=2)

    with caplog.at_level(logging.WARNING, logger="app"):
        client, response = _request_reset(app)

    assert response.status_code == 302
    assert response.location == "/login"
    assert flashes(client) == [NEUTRAL_FLASH]
    failures = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [f"attempt {n} of 3" in r.getMessage() for n, r in enumerate(failures, 1)] == [True] * 3
    assert all("Connection refused" in r.getMessage() for r in failures)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "giving up" in errors[0].getMessage()


def test_temporary_smtp_failure_is_retried_until_delivered(make_app, user, smtp_server, caplog):
    handler, port = smtp_server
    handler.refuse_first = 1
    app = make_app(MAIL_SUPPRESS_SEND=False, MAIL_PORT=port)

    with caplog.at_level(logging.WARNING, logger="app"):
        _request_reset(app)

    assert handler.attempts == 2
    assert len(handler.envelopes) == 1
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelno for r in problems] == [logging.WARNING]
    assert "451" in problems[0].getMessage()


def test_background_sender_delivers_without_holding_up_the_request(make_app, user, smtp_server):
    handler, port = smtp_server
    app = make_app(MAIL_SUPPRESS_SEND=False, MAIL_PORT=port, MAIL_SEND_SYNC=False)
    handler.gate.clear()  # the server holds every message until the test lets it through

    client, response = _request_reset(app)

    assert response.status_code == 302
    assert handler.envelopes == []
    handler.gate.set()
    assert handler.received.wait(timeout=10)
    envelope = handler.envelopes[0]
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == [EMAIL]
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert message["Subject"] == "[Microblog] Reset Your Password"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f"{BASE_URL}/reset_password/" in text
    link = text.split(f"{BASE_URL}/reset_password/")[1].split()[0]
    assert f'href="{BASE_URL}/reset_password/{link}"' in html


def test_background_job_for_an_unknown_address_sends_nothing(make_app, user, smtp_server):
    handler, port = smtp_server
    app = make_app(MAIL_SUPPRESS_SEND=False, MAIL_PORT=port, MAIL_SEND_SYNC=False)
    client = app.test_client()

    client.post("/reset_password_request", data={"email": "nobody@example.com"})
    client.post("/reset_password_request", data={"email": EMAIL})
    app.extensions[EXECUTOR_KEY].shutdown(wait=True)  # returns once both jobs have finished

    assert [envelope.rcpt_tos for envelope in handler.envelopes] == [[EMAIL]]


def test_retries_wait_longer_each_time(make_app, user, closed_port, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr("app.email.time.sleep", waits.append)
    app = make_app(
        MAIL_SUPPRESS_SEND=False, MAIL_PORT=closed_port, MAIL_SEND_RETRIES=3, MAIL_RETRY_BACKOFF=0.5
    )

    _request_reset(app)

    assert waits == [0.5, 1.0, 2.0]
