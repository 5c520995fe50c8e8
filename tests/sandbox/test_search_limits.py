"""Search queries past the length and term limits are refused with a 400 that names the limit,
whichever endpoint they reach, and a query at the limits still finds what it should."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from typing import Any

import pytest

from sandbox.store import MessageStore
from sandbox.store.search import MAX_QUERY_LENGTH, MAX_SHORT_TERMS, MAX_TERMS

TOO_LONG = "abc" * (MAX_QUERY_LENGTH // 3 + 1)
TOO_MANY = " ".join(f"word{i}" for i in range(MAX_TERMS + 1))
TOO_MANY_SHORT = " ".join(f"-{chr(97 + i)}b" for i in range(MAX_SHORT_TERMS + 1))


def call(base: str, method: str, path: str, data: object = None) -> tuple[int, Any]:
    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(
        base + path, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def add(store: MessageStore, subject: str) -> str:
    msg = EmailMessage()
    msg["From"] = "app@example.com"
    msg["To"] = "dev@example.com"
    msg["Subject"] = subject
    msg.set_content("hello there")
    return store.add(msg.as_bytes(), "app@example.com", ["dev@example.com"]).result(timeout=10)


def q(query: str) -> str:
    return urllib.parse.quote(query)


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
    web_server: Any, query: str, says: str
) -> None:
    store: MessageStore = web_server.store
    kept = add(store, "keep me")
    base = web_server.url
    replies = [
        call(base, "GET", f"/api/v1/search?query={q(query)}"),
        call(base, "DELETE", f"/api/v1/search?query={q(query)}"),
        call(base, "PUT", "/api/v1/messages", {"Search": query, "Read": True}),
        call(base, "GET", f"/api/v1/wait?since=&timeout=5&query={q(query)}"),
    ]
    for status, body in replies:
        assert status == 400, body
        assert says in body["Error"]
    page = store.list()
    assert [m.id for m in page.messages] == [kept]
    assert page.messages[0].read is False


def test_a_query_at_the_limits_finds_the_right_message(web_server: Any) -> None:
    store: MessageStore = web_server.store
    add(store, "alpha bravo charlie delta echo foxtrot")
    wanted = add(store, "alpha bravo charlie delta echo foxtrot golf hotel")
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "-zulu"]
    query = " ".join(words[:MAX_TERMS])
    assert len(query) <= MAX_QUERY_LENGTH
    status, body = call(web_server.url, "GET", f"/api/v1/search?query={q(query)}")
    assert status == 200, body
    found = json.loads(body)
    assert [m["ID"] for m in found["messages"]] == [wanted]
    assert found["messages_count"] == 1


def test_a_repeated_term_counts_once(web_server: Any) -> None:
    store: MessageStore = web_server.store
    wanted = add(store, "alpha")
    query = " ".join(["alpha"] * (MAX_TERMS + 1))
    status, body = call(web_server.url, "GET", f"/api/v1/search?query={q(query)}")
    assert status == 200, body
    assert [m["ID"] for m in json.loads(body)["messages"]] == [wanted]


def test_several_negated_words_each_exclude_their_matches(web_server: Any) -> None:
    store: MessageStore = web_server.store
    plain = add(store, "alpha only")
    add(store, "alpha golf")
    add(store, "alpha hotel")
    status, body = call(web_server.url, "GET", f"/api/v1/search?query={q('alpha -golf -hotel')}")
    assert status == 200, body
    assert [m["ID"] for m in json.loads(body)["messages"]] == [plain]
