"""Constants and small steps shared by the app's tests."""

import re

from flask import Flask
from flask.testing import FlaskClient
from flask_mail import Message

BASE_URL = "http://microblog.test:5000"
SENDER = "no-reply@microblog.test"
USERNAME = "susan"
EMAIL = "susan@example.com"
PASSWORD = "old-password-1"
NEW_PASSWORD = "new-password-2"
NEUTRAL_FLASH = "Check your email for the instructions to reset your password"
INVALID_LINK_FLASH = "The password reset link is invalid or has expired."


def log_in(client: FlaskClient, username: str = USERNAME, password: str = PASSWORD):
    """Submit the login form; returns the response (a redirect on success)."""
    return client.post("/login", data={"username": username, "password": password})


def flashes(client: FlaskClient) -> list[str]:
    """The flashed messages waiting in the client's session (without consuming them)."""
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


def password_works(app: Flask, password: str) -> bool:
    """Whether susan can log in with ``password`` (checked on a fresh client)."""
    response = log_in(app.test_client(), password=password)
    return response.status_code == 302 and response.location == "/index"


def reset_link_in(message: Message) -> str:
    """The one reset link in the text part of ``message``."""
    links = re.findall(r"https?://\S+/reset_password/[\w.-]+", message.body)
    assert len(links) == 1, message.body
    return links[0]


def registration_link_in(message: Message) -> str:
    """The one link in the text part of ``message`` that finishes a registration."""
    links = re.findall(r"https?://\S+/register/[\w.-]+", message.body)
    assert len(links) == 1, message.body
    return links[0]


def register(
    client: FlaskClient,
    username: str,
    email: str,
    password: str = "johns-password",
    repeat: str | None = None,
):
    """Submit the registration form; returns the response (a redirect once accepted)."""
    data = {"username": username, "email": email, "password": password}
    data["password2"] = password if repeat is None else repeat
    return client.post("/register", data=data)


def finish_registration(client: FlaskClient, link: str):
    """Press the button on the page of an emailed registration link; returns the response."""
    return client.post(link.removeprefix(BASE_URL))
