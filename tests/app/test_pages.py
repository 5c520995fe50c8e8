"""Registering, logging in and out, and the pages around them."""

import pytest
from app_helpers import (
    BASE_URL,
    PASSWORD,
    USERNAME,
    finish_registration,
    flashes,
    log_in,
    register,
    registration_link_in,
)


def _register(client, **changes):
    data = {"username": "john", "email": "john@example.com", "password": "johns-password"}
    data.update(changes)
    return register(client, **data)


def test_login_page_shows_the_form_and_the_links(client):
    page = client.get("/login").text

    assert '<label for="username">Username</label>' in page
    assert '<label for="password">Password</label>' in page
    assert '<label class="inline" for="remember_me">Remember Me</label>' in page
    assert 'type="submit" value="Sign In"' in page
    assert 'Forgot Your Password? <a href="/reset_password_request">Click to Reset It</a>' in page
    assert '<a href="/register">Click to Register!</a>' in page


def test_register_page_shows_the_form(client):
    page = client.get("/register").text

    for field, label in [
        ("username", "Username"),
        ("email", "Email"),
        ("password", "Password"),
        ("password2", "Repeat Password"),
    ]:
        assert f'<label for="{field}">{label}</label>' in page
    assert 'type="submit" value="Register"' in page


def test_registered_user_can_log_in_and_is_greeted(client, outbox):
    response = _register(client)

    assert response.location == "/login"
    assert flashes(client) == ["Check your email to finish registering."]
    (message,) = outbox
    assert message.recipients == ["john@example.com"]
    link = registration_link_in(message)
    assert link.startswith(f"{BASE_URL}/register/")
    page = client.get(link.removeprefix(BASE_URL)).text
    assert "<h1>Finish Registering</h1>" in page
    assert 'type="submit" value="Finish Registering"' in page
    finished = finish_registration(client, link)
    assert finished.location == "/login"
    assert flashes(client) == ["Congratulations, you are now a registered user!"]
    assert log_in(client, "john", "johns-password").location == "/index"
    home = client.get("/index").text
    assert "<h1>Hi, john!</h1>" in home
    assert '<a href="/logout">Logout</a>' in home


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"username": USERNAME}, "Please use a different username."),
        ({"email": "john@"}, "There must be something after the @-sign."),
        ({"email": "john"}, "An email address must have an @-sign."),
        ({"repeat": "something-else"}, "Field must be equal to password."),
        ({"password": "short"}, "at least 8 characters"),
    ],
)
def test_registration_with_bad_input_shows_the_error_and_sends_nothing(
    client, user, outbox, changes, error
):
    response = _register(client, **changes)

    assert response.status_code == 200
    assert error in response.text
    assert outbox == []
    assert log_in(client, changes.get("username", "john"), "johns-password").location == "/login"


def test_wrong_password_is_refused_with_a_message(client, user):
    response = log_in(client, password="not-the-password")

    assert response.location == "/login"
    assert flashes(client) == ["Invalid username or password"]
    assert client.get("/index").location.startswith("/login")


def test_unknown_user_gets_the_same_message(client, user):
    log_in(client, username="nobody")

    assert flashes(client) == ["Invalid username or password"]


def test_home_needs_login_and_comes_back_after_it(client, user):
    response = client.get("/index")

    assert response.status_code == 302
    assert response.location == "/login?next=%2Findex"
    follow = client.post("/login?next=%2Findex", data={"username": USERNAME, "password": PASSWORD})
    assert follow.location == "/index"


def test_logout_ends_the_session(client, user):
    log_in(client)

    assert client.get("/logout").status_code == 302
    assert client.get("/index").status_code == 302


def test_logged_in_user_skips_login_and_register(client, user):
    log_in(client)

    assert client.get("/login").location == "/index"
    assert client.get("/register").location == "/index"


def test_unknown_page_is_a_plain_404(client):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert "Page Not Found" in response.text


def test_server_error_is_a_plain_page_without_a_traceback(make_app):
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom")

    response = app.test_client().get("/boom")

    assert response.status_code == 500
    assert "An Unexpected Error Has Occurred" in response.text
    assert "kaboom" not in response.text
