"""Acting on search results: ``DELETE /api/v1/search?query=`` and ``PUT /api/v1/messages``
with ``{"Search": ..., "Read": ...}``, as Mailpit has them."""

from __future__ import annotations

from email.message import EmailMessage

import httpx
import pytest

from mail_sandbox.store import MessageStore


def add(store: MessageStore, subject: str, sender: str = "alice@example.com") -> str:
    """Store a message (no SMTP needed here) and return its ID."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = "bob@example.com"
    email["Subject"] = subject
    email.set_content("hello\n")
    return store.add(email.as_bytes(), sender, ["bob@example.com"]).result(timeout=5)


@pytest.fixture
def api(web_server) -> httpx.Client:
    """An HTTP client of the web app."""
    return httpx.Client(base_url=web_server.url, timeout=10)


def ids(api: httpx.Client) -> list[str]:
    """Every stored message's ID, newest first."""
    return [m["ID"] for m in api.get("/api/v1/messages").json()["messages"]]


def unread(api: httpx.Client) -> list[str]:
    """IDs of the unread messages, newest first."""
    return [m["ID"] for m in api.get("/api/v1/messages").json()["messages"] if not m["Read"]]


def test_delete_by_search_deletes_only_the_matches(api: httpx.Client, store: MessageStore) -> None:
    invoice = add(store, "Invoice 1", sender="billing@shop.example")
    welcome = add(store, "Welcome")
    second_invoice = add(store, "Invoice 2", sender="billing@shop.example")

    reply = api.delete("/api/v1/search", params={"query": "from:billing@shop.example"})

    assert (reply.status_code, reply.text) == (200, "ok")
    assert ids(api) == [welcome]
    assert invoice not in ids(api) and second_invoice not in ids(api)
    assert api.get("/api/v1/info").json()["RuntimeStats"]["MessagesDeleted"] == 2


def test_delete_by_search_matching_nothing_is_ok(api: httpx.Client, store: MessageStore) -> None:
    welcome = add(store, "Welcome")

    reply = api.delete("/api/v1/search", params={"query": "subject:nothing-like-this"})

    assert reply.text == "ok"
    assert ids(api) == [welcome]


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("", "no search query"),
        ("   ", "no search query"),
        ("after:yesterday-ish", "after"),
    ],
    ids=["empty", "blank", "unreadable"],
)
def test_delete_by_bad_search_is_400_and_deletes_nothing(
    api: httpx.Client, store: MessageStore, query: str, error: str
) -> None:
    welcome = add(store, "Welcome")

    reply = api.delete("/api/v1/search", params={"query": query})

    assert reply.status_code == 400
    assert error in reply.json()["Error"]
    assert ids(api) == [welcome]


def test_delete_by_search_without_query_parameter_is_400(
    api: httpx.Client, store: MessageStore
) -> None:
    welcome = add(store, "Welcome")

    reply = api.delete("/api/v1/search")

    assert reply.status_code == 400
    assert ids(api) == [welcome]


def test_mark_read_by_search(api: httpx.Client, store: MessageStore) -> None:
    invoice = add(store, "Invoice", sender="billing@shop.example")
    welcome = add(store, "Welcome")

    reply = api.put("/api/v1/messages", json={"Search": "from:billing", "Read": True})

    assert (reply.status_code, reply.text) == (200, "ok")
    assert unread(api) == [welcome]
    assert invoice not in unread(api)

    api.put("/api/v1/messages", json={"Read": True})
    api.put("/api/v1/messages", json={"Search": "subject:welcome", "Read": False})
    assert unread(api) == [welcome]


def test_mark_read_by_search_from_a_form_body(api: httpx.Client, store: MessageStore) -> None:
    add(store, "Invoice", sender="billing@shop.example")
    welcome = add(store, "Welcome")

    reply = api.put(
        "/api/v1/messages",
        content=b"Search=from%3Abilling&Read=true",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert reply.text == "ok"
    assert unread(api) == [welcome]


def test_ids_and_search_together_are_refused(api: httpx.Client, store: MessageStore) -> None:
    welcome = add(store, "Welcome")

    reply = api.put("/api/v1/messages", json={"IDs": [welcome], "Search": "welcome", "Read": True})

    assert reply.status_code == 400
    assert reply.json()["Error"] == "You may specify either IDs or a search query, not both"
    assert unread(api) == [welcome]


def test_mark_read_by_unreadable_search_is_400(api: httpx.Client, store: MessageStore) -> None:
    welcome = add(store, "Welcome")

    reply = api.put("/api/v1/messages", json={"Search": "larger:lots", "Read": True})

    assert reply.status_code == 400
    assert "larger" in reply.json()["Error"]
    assert unread(api) == [welcome]


def test_delete_messages_still_refuses_a_search(api: httpx.Client, store: MessageStore) -> None:
    # Only PUT takes Search; a DELETE body with it must never widen to "delete everything".
    welcome = add(store, "Welcome")

    reply = api.request("DELETE", "/api/v1/messages", json={"Search": "nothing"})

    assert reply.status_code == 400
    assert ids(api) == [welcome]
