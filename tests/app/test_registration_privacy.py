"""Registering tells nobody whether an address has an account: new and taken addresses get
the same answer, and only the address's owner learns which it was, by email. The account is
made when the emailed link's button is pressed; the password waits on the server meanwhile."""

import re

import jwt
import pytest
from app_helpers import BASE_URL, EMAIL, USERNAME, flashes, log_in, register
from werkzeug.security import check_password_hash

from app.extensions import db
from app.models import PendingRegistration, User
from app.tokens import make_reset_token

SENT_FLASH = "Check your email to finish registering."
INVALID_FLASH = "The registration link is invalid or has expired."
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
SESSION_COOKIE = re.compile(r"^session=([^;]*)")
MASK = "<masked>"


def _register(client, username="john", email="john@example.com", password="johns-password"):
    return register(client, username, email, password)


def _link_path(message) -> str:
    (link,) = re.findall(rf"{re.escape(BASE_URL)}(/register/[\w.-]+)", message.body)
    return link


def _finish(client, path):
    return client.post(path)


def _usernames(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(db.select(User.username).order_by(User.id)))


def _waiting(app) -> list[tuple[str, str, str]]:
    """(username, email, password hash) of every registration waiting for its link."""
    with app.app_context():
        rows = db.session.execute(
            db.select(
                PendingRegistration.username,
                PendingRegistration.email,
                PendingRegistration.password_hash,
            )
        )
        return [tuple(row) for row in rows]


def _masked(response) -> tuple:
    """Status, headers and body, with the per-client CSRF token and session cookie hidden."""

    def mask(pattern, text):
        return pattern.sub(lambda m: m.group(0).replace(m.group(1), MASK), text)

    headers = [
        (name, mask(SESSION_COOKIE, value) if name == "Set-Cookie" else value)
        for name, value in response.headers.items()
    ]
    return response.status_code, headers, mask(CSRF_FIELD, response.get_data(as_text=True))


def _register_as_a_browser(client, email: str) -> tuple:
    form = client.get("/register")
    redirect = client.post(
        "/register",
        data={
            "csrf_token": CSRF_FIELD.search(form.text).group(1),
            "username": "stranger",
            "email": email,
            "password": "strangers-password",
            "password2": "strangers-password",
        },
    )
    assert redirect.status_code == 302, f"the form refused {email!r}"
    return redirect, client.get(redirect.location)


def test_new_and_taken_addresses_get_byte_identical_answers(make_app, user):
    app = make_app(WTF_CSRF_ENABLED=True)

    taken_redirect, taken_page = _register_as_a_browser(app.test_client(), EMAIL.upper())
    new_redirect, new_page = _register_as_a_browser(app.test_client(), "new@example.com")

    assert taken_redirect.status_code == 302
    assert taken_redirect.location == "/login"
    assert SENT_FLASH in taken_page.text
    assert _masked(new_redirect) == _masked(taken_redirect)
    assert _masked(new_page) == _masked(taken_page)


def test_a_taken_address_makes_no_account_and_tells_its_owner(app, client, user, outbox):
    _register(client, username="mallory", email=EMAIL.upper())

    (message,) = outbox
    assert message.recipients == [EMAIL]
    assert message.subject == "[Microblog] Your Address Is Already Registered"
    assert "already has an account" in " ".join(message.body.split())
    assert f"{BASE_URL}/reset_password_request" in message.body
    assert "/reset_password/" not in message.body
    assert "/register/" not in message.body
    assert _usernames(app) == [USERNAME]
    assert _waiting(app) == []
    # The name the stranger typed stays free: trying it again reveals nothing either.
    assert "Please use a different username." not in _register(client, "mallory").text


def test_a_new_address_gets_a_link_that_creates_the_account_once(app, client, outbox):
    _register(client)

    (message,) = outbox
    assert message.recipients == ["john@example.com"]
    assert _usernames(app) == []
    path = _link_path(message)
    assert _finish(client, path).location == "/login"
    assert log_in(app.test_client(), "john", "johns-password").location == "/index"
    again = _finish(app.test_client(), path)
    assert again.location == "/register"
    assert _usernames(app) == ["john"]
    assert _waiting(app) == []


