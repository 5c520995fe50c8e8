"""A password reset logs out every other session, remember-me cookies included."""

from app_helpers import NEW_PASSWORD, PASSWORD, USERNAME
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import User
from app.tokens import make_reset_token

REMEMBER_COOKIE = "remember_token"


def _logged_in_with_remember_me(app: Flask) -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/login", data={"username": USERNAME, "password": PASSWORD, "remember_me": "y"}
    )
    assert response.location == "/index"
    assert client.get_cookie(REMEMBER_COOKIE) is not None
    return client


def _reset_password_elsewhere(app: Flask, user: User) -> None:
    with app.app_context():
        token = make_reset_token(db.session.get(User, user.id))
    response = app.test_client().post(
        f"/reset_password/{token}", data={"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.location == "/login"


def _home_with_only_the_remember_cookie(app: Flask, cookie: str):
    client = app.test_client()
    client.set_cookie(REMEMBER_COOKIE, cookie)
    return client.get("/index")


def _is_logged_in(response) -> bool:
    return response.status_code == 200 and f"Hi, {USERNAME}!" in response.text


def test_reset_logs_out_a_session_opened_before_it(app, user):
    browser = _logged_in_with_remember_me(app)
    assert _is_logged_in(browser.get("/index"))

    _reset_password_elsewhere(app, user)
    response = browser.get("/index")

    assert response.status_code == 302
    assert response.location == "/login?next=%2Findex"


def test_reset_makes_an_earlier_remember_me_cookie_useless(app, user):
    cookie = _logged_in_with_remember_me(app).get_cookie(REMEMBER_COOKIE).value
    assert _is_logged_in(_home_with_only_the_remember_cookie(app, cookie))

    _reset_password_elsewhere(app, user)
    response = _home_with_only_the_remember_cookie(app, cookie)

    assert response.status_code == 302
    assert response.location == "/login?next=%2Findex"


def test_logged_out_session_can_log_in_again_with_the_new_password(app, user):
    browser = _logged_in_with_remember_me(app)
    _reset_password_elsewhere(app, user)
    browser.get("/index")

    response = browser.post("/login", data={"username": USERNAME, "password": NEW_PASSWORD})

    assert response.location == "/index"
    assert _is_logged_in(browser.get("/index"))


def test_sessions_survive_when_the_password_does_not_change(app, user):
    browser = _logged_in_with_remember_me(app)
    cookie = browser.get_cookie(REMEMBER_COOKIE).value

    # Another device logging in and out must not end this session.
    other = _logged_in_with_remember_me(app)
    other.get("/logout")

    assert _is_logged_in(browser.get("/index"))
    assert _is_logged_in(_home_with_only_the_remember_cookie(app, cookie))
