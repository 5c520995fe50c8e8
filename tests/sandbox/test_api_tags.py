"""Tags: set by the ``X-Tags`` header of incoming mail and through Mailpit's tag endpoints.

Every change is checked where a user sees it: the message's ``Tags``, ``GET /api/v1/tags``,
``tag:`` search and the tag counts of ``/api/v1/info``.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import httpx
import pytest

from mail_sandbox.server import CaptureServer


def send(server: CaptureServer, subject: str, tags: str | None = None) -> str:
    """Send a message over SMTP (tagged with ``X-Tags`` when given); returns its ID."""
    email = EmailMessage()
    email["From"] = "app@example.com"
    email["To"] = "ann@example.com"
    email["Subject"] = subject
    if tags is not None:
        email["X-Tags"] = tags
    email.set_content("hello\n")
    with smtplib.SMTP(server.smtp.host, server.smtp.port, timeout=10) as client:
        client.send_message(email)
    return server.store.latest_id()


@pytest.fixture
def api(capture_server: CaptureServer) -> httpx.Client:
    """An HTTP client of the capture server."""
    return httpx.Client(base_url=capture_server.url, timeout=10)


def tags_of(api: httpx.Client, message_id: str) -> list[str]:
    """The tags the API shows on one message."""
    return api.get(f"/api/v1/message/{message_id}").json()["Tags"]


def tagged(api: httpx.Client, tag: str) -> list[str]:
    """IDs of the messages a ``tag:`` search finds, newest first."""
    query = f'tag:"{tag}"' if " " in tag else f"tag:{tag}"
    return [m["ID"] for m in api.get("/api/v1/search", params={"query": query}).json()["messages"]]


def test_x_tags_header_sets_cleaned_tags(api: httpx.Client, capture_server: CaptureServer) -> None:
    message_id = send(capture_server, "Welcome", tags="Onboarding, urgent, onboarding, bad/tag!")

    assert tags_of(api, message_id) == ["badtag", "Onboarding", "urgent"]
    assert api.get("/api/v1/tags").json() == ["badtag", "Onboarding", "urgent"]
    assert tagged(api, "urgent") == [message_id]
    listing = api.get("/api/v1/messages").json()
    assert listing["tags"] == ["badtag", "Onboarding", "urgent"]
    assert listing["messages"][0]["Tags"] == ["badtag", "Onboarding", "urgent"]


def test_set_tags_replaces_them_on_the_given_messages(
    api: httpx.Client, capture_server: CaptureServer
) -> None:
    first = send(capture_server, "First", tags="old")
    second = send(capture_server, "Second")
    untouched = send(capture_server, "Third", tags="keep")

    reply = api.put(
        "/api/v1/tags", json={"IDs": [first, second], "Tags": ["Billing", "2026 Q1", "x/y"]}
    )

    assert (reply.status_code, reply.text) == (200, "ok")
    assert tags_of(api, first) == ["2026 Q1", "Billing", "xy"]
    assert tags_of(api, second) == ["2026 Q1", "Billing", "xy"]
    assert tags_of(api, untouched) == ["keep"]
    assert api.get("/api/v1/tags").json() == ["2026 Q1", "Billing", "keep", "xy"]
    assert tagged(api, "old") == []
    assert tagged(api, "2026 Q1") == [second, first]
    info = api.get("/api/v1/info").json()
    assert info["Tags"] == {"2026 Q1": 2, "Billing": 2, "keep": 1, "xy": 2}


@pytest.mark.parametrize("body", [{"Tags": []}, {}], ids=["empty-tags", "no-tags"])
def test_set_tags_without_tags_clears_them(
    api: httpx.Client, capture_server: CaptureServer, body: dict
) -> None:
    message_id = send(capture_server, "Welcome", tags="one, two")

    reply = api.put("/api/v1/tags", json={"IDs": [message_id], **body})

    assert reply.text == "ok"
    assert tags_of(api, message_id) == []
    assert api.get("/api/v1/tags").json() == []
    assert api.get("/api/v1/search", params={"query": "is:tagged"}).json()["messages"] == []


def test_a_new_tag_takes_the_spelling_already_in_use(
    api: httpx.Client, capture_server: CaptureServer
) -> None:
    first = send(capture_server, "First", tags="Billing")
    second = send(capture_server, "Second")

    api.put("/api/v1/tags", json={"IDs": [second], "Tags": ["BILLING"]})

    assert tags_of(api, second) == ["Billing"]
    assert api.get("/api/v1/tags").json() == ["Billing"]
    assert tagged(api, "billing") == [second, first]


def test_set_tags_on_an_unknown_message_is_404_and_changes_nothing(
    api: httpx.Client, capture_server: CaptureServer
) -> None:
    message_id = send(capture_server, "Welcome", tags="keep")

    reply = api.put("/api/v1/tags", json={"IDs": [message_id, "no-such-id"], "Tags": ["new"]})

    assert reply.status_code == 404
    assert "no-such-id" in reply.json()["Error"]
    assert tags_of(api, message_id) == ["keep"]


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"Tags": ["x"]}, "IDs is required"),
        ({"IDs": "abc", "Tags": ["x"]}, "IDs must be a list"),
        ({"IDs": ["abc"], "Tags": "x"}, "Tags must be a list"),
        ({"IDs": ["abc"], "Labels": ["x"]}, "unknown field 'Labels'"),
    ],
)
def test_bad_set_tags_request_is_400(api: httpx.Client, body: dict, complaint: str) -> None:
    reply = api.put("/api/v1/tags", json=body)

    assert reply.status_code == 400
    assert complaint in reply.json()["Error"]


def test_rename_a_tag_everywhere(api: httpx.Client, capture_server: CaptureServer) -> None:
    first = send(capture_server, "First", tags="Work Stuff, other")
    second = send(capture_server, "Second", tags="work stuff")

    # Clients URL-encode the tag in the path, as the npm client does.
    reply = api.put("/api/v1/tags/Work%20Stuff", json={"Name": "Projects (2026)"})

    assert (reply.status_code, reply.text) == (200, "ok")
    assert tags_of(api, first) == ["other", "Projects 2026"]
    assert tags_of(api, second) == ["Projects 2026"]
    assert tagged(api, "Work Stuff") == []
    assert tagged(api, "Projects 2026") == [second, first]
    # The full-text index follows: a free word finds the new name, not the old one.
    found = api.get("/api/v1/search", params={"query": "Projects"}).json()["messages"]
    assert {m["ID"] for m in found} == {first, second}
    assert api.get("/api/v1/search", params={"query": "Stuff"}).json()["messages"] == []


def test_rename_to_a_tag_in_use_is_400(api: httpx.Client, capture_server: CaptureServer) -> None:
    message_id = send(capture_server, "First", tags="alpha, beta")

    reply = api.put("/api/v1/tags/alpha", json={"Name": "beta"})

    assert reply.status_code == 400
    assert reply.json()["Error"] == "tag already exists: beta"
    assert tags_of(api, message_id) == ["alpha", "beta"]


def test_rename_changing_only_case(api: httpx.Client, capture_server: CaptureServer) -> None:
    message_id = send(capture_server, "First", tags="billing")

    assert api.put("/api/v1/tags/billing", json={"Name": "Billing"}).text == "ok"

    assert tags_of(api, message_id) == ["Billing"]


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("/api/v1/tags/missing", {"Name": "new"}, 404, "tag not found: missing"),
        ("/api/v1/tags/alpha", {"Name": "!!!"}, 400, "invalid tag name: !!!"),
        ("/api/v1/tags/alpha", {}, 400, "Name is required"),
        ("/api/v1/tags/alpha", {"Name": 5}, 400, "Name is required"),
    ],
)
def test_bad_rename_is_refused(
    api: httpx.Client,
    capture_server: CaptureServer,
    path: str,
    body: dict,
    status: int,
    error: str,
) -> None:
    message_id = send(capture_server, "First", tags="alpha")

    reply = api.put(path, json=body)

    assert reply.status_code == status
    assert error in reply.json()["Error"]
    assert tags_of(api, message_id) == ["alpha"]


def test_delete_a_tag_keeps_the_messages(api: httpx.Client, capture_server: CaptureServer) -> None:
    first = send(capture_server, "First", tags="alpha, beta")
    second = send(capture_server, "Second", tags="Alpha")

    reply = api.delete("/api/v1/tags/alpha")

    assert (reply.status_code, reply.text) == (200, "ok")
    assert tags_of(api, first) == ["beta"]
    assert tags_of(api, second) == []
    assert api.get("/api/v1/messages").json()["total"] == 2
    assert api.get("/api/v1/tags").json() == ["beta"]
    again = api.delete("/api/v1/tags/alpha")
    assert again.status_code == 404
    assert again.json()["Error"] == "tag not found: alpha"
