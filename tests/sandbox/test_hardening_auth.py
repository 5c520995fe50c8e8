"""``--ui-auth``: with credentials set, every page, API call and event stream asks for them; the
pytest plugin's server, which only the test process reaches, stays open."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message

import pytest

from mail_sandbox.server import CaptureServer
from mail_sandbox.web import Credentials

USER = "dev"
PASSWORD = "pa:ss wörd"  # a colon and non-ASCII, which Basic auth must carry intact


def basic(user: str, password: str) -> str:
    """An ``Authorization`` header value for HTTP Basic, UTF-8 as browsers send it today."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


RIGHT = basic(USER, PASSWORD)
WRONG = {
    "none": None,
    "wrong-password": basic(USER, "pa:ss word"),
    "wrong-user": basic("Dev", PASSWORD),
    "password-prefix": basic(USER, "pa:ss"),
    "not-base64": "Basic !!!",
    "other-scheme": "Bearer " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
    "empty": "",
}


def request(url: str, authorization: str | None, method: str = "GET") -> tuple[int, Message, bytes]:
    """Status, headers and (for a finite answer) body of one request."""
    headers = {"Authorization": authorization} if authorization is not None else {}
    sent = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(sent, timeout=10) as response:
            # The event stream never ends; its status and headers are the answer.
            finite = response.headers.get_content_type() != "text/event-stream"
            return response.status, response.headers, response.read() if finite else b""
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


@pytest.fixture
def protected(start_capture_server) -> tuple[CaptureServer, str]:
    """A capture server started with credentials, holding one message; and that message's ID."""
    server = start_capture_server(credentials=Credentials(USER, PASSWORD))
    raw = b"From: a@example.com\r\nSubject: secret reset link\r\n\r\nhttp://x/reset/1\r\n"
    message_id = server.store.add(raw, "a@example.com", ["b@example.com"]).result(timeout=5)
    return server, message_id


PATHS = [
    "/",
    "/fragments/inbox",
    "/message/{id}",
    "/message/{id}/html",
    "/static/inbox.js",
    "/api/v1/messages",
    "/api/v1/search?query=secret",
    "/api/v1/message/{id}",
    "/api/v1/message/{id}/raw",
    "/api/v1/message/{id}/headers",
    "/api/v1/wait?since=&timeout=1",
    "/api/events",
]


@pytest.mark.parametrize("authorization", WRONG.values(), ids=WRONG.keys())
@pytest.mark.parametrize("path", PATHS)
def test_everything_asks_for_the_password(protected, path, authorization):
    server, message_id = protected

    status, headers, body = request(server.url + path.format(id=message_id), authorization)

    assert status == 401
    assert headers["WWW-Authenticate"].startswith('Basic realm="mail-sandbox"')
    assert b"secret reset link" not in body
    if path.startswith("/api/"):
        assert json.loads(body)["Error"]


@pytest.mark.parametrize("path", PATHS)
def test_the_right_credentials_open_everything(protected, path):
    server, message_id = protected

    status, _, _ = request(server.url + path.format(id=message_id), RIGHT)

    # The HTML view is 404: this message has no HTML part, which is the answer once signed in.
    assert status == (404 if path.endswith("/html") else 200)


@pytest.mark.parametrize(
    ("method", "path"), [("DELETE", "/api/v1/messages"), ("POST", "/delete-all")]
)
def test_changes_without_the_password_are_refused_and_change_nothing(protected, method, path):
    server, _ = protected

    status, _, _ = request(server.url + path, WRONG["wrong-password"], method)

    assert status == 401
    assert server.store.counts() == (1, 1)


@pytest.mark.parametrize("value", ["nocolon", ":password", "user:", "", "us\ner:pass"])
def test_credentials_must_be_user_colon_password(value):
    with pytest.raises(ValueError):
        Credentials.parse(value)


def test_the_pytest_plugin_server_asks_for_no_password(mail_sandbox):
    status, _, body = request(f"{mail_sandbox.url}/api/v1/messages", None)

    assert status == 200
    assert "messages" in json.loads(body)
