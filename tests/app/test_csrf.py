"""With CSRF protection on, a form posted without a valid token is refused and changes nothing."""

import re

import pytest
from app_helpers import EMAIL, NEW_PASSWORD, PASSWORD, password_works

from app.extensions import db
from app.models import User
from app.tokens import make_reset_token


@pytest.fixture
def csrf_app(make_app):
    """The app with CSRF checks on, as in production."""
    return make_app(WTF_CSRF_ENABLED=True)


def _csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_reset_without_csrf_token_is_refused_and_keeps_the_password(make_app, csrf_app, user):
    with csrf_app.app_context():
        token = make_reset_token(db.session.get(User, user.id))
    client = csrf_app.test_client()

    response = client.post(
        f"/reset_password/{token}", data={"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.status_code == 400
    assert "The CSRF token is missing." in response.text
    assert "Traceback" not in response.text
    # Checked through an app without CSRF checks on the same database: logging in is the proof.
    assert password_works(make_app(), PASSWORD)


def test_registration_with_a_forged_csrf_token_creates_no_user(csrf_app):
    client = csrf_app.test_client()
    client.get("/register")

    response = client.post(
        "/register",
        data={
            "csrf_token": "forged",
            "username": "eve",
            "email": "eve@example.com",
            "password": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 400
    with csrf_app.app_context():
        assert db.session.scalar(db.select(User).filter_by(username="eve")) is None


def test_reset_request_without_csrf_token_is_refused(csrf_app, user, outbox):
    response = csrf_app.test_client().post("/reset_password_request", data={"email": EMAIL})

    assert response.status_code == 400
    assert outbox == []


def test_form_with_its_csrf_token_is_accepted(csrf_app, user):
    client = csrf_app.test_client()
    token = _csrf_token(client.get("/login").text)

    response = client.post(
        "/login", data={"csrf_token": token, "username": "susan", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response.location == "/index"
