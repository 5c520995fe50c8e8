"""Password reset through the pages, as a person using the app would go through it."""

import pytest
from app_helpers import (
    BASE_URL,
    EMAIL,
    INVALID_LINK_FLASH,
    NEUTRAL_FLASH,
    NEW_PASSWORD,
    PASSWORD,
    SENDER,
    flashes,
    log_in,
    password_works,
    reset_link_in,
)

from app.extensions import db
from app.models import User
from app.tokens import make_reset_token


def _request_reset(client, email=EMAIL, **kwargs):
    return client.post("/reset_password_request", data={"email": email}, **kwargs)


def _token_for(app, user) -> str:
    with app.app_context():
        return make_reset_token(db.session.get(User, user.id))


def _set_password(client, token, password=NEW_PASSWORD, repeat=None):
    return client.post(
        f"/reset_password/{token}",
        data={"password": password, "password2": password if repeat is None else repeat},
    )


def test_request_page_shows_the_form(client):
    page = client.get("/reset_password_request").text

    assert "<h1>Reset Password</h1>" in page
    assert '<label for="email">Email</label>' in page
    assert 'value="Request Password Reset"' in page


def test_known_email_gets_one_message_with_the_same_absolute_link_in_both_parts(
    client, user, outbox
):
    response = _request_reset(client)

    assert response.status_code == 302
    assert response.location == "/login"
    assert flashes(client) == [NEUTRAL_FLASH]
    assert len(outbox) == 1
    message = outbox[0]
    assert message.subject == "[Microblog] Reset Your Password"
    assert message.sender == SENDER
    assert message.recipients == [EMAIL]
    link = reset_link_in(message)
    assert link.startswith(f"{BASE_URL}/reset_password/")
    assert f'href="{link}"' in message.html


def test_emailed_link_opens_the_reset_page(client, user, outbox):
    _request_reset(client)
    path = reset_link_in(outbox[0]).removeprefix(BASE_URL)

    response = client.get(path)

    assert response.status_code == 200
    assert "<h1>Reset Your Password</h1>" in response.text
    assert '<label for="password">Password</label>' in response.text
    assert '<label for="password2">Repeat Password</label>' in response.text
    assert 'value="Reset Password"' in response.text
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_email_is_looked_up_ignoring_letter_case(client, user, outbox):
    _request_reset(client, email=EMAIL.upper())

    assert [message.recipients for message in outbox] == [[EMAIL]]


def test_unknown_email_gets_no_message_and_the_identical_response(app, user, outbox):
    known_client, unknown_client = app.test_client(), app.test_client()

    known = _request_reset(known_client)
    unknown = _request_reset(unknown_client, email="nobody@example.com")

    assert len(outbox) == 1
    assert (unknown.status_code, unknown.location) == (known.status_code, known.location)
    assert unknown.get_data() == known.get_data()
    assert flashes(unknown_client) == flashes(known_client) == [NEUTRAL_FLASH]


def test_malformed_email_is_shown_as_a_form_error(client, user, outbox):
    response = _request_reset(client, email="not-an-email")

    assert response.status_code == 200
    assert "Invalid email address." in response.text
    assert outbox == []
    assert flashes(client) == []


def test_new_password_replaces_the_old_one(app, client, user):
    response = _set_password(client, _token_for(app, user))

    assert response.status_code == 302
    assert response.location == "/login"
    assert flashes(client) == ["Your password has been reset."]
    assert password_works(app, NEW_PASSWORD)
    assert not password_works(app, PASSWORD)


def test_token_cannot_be_used_twice(app, client, user):
    token = _token_for(app, user)
    _set_password(client, token)

    response = _set_password(app.test_client(), token, password="third-password-3")

    assert response.location == "/reset_password_request"
    assert password_works(app, NEW_PASSWORD)
    assert not password_works(app, "third-password-3")


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.x"])
def test_invalid_link_sends_the_user_back_to_the_request_page(client, user, token):
    response = client.get(f"/reset_password/{token}")

    assert response.status_code == 302
    assert response.location == "/reset_password_request"
    assert flashes(client) == [INVALID_LINK_FLASH]


def test_mismatched_passwords_keep_the_old_password(app, client, user):
    response = _set_password(client, _token_for(app, user), repeat="something-else-9")

    assert response.status_code == 200
    assert "Field must be equal to password." in response.text
    assert password_works(app, PASSWORD)
    assert not password_works(app, NEW_PASSWORD)


def test_logged_in_user_is_sent_home_from_both_reset_pages(app, client, user):
    token = _token_for(app, user)
    log_in(client)

    for path in ("/reset_password_request", f"/reset_password/{token}"):
        response = client.get(path)
        assert (path, response.status_code, response.location) == (path, 302, "/index")
    assert _set_password(client, token).location == "/index"
    assert password_works(app, PASSWORD)


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example"},
        {"X-Forwarded-Host": "evil.example"},
        {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "ftp"},
        {"Forwarded": "host=evil.example;proto=https"},
        {"X-Host": "evil.example", "X-Forwarded-Server": "evil.example"},
    ],
    ids=["host", "x-forwarded-host", "both", "forwarded", "x-host"],
)
def test_forged_host_headers_do_not_change_the_emailed_link(client, user, outbox, headers):
    _request_reset(client, headers=headers)

    link = reset_link_in(outbox[0])
    assert link.startswith(f"{BASE_URL}/reset_password/")
    assert "evil" not in outbox[0].body + outbox[0].html


def test_untrusted_host_is_refused_when_trusted_hosts_are_set(make_app, outbox):
    app = make_app(TRUSTED_HOSTS=["microblog.test"])
    client = app.test_client()

    assert client.get("/login", headers={"Host": "microblog.test"}).status_code == 200
    refused = _request_reset(client, headers={"Host": "evil.example"})
    assert refused.status_code == 400
    assert outbox == []
