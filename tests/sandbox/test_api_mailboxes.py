"""``/api/v1/mailboxes``: creating, listing, reading and deleting mailboxes over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from mail_sandbox.store import MessageStore
from mail_sandbox.web.openapi import description

MAILBOX_KEYS = {"Name", "Messages", "Unread", "Created", "Expires", "TTL", "HasPassword"}


@pytest.fixture
def api(web_server) -> httpx.Client:
    """An HTTP client of the web app."""
    with httpx.Client(base_url=web_server.url, timeout=10) as client:
        yield client


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_a_created_mailbox_is_listed_read_and_deleted(api: httpx.Client) -> None:
    created = api.post("/api/v1/mailboxes", json={"Name": "ci-4711", "TTL": 3600})

    assert created.status_code == 200
    mailbox = created.json()
    assert set(mailbox) == MAILBOX_KEYS
    assert mailbox["Name"] == "ci-4711"
    assert (mailbox["Messages"], mailbox["Unread"], mailbox["HasPassword"]) == (0, 0, False)
    assert mailbox["TTL"] == 3600
    assert when(mailbox["Expires"]) - when(mailbox["Created"]) == timedelta(seconds=3600)

    listed = api.get("/api/v1/mailboxes").json()["Mailboxes"]
    assert [m["Name"] for m in listed] == ["default", "ci-4711"]
    assert listed[0]["TTL"] is None and listed[0]["Expires"] is None
    assert api.get("/api/v1/mailboxes/ci-4711").json() == mailbox

    deleted = api.delete("/api/v1/mailboxes/ci-4711")
    assert (deleted.status_code, deleted.text) == (200, "ok")
    assert [m["Name"] for m in api.get("/api/v1/mailboxes").json()["Mailboxes"]] == ["default"]
    gone = api.get("/api/v1/mailboxes/ci-4711")
    assert (gone.status_code, gone.json()) == (404, {"Error": "no mailbox named ci-4711"})


def test_counts_follow_the_mailbox_mail(api: httpx.Client, store: MessageStore) -> None:
    api.post("/api/v1/mailboxes", json={"name": "counted"})  # field names in any case
    store.mailbox("counted").add(b"Subject: one\r\n\r\nhi\r\n", "a@example.com", ["b@x"]).result(10)
    store.mailbox("counted").add(b"Subject: two\r\n\r\nhi\r\n", "a@example.com", ["b@x"]).result(10)

    mailbox = api.get("/api/v1/mailboxes/counted").json()

    assert (mailbox["Messages"], mailbox["Unread"]) == (2, 2)
    assert api.get("/api/v1/mailboxes/default").json()["Messages"] == 0


def test_deleting_a_mailbox_deletes_its_mail_only(api: httpx.Client, store: MessageStore) -> None:
    store.create_mailbox("doomed")
    store.mailbox("doomed").add(b"Subject: x\r\n\r\nhi\r\n", "a@example.com", ["b@x"]).result(10)
    store.add(b"Subject: kept\r\n\r\nhi\r\n", "a@example.com", ["b@x"]).result(10)

    assert api.delete("/api/v1/mailboxes/doomed").status_code == 200

    assert api.get("/m/doomed/api/v1/messages").status_code == 404
    assert [m["Subject"] for m in api.get("/api/v1/messages").json()["messages"]] == ["kept"]


def test_a_taken_name_is_409(api: httpx.Client) -> None:
    assert api.post("/api/v1/mailboxes", json={"Name": "twice"}).status_code == 200

    again = api.post("/api/v1/mailboxes", json={"Name": "twice", "Password": "other"})
    default = api.post("/api/v1/mailboxes", json={"Name": "default"})

    assert (again.status_code, again.json()) == (
        409,
        {"Error": "a mailbox named twice exists already"},
    )
    assert default.status_code == 409
    assert api.get("/api/v1/mailboxes/twice").json()["HasPassword"] is False


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"Name": "a/b"}, "a mailbox name is"),
        ({"Name": ".."}, "a mailbox name is"),
        ({"Name": ""}, "a mailbox name is"),
        ({"Name": "x" * 65}, "a mailbox name is"),
        ({"Name": "ok", "TTL": 0}, "TTL"),
        ({"Name": "ok", "TTL": -5}, "TTL"),
        ({"Name": "ok", "TTL": "60"}, "TTL must be a whole number"),
        ({"Name": "ok", "TTL": 1.5}, "TTL must be a whole number"),
        ({"Name": "ok", "TTL": True}, "TTL must be a whole number"),
        ({"Name": "ok", "TTL": 10**30}, "TTL must be at most"),
        ({"Name": "ok", "Password": ""}, "Password must be a non-empty string"),
        ({"Name": "ok", "Password": 7}, "Password must be a non-empty string"),
        ({"Name": "ok", "Password": "a\nb"}, "control characters"),
        ({"Name": 7}, "Name must be a string"),
        ({}, "Name is required"),
        ({"Name": "ok", "Colour": "red"}, "unknown field 'Colour'"),
        (["ok"], "must be a JSON object"),
    ],
)
def test_bad_requests_are_400_and_create_nothing(
    api: httpx.Client, body: object, says: str
) -> None:
    answer = api.post("/api/v1/mailboxes", json=body)

    assert answer.status_code == 400
    assert says in answer.json()["Error"]
    assert [m["Name"] for m in api.get("/api/v1/mailboxes").json()["Mailboxes"]] == ["default"]


def test_a_body_that_is_not_json_is_400(api: httpx.Client) -> None:
    answer = api.post("/api/v1/mailboxes", content=b"Name=ok")

    assert answer.status_code == 400
    assert "not valid JSON" in answer.json()["Error"]


def test_a_huge_body_is_refused(api: httpx.Client) -> None:
    answer = api.post("/api/v1/mailboxes", content=b'{"Name": "' + b"x" * 200_000 + b'"}')

    assert answer.status_code == 413
    assert "larger than the limit" in answer.json()["Error"]


def test_unknown_mailboxes_are_404(api: httpx.Client) -> None:
    for answer in (api.get("/api/v1/mailboxes/nope"), api.delete("/api/v1/mailboxes/nope")):
        assert (answer.status_code, answer.json()) == (404, {"Error": "no mailbox named nope"})
    impossible = api.get("/api/v1/mailboxes/..%2F..")
    assert impossible.status_code == 404


def test_default_cannot_be_deleted(api: httpx.Client) -> None:
    answer = api.delete("/api/v1/mailboxes/default")

    assert answer.status_code == 400
    assert "default" in answer.json()["Error"]
    assert api.get("/api/v1/mailboxes/default").status_code == 200


def test_the_list_hides_mailboxes_with_a_password(api: httpx.Client) -> None:
    made = api.post("/api/v1/mailboxes", json={"Name": "secret", "Password": "pw"}).json()
    api.post("/api/v1/mailboxes", json={"Name": "open"})

    listed = [m["Name"] for m in api.get("/api/v1/mailboxes").json()["Mailboxes"]]

    assert made["HasPassword"] is True
    assert listed == ["default", "open"]


def test_the_mailbox_operations_are_described() -> None:
    paths = description()["paths"]

    assert set(paths["/api/v1/mailboxes"]) == {"get", "post"}
    assert set(paths["/api/v1/mailboxes/{Mailbox}"]) == {"get", "delete"}
    assert "409" in paths["/api/v1/mailboxes"]["post"]["responses"]
