"""Reset requests past the default limits (3 per address, 30 per client, per 15 minutes) get
the same neutral answer but no email, and the log says which limit was reached."""

import logging

import pytest
from app_helpers import EMAIL, NEUTRAL_FLASH, flashes

from app.config import Config
from app.extensions import db, mail
from app.models import User

OTHER_EMAIL = "bob@example.com"


@pytest.fixture
def limited_app(make_app, monkeypatch):
    """The app with the rate limits it has when nobody configures them."""
    monkeypatch.delenv("RESET_LIMIT_PER_EMAIL", raising=False)
    monkeypatch.delenv("RESET_LIMIT_PER_CLIENT", raising=False)
    defaults = Config()
    return make_app(
        RESET_LIMIT_PER_EMAIL=defaults.RESET_LIMIT_PER_EMAIL,
        RESET_LIMIT_PER_CLIENT=defaults.RESET_LIMIT_PER_CLIENT,
    )


@pytest.fixture
def bob(limited_app, user) -> None:
    """A second registered user, bob@example.com, next to susan."""
    with limited_app.app_context():
        account = User(username="bob", email=OTHER_EMAIL)
        account.set_password("bobs-password")
        db.session.add(account)
        db.session.commit()


def _request_reset(app, email, client_address="192.0.2.1"):
    client = app.test_client()
    response = client.post(
        "/reset_password_request",
        data={"email": email},
        environ_base={"REMOTE_ADDR": client_address},
    )
    return response, flashes(client)


def _limit_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "app.reset_limits"]


def test_default_limits_are_3_per_address_and_30_per_client(limited_app):
    assert limited_app.config["RESET_LIMIT_PER_EMAIL"] == "3 per 15 minutes"
    assert limited_app.config["RESET_LIMIT_PER_CLIENT"] == "30 per 15 minutes"


def test_fourth_request_for_one_address_gets_the_same_answer_and_no_email(
    limited_app, user, bob, caplog
):
    with mail.record_messages() as outbox, caplog.at_level(logging.INFO):
        answers = [_request_reset(limited_app, EMAIL) for _ in range(4)]
        other_address = _request_reset(limited_app, OTHER_EMAIL)

    (response, flashed) = answers[3]
    assert response.status_code == 302
    assert response.location == "/login"
    assert response.get_data() == answers[0][0].get_data()
    assert flashed == [NEUTRAL_FLASH]
    assert [message.recipients for message in outbox] == [[EMAIL]] * 3 + [[OTHER_EMAIL]]
    assert other_address[1] == [NEUTRAL_FLASH]
    (line,) = _limit_lines(caplog)
    assert "per-email limit of 3 per 15 minute" in line
    assert "RESET_LIMIT_PER_EMAIL" in line


def test_address_limit_ignores_letter_case_and_spaces(limited_app, user):
    with mail.record_messages() as outbox:
        for email in [EMAIL, EMAIL.upper(), f" {EMAIL.title()} ", EMAIL]:
            _request_reset(limited_app, email)

    assert len(outbox) == 3


def test_client_past_30_requests_gets_the_same_answer_and_no_email(limited_app, user, caplog):
    with mail.record_messages() as outbox, caplog.at_level(logging.INFO):
        for n in range(30):
            _request_reset(limited_app, f"stranger{n}@example.com")
        refused, flashed = _request_reset(limited_app, EMAIL)
        from_elsewhere, _ = _request_reset(limited_app, EMAIL, client_address="192.0.2.2")

    assert refused.status_code == 302
    assert refused.location == "/login"
    assert refused.get_data() == from_elsewhere.get_data()
    assert flashed == [NEUTRAL_FLASH]
    assert [message.recipients for message in outbox] == [[EMAIL]]
    (line,) = _limit_lines(caplog)
    assert "per-client limit of 30 per 15 minute" in line
    assert "RESET_LIMIT_PER_CLIENT" in line
