"""Line breaks in what a user types never become email headers or extra recipients."""

from email import message_from_bytes, policy

import pytest
from app_helpers import EMAIL, NEUTRAL_FLASH, flashes

from app.extensions import db
from app.models import User

CONTROL_CHARACTERS = "Username cannot contain line breaks or other control characters."
EVIL = "evil@attacker.example"


def _registered_usernames(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(db.select(User.username)))


@pytest.mark.parametrize(
    "username",
    [f"eve\r\nBcc: {EVIL}", f"eve\nBcc: {EVIL}", f"eve\rBcc: {EVIL}", "eve\u2028x", "eve\x00"],
    ids=["crlf", "lf", "cr", "line separator", "nul"],
)
def test_username_with_a_line_break_is_refused_at_registration(app, client, username):
    response = client.post(
        "/register",
        data={
            "username": username,
            "email": "eve@example.com",
            "password": "eves-password",
            "password2": "eves-password",
        },
    )

    assert response.status_code == 200
    assert CONTROL_CHARACTERS in response.text
    assert _registered_usernames(app) == []


def test_username_with_a_line_break_is_refused_by_the_command_line(app):
    result = app.test_cli_runner().invoke(
        args=["create-user", f"eve\r\nBcc: {EVIL}", "eve@example.com", "--password", "x" * 8]
    )

    assert result.exit_code == 2
    assert CONTROL_CHARACTERS in result.output
    assert _registered_usernames(app) == []


@pytest.mark.parametrize(
    "forged",
    [
        f"{EMAIL}\r\nBcc: {EVIL}",
        f"{EMAIL}\nBcc: {EVIL}",
        f"{EMAIL}\r\nTo: {EVIL}",
        f"{EMAIL}, {EVIL}",
        f"{EVIL}\r\n{EMAIL}",
    ],
    ids=["crlf bcc", "lf bcc", "crlf to", "comma list", "line break before"],
)
def test_reset_request_cannot_add_a_recipient_or_header(make_app, user, smtp_server, forged):
    handler, port = smtp_server
    app = make_app(MAIL_SUPPRESS_SEND=False, MAIL_PORT=port)
    client = app.test_client()

    refused = client.post("/reset_password_request", data={"email": forged})
    # A genuine request afterwards gives a message to inspect; sending is synchronous here, so
    # whatever the forged request sent has arrived by now too.
    client.post("/reset_password_request", data={"email": EMAIL})

    assert refused.status_code == 200
    assert "Invalid email address." in refused.text
    assert [envelope.rcpt_tos for envelope in handler.envelopes] == [[EMAIL]]
    message = message_from_bytes(handler.envelopes[0].content, policy=policy.default)
    assert message.get_all("To") == [EMAIL]
    assert message.get_all("Bcc") is None
    assert message.get_all("Cc") is None
    assert EVIL.encode() not in handler.envelopes[0].content


def test_address_with_surrounding_line_breaks_is_trimmed_not_injected(make_app, user, smtp_server):
    handler, port = smtp_server
    app = make_app(MAIL_SUPPRESS_SEND=False, MAIL_PORT=port)
    client = app.test_client()

    response = client.post("/reset_password_request", data={"email": f"\r\n{EMAIL}\r\n"})

    assert response.location == "/login"
    assert flashes(client) == [NEUTRAL_FLASH]
    assert [envelope.rcpt_tos for envelope in handler.envelopes] == [[EMAIL]]
    message = message_from_bytes(handler.envelopes[0].content, policy=policy.default)
    assert message.get_all("To") == [EMAIL]
