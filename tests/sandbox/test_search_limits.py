"""Search queries past the length and term limits are refused with a 400 that names the limit,
whichever endpoint they reach, and a query at the limits still finds what it should."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from mail_sandbox.store import MessageStore
from mail_sandbox.store.search import MAX_QUERY_LENGTH, MAX_SHORT_TERMS, MAX_TERMS

TOO_LONG = "abc" * (MAX_QUERY_LENGTH // 3 + 1)
TOO_MANY = " ".join(f"word{i}" for i in range(MAX_TERMS + 1))
TOO_MANY_SHORT = " ".join(f"-{chr(97 + i)}b" for i in range(MAX_SHORT_TERMS + 1))


@pytest.fixture
def api(web_server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web_server.url, timeout=30) as client:
        yield client


def add(store: MessageStore, subject: str) -> str:
    msg = EmailMessage()
    msg["From"] = "app@example.com"
    msg["To"] = "dev@example.com"
    msg["Subject"] = subject
    msg.set_content("hello there")
    return store.add(msg.as_bytes(), "app@example.com", ["dev@example.com"]).result(timeout=10)


@pytest.mark.parametrize(
    ("query", "says"),
    [
        (TOO_LONG, f"at most {MAX_QUERY_LENGTH} are allowed"),
        (TOO_MANY, f"{MAX_TERMS + 1} terms; at most {MAX_TERMS}"),
        (TOO_MANY_SHORT, "shorter than 3 characters"),
    ],
    ids=["length", "terms", "short-words"],
)
def test_every_search_endpoint_refuses_a_query_past_a_limit_and_changes_nothing(
    web_server: Any, api: httpx.Client, query: str, says: str
) -> None:
    store: MessageStore = web_server.store
    kept = add(store, "keep me")
    replies = [
        api.get("/api/v1/search", params={"query": query}),
        api.delete("/api/v1/search", params={"query": query}),
        api.put("/api/v1/messages", json={"Search": query, "Read": True}),
        api.get("/api/v1/wait", params={"since": "", "timeout": 5, "query": query}),
    ]
    for reply in replies:
        assert reply.status_code == 400, reply.text
        assert says in reply.json()["Error"]
    page = store.list()
    assert [m.id for m in page.messages] == [kept]
    assert page.messages[0].read is False


def test_a_query_at_the_limits_finds_the_right_message(web_server: Any, api: httpx.Client) -> None:
    store: MessageStore = web_server.store
    add(store, "alpha bravo charlie delta echo foxtrot")
    wanted = add(store, "alpha bravo charlie delta echo foxtrot golf hotel")
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "-zulu"]
    query = " ".join(words[:MAX_TERMS])
    assert len(query) <= MAX_QUERY_LENGTH
    reply = api.get("/api/v1/search", params={"query": query})
    assert reply.status_code == 200, reply.text
    found = reply.json()
    assert [m["ID"] for m in found["messages"]] == [wanted]
    assert found["messages_count"] == 1


def test_a_repeated_term_counts_once(web_server: Any, api: httpx.Client) -> None:
    store: MessageStore = web_server.store
    wanted = add(store, "alpha")
    query = " ".join(["alpha"] * (MAX_TERMS + 1))
    reply = api.get("/api/v1/search", params={"query": query})
    assert reply.status_code == 200, reply.text
    assert [m["ID"] for m in reply.json()["messages"]] == [wanted]


def test_several_negated_words_each_exclude_their_matches(
    web_server: Any, api: httpx.Client
) -> None:
    store: MessageStore = web_server.store
    plain = add(store, "alpha only")
    add(store, "alpha golf")
    add(store, "alpha hotel")
    reply = api.get("/api/v1/search", params={"query": "alpha -golf -hotel"})
    assert reply.status_code == 200, reply.text
    assert [m["ID"] for m in reply.json()["messages"]] == [plain]
