"""Registering and resetting apply one password rule: at least 8 characters, at most 128."""

import pytest
from app_helpers import (
    PASSWORD,
    USERNAME,
    finish_registration,
    log_in,
    register,
    registration_link_in,
)

from app.extensions import db, mail
from app.models import User
from app.tokens import make_reset_token

TOO_SHORT = "Password must be at least 8 characters long."
TOO_LONG = "Field cannot be longer than 128 characters."


def _register(app, user, password):
    """The form's answer if it refuses ``password``, else the answer of the emailed link."""
    client = app.test_client()
    with mail.record_messages() as outbox:
        response = register(client, "john", "john@example.com", password)
    if response.status_code != 302:
        assert outbox == []
        return response
    return finish_registration(client, registration_link_in(outbox[0]))


def _reset(app, user, password):
    with app.app_context():
        token = make_reset_token(db.session.get(User, user.id))
    return app.test_client().post(
        f"/reset_password/{token}", data={"password": password, "password2": password}
    )


def _can_log_in(app, username, password) -> bool:
    return log_in(app.test_client(), username, password).location == "/index"


FORMS = {"register": (_register, "john"), "reset": (_reset, USERNAME)}


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize(
    ("password", "message"), [("x" * 7, TOO_SHORT), ("x" * 129, TOO_LONG)], ids=["7", "129"]
)
def test_password_outside_the_rule_is_refused_with_the_same_message(
    app, user, form, password, message
):
    submit, username = FORMS[form]

    response = submit(app, user, password)

    assert response.status_code == 200
    assert response.text.count(message) == 1
    assert not _can_log_in(app, username, password)
    assert _can_log_in(app, USERNAME, PASSWORD)


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("password", ["x" * 8, "x" * 128], ids=["8", "128"])
def test_password_within_the_rule_is_accepted(app, user, form, password):
    submit, username = FORMS[form]

    response = submit(app, user, password)

    assert response.status_code == 302
    assert response.location == "/login"
    assert _can_log_in(app, username, password)
