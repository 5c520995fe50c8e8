"""One rule for account addresses: the part before the @ must be ASCII (Flask-Mail cannot
send SMTPUTF8 mail), the domain is compared in its IDNA form, letter case never matters."""

from app_helpers import BASE_URL

from app.extensions import db
from app.models import User

ASCII_ONLY = "Internationalized characters before the @-sign are not supported"


def _emails(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(db.select(User.email)))


def _add_user(app, username: str, email: str) -> None:
    """An account as an earlier version of the app could have stored it."""
    with app.app_context():
        account = User(username=username, email=email)
        account.set_password("some-password-1")
        db.session.add(account)
        db.session.commit()


def test_a_non_ascii_address_is_refused_at_registration_with_a_clear_error(app, client, outbox):
    response = client.post(
        "/register",
        data={
            "username": "unal",
            "email": "Ünal@example.com",
            "password": "x" * 8,
            "password2": "x" * 8,
        },
    )

    assert response.status_code == 200
    assert ASCII_ONLY in response.text
    assert outbox == []
    assert _emails(app) == []


def test_a_non_ascii_address_is_refused_by_the_command_line(app):
    result = app.test_cli_runner().invoke(
        args=["create-user", "unal", "Ünal@example.com", "--password", "x" * 8]
    )

    assert result.exit_code == 2
    assert ASCII_ONLY in result.output
    assert _emails(app) == []


def _create_user(app, username: str, email: str) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-user", username, email, "--password", "x" * 8]
    )
    assert result.exit_code == 0, result.output


def test_an_international_domain_is_stored_in_the_form_mail_goes_to(app):
    _create_user(app, "ann", "Ann@BÜCHER.example")

    assert _emails(app) == ["Ann@xn--bcher-kva.example"]


def test_a_reset_finds_the_account_under_any_spelling_of_its_domain(app, client, outbox):
    _create_user(app, "ann", "ann@bücher.example")

    for spelling in ("ANN@BÜCHER.example", "ann@xn--bcher-kva.example", "Ann@Bücher.Example"):
        client.post("/reset_password_request", data={"email": spelling})

    assert [m.recipients for m in outbox] == [["ann@xn--bcher-kva.example"]] * 3
    assert all(f"{BASE_URL}/reset_password/" in m.body for m in outbox)


def test_a_reset_for_one_non_ascii_spelling_never_reaches_another_account(app, client, outbox):
    _add_user(app, "unal", "Ünal@example.com")
    _add_user(app, "other", "ünal@example.com")

    response = client.post("/reset_password_request", data={"email": "Ünal@example.com"})

    assert response.location == "/login"
    assert [m.recipients for m in outbox] == []
