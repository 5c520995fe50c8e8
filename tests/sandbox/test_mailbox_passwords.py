"""A mailbox with a password: HTTP Basic (user = its name) for everything under ``/m/NAME/``
and for ``/api/v1/mailboxes/NAME``; the server's ``--ui-auth`` user opens every mailbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from mail_sandbox.server import CaptureServer
from mail_sandbox.store import MessageStore
from mail_sandbox.web import Credentials

CHALLENGE = 'Basic realm="mail-sandbox", charset="UTF-8"'
PASSWORD = "pa:ss wörd"  # a colon and non-ASCII, which Basic auth must carry intact
OWN = ("ci", PASSWORD)
ADMIN = Credentials("admin", "admin-secret")
PATHS = [
    "/m/ci/api/v1/messages",
    "/m/ci/api/v1/search?query=subject:x",
    "/m/ci/api/v1/info",
    "/m/ci/api/v1/message/latest",
    "/m/ci/",
    "/m/ci/api/events",
    "/api/v1/mailboxes/ci",
]
WRONG = {
    "none": None,
    "wrong password": ("ci", "pa:ss word"),
    "password prefix": ("ci", "pa:ss"),
    "another mailbox's user and password": ("other", "other-secret"),
    "another mailbox's password": ("ci", "other-secret"),
}


def fill(store: MessageStore) -> None:
    store.create_mailbox("ci", password=PASSWORD)
    store.create_mailbox("other", password="other-secret")
    store.create_mailbox("open")
    for name in ("ci", "open"):
        store.mailbox(name).add(b"Subject: x\r\n\r\nhi\r\n", "a@example.com", ["b@x"]).result(10)


def status(client: httpx.Client, path: str, auth: tuple[str, str] | None) -> httpx.Response:
    """The answer's head only: an event stream that opens is not read to its end."""
    with client.stream("GET", path, auth=auth) as answer:
        return answer


@pytest.fixture
def open_server(web_server) -> Iterator[httpx.Client]:
    """A server without ``--ui-auth``, with mailboxes ``ci`` and ``other`` (passwords) and
    ``open`` (none)."""
    fill(web_server.store)
    with httpx.Client(base_url=web_server.url, timeout=10) as client:
        yield client


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("auth", list(WRONG.values()), ids=list(WRONG))
def test_without_the_password_it_is_401(open_server: httpx.Client, path: str, auth) -> None:
    answer = status(open_server, path, auth)

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == CHALLENGE


@pytest.mark.parametrize("path", PATHS)
def test_with_the_password_it_opens(open_server: httpx.Client, path: str) -> None:
    assert status(open_server, path, OWN).status_code == 200


def test_a_refusal_says_what_is_needed(open_server: httpx.Client) -> None:
    answer = open_server.get("/m/ci/api/v1/messages")

    assert answer.json() == {"Error": "mailbox ci needs its password (user name ci)"}
    assert open_server.get("/m/ci/api/v1/messages", auth=OWN).json()["total"] == 1


def test_changes_need_the_password_too(open_server: httpx.Client) -> None:
    assert open_server.delete("/m/ci/api/v1/messages").status_code == 401
    assert open_server.delete("/api/v1/mailboxes/ci").status_code == 401
    assert open_server.post("/m/ci/api/v1/send", json={"From": {"Email": "a@x"}}).status_code == 401

    assert open_server.get("/m/ci/api/v1/messages", auth=OWN).json()["total"] == 1
    assert open_server.delete("/api/v1/mailboxes/ci", auth=OWN).text == "ok"
    assert open_server.get("/m/ci/api/v1/messages", auth=OWN).status_code == 404


def test_mailboxes_without_a_password_stay_open(open_server: httpx.Client) -> None:
    assert open_server.get("/m/open/api/v1/messages").status_code == 200
    assert open_server.get("/api/v1/messages").status_code == 200
    assert open_server.get("/api/v1/mailboxes/open").status_code == 200


@pytest.fixture
def locked_server(
    start_capture_server: Callable[..., CaptureServer], store: MessageStore
) -> Iterator[httpx.Client]:
    """A server with ``--ui-auth``, holding the same mailboxes."""
    fill(store)
    server = start_capture_server(credentials=ADMIN)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


ADMIN_AUTH = (ADMIN.username, ADMIN.password)


@pytest.mark.parametrize("path", PATHS)
def test_the_ui_auth_user_opens_every_mailbox(locked_server: httpx.Client, path: str) -> None:
    assert status(locked_server, path, ADMIN_AUTH).status_code == 200
    assert status(locked_server, path.replace("ci", "open"), ADMIN_AUTH).status_code == 200


@pytest.mark.parametrize("path", PATHS)
def test_the_own_password_opens_its_mailbox_under_ui_auth(
    locked_server: httpx.Client, path: str
) -> None:
    assert status(locked_server, path, OWN).status_code == 200


def test_the_own_password_opens_nothing_else(locked_server: httpx.Client) -> None:
    for path in ("/api/v1/messages", "/", "/api/v1/mailboxes", "/m/other/api/v1/messages"):
        answer = locked_server.get(path, auth=OWN)
        assert answer.status_code == 401, path
        assert answer.headers["WWW-Authenticate"] == CHALLENGE
    # A mailbox without a password is the ui-auth user's, whatever user name is offered.
    assert locked_server.get("/m/open/api/v1/messages", auth=("open", "x")).status_code == 401
    assert locked_server.get("/m/open/api/v1/messages").status_code == 401


def test_under_ui_auth_a_stranger_cannot_tell_which_mailboxes_exist(
    locked_server: httpx.Client,
) -> None:
    assert locked_server.get("/m/nope/api/v1/messages").status_code == 401
    assert locked_server.get("/m/nope/api/v1/messages", auth=("nope", "x")).status_code == 401
    assert locked_server.get("/m/nope/api/v1/messages", auth=ADMIN_AUTH).status_code == 404


def test_the_ui_auth_user_sees_every_mailbox_listed(locked_server: httpx.Client) -> None:
    listed = locked_server.get("/api/v1/mailboxes", auth=ADMIN_AUTH).json()["Mailboxes"]

    assert [m["Name"] for m in listed] == ["default", "ci", "open", "other"]
    assert [m["HasPassword"] for m in listed] == [False, True, False, True]
