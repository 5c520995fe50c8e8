"""Responses to a reset link keep the token private: no Referer leaves the page, and no cache
keeps a copy of it."""

import pytest
from app_helpers import NEW_PASSWORD

from app.extensions import db
from app.models import User
from app.tokens import make_reset_token


def _token_for(app, user) -> str:
    with app.app_context():
        return make_reset_token(db.session.get(User, user.id))


def _valid_link_page(client, token):
    response = client.get(f"/reset_password/{token}")
    assert "<h1>Reset Your Password</h1>" in response.text
    return response


def _invalid_link_redirect(client, token):
    response = client.get(f"/reset_password/{token}x")
    assert response.location == "/reset_password_request"
    return response


def _form_shown_again_after_a_mistake(client, token):
    response = client.post(
        f"/reset_password/{token}", data={"password": NEW_PASSWORD, "password2": "typo"}
    )
    assert "Field must be equal to password." in response.text
    return response


def _redirect_after_success(client, token):
    response = client.post(
        f"/reset_password/{token}", data={"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.location == "/login"
    return response


@pytest.mark.parametrize(
    "respond",
    [
        _valid_link_page,
        _invalid_link_redirect,
        _form_shown_again_after_a_mistake,
        _redirect_after_success,
    ],
    ids=["valid link page", "invalid link redirect", "form re-rendered", "success redirect"],
)
def test_reset_responses_send_no_referrer_and_are_not_cached(app, client, user, respond):
    response = respond(client, _token_for(app, user))

    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