def test_opening_the_link_creates_nothing_until_its_button_is_pressed(make_app, outbox):
    # Mail scanners open links by themselves: only the form's POST, with its CSRF token, counts.
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    form = client.get("/register")
    client.post(
        "/register",
        data={
            "csrf_token": CSRF_FIELD.search(form.text).group(1),
            "username": "john",
            "email": "john@example.com",
            "password": "johns-password",
            "password2": "johns-password",
        },
    )
    path = _link_path(outbox[0])

    opened = [app.test_client().get(path) for _ in range(2)]
    forged = app.test_client().post(path)

    assert [page.status_code for page in opened] == [200, 200]
    assert "<h1>Finish Registering</h1>" in opened[0].text
    assert forged.status_code == 400
    assert _usernames(app) == []
    page = client.get(path).text
    pressed = client.post(path, data={"csrf_token": CSRF_FIELD.search(page).group(1)})
    assert pressed.location == "/login"
    assert _usernames(app) == ["john"]


def test_neither_the_email_nor_its_link_carries_the_password_or_its_hash(app, client, outbox):
    _register(client, password="johns-password")

    (message,) = outbox
    token = _link_path(message).removeprefix("/register/")
    ((username, email, password_hash),) = _waiting(app)
    assert (username, email) == ("john", "john@example.com")
    assert check_password_hash(password_hash, "johns-password")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert sorted(claims) == ["exp", "pending", "purpose"]
    for text in (message.body, message.html, token, str(claims)):
        assert "johns-password" not in text
        assert password_hash not in text
        assert password_hash.rsplit("$", 1)[-1] not in text
    # The address stays on the server too: the token names the waiting row and nothing else.
    assert "john@example.com" not in str(claims)


def test_an_expired_registration_is_refused_and_forgotten(make_app, outbox):
    short_lived = make_app(REGISTRATION_TOKEN_TTL=0)
    _register(short_lived.test_client(), username="john", email="john@example.com")
    expired_path = _link_path(outbox[0])
    app = make_app()

    _register(app.test_client(), username="jane", email="jane@example.com")
    client = app.test_client()
    response = _finish(client, expired_path)

    assert response.location == "/register"
    assert flashes(client) == [INVALID_FLASH]
    assert _usernames(app) == []
    assert [row[:2] for row in _waiting(app)] == [("jane", "jane@example.com")]


def test_a_link_signed_with_another_key_creates_nothing(app, client, outbox):
    _register(client)
    token = _link_path(outbox[0]).removeprefix("/register/")
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-secret-key-" + "x" * 32, algorithm="HS256")
    stranger = app.test_client()

    response = _finish(stranger, f"/register/{forged}")

    assert response.location == "/register"
    assert flashes(stranger) == [INVALID_FLASH]
    assert _usernames(app) == []


def test_a_username_taken_before_the_link_is_used_is_named(app, client, outbox):
    _register(client, username="john", email="first@example.com")
    _register(client, username="john", email="second@example.com")
    first, second = (_link_path(message) for message in outbox)
    _finish(client, first)
    other_tab = app.test_client()

    response = other_tab.get(second)

    assert response.location == "/register"
    assert flashes(other_tab) == ["Please use a different username."]
    assert _usernames(app) == ["john"]


def test_a_taken_username_is_still_named_on_the_form(client, user, outbox):
    response = _register(client, username=USERNAME, email="new@example.com")

    assert response.status_code == 200
    assert "Please use a different username." in response.text
    assert outbox == []


@pytest.mark.parametrize("kind", ["reset token", "garbage"])
def test_a_link_that_is_not_a_registration_token_creates_nothing(app, client, user, kind):
    with app.app_context():
        token = make_reset_token(db.session.get(User, user.id)) if kind == "reset token" else "x"

    response = _finish(client, f"/register/{token}")

    assert response.location == "/register"
    assert flashes(client) == [INVALID_FLASH]
    assert _usernames(app) == [USERNAME]


def test_registration_emails_count_against_the_per_address_limit(make_app, outbox):
    app = make_app(RESET_LIMIT_PER_EMAIL="2 per 15 minutes")
    client = app.test_client()

    answers = [_register(client, username=f"john{n}").location for n in range(3)]
    client.post("/reset_password_request", data={"email": "john@example.com"})

    assert answers == ["/login"] * 3
    assert len(outbox) == 2
