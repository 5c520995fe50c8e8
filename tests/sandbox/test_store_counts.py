"""A query matching more messages than a store keeps ids of still pages and counts exactly as
new mail comes in, in SQLite and in PostgreSQL.

The store remembers each recent query's counts (and, for up to ``KEPT_IDS`` matches, their
ids) and counts only what is new the next time (mail_sandbox.store.match_cache); past that
it pages by the index's own order. The answers are checked against a fresh store on the same
file or database, which remembers nothing. How remembered counts follow every kind of change
is part of every store's contract (``store_contract/test_contract_counts.py``).
"""

from __future__ import annotations

import pytest
from store_contract.contract_mail import answers

from mail_sandbox.store import MessageStore, PostgresStore, SQLiteStore
from mail_sandbox.store.match_cache import KEPT_IDS


def message(subject: str, to: str) -> bytes:
    headers = f"From: App <app@example.com>\r\nTo: {to}\r\nSubject: {subject}\r\n"
    return f"{headers}\r\nbody of {subject}\r\n".encode()


def add_many(store: MessageStore, count: int, *, first: int = 0, to: str = "") -> list[str]:
    futures = [
        store.add(message(f"note {n}", to or f"user{n}@example.org"), "app@example.com", [])
        for n in range(first, first + count)
    ]
    return [future.result(timeout=10) for future in futures]


@pytest.fixture(params=["sqlite", "postgres"])
def where(request, tmp_path):
    """Where a store keeps its mail, and how to open one there."""
    if request.param == "sqlite":
        return str(tmp_path / "mail.db"), SQLiteStore
    return request.getfixturevalue("postgres_url"), PostgresStore


@pytest.fixture()
def store(where):
    location, kind = where
    with kind(location, max_messages=0) as store:
        yield store


def test_a_query_matching_more_than_it_keeps_still_pages_and_counts_exactly(store, where):
    add_many(store, KEPT_IDS + 30, to="everyone@example.org")
    first = answers(store, "to:everyone", 0, 50)
    assert first[2] == KEPT_IDS + 30
    add_many(store, 3, first=KEPT_IDS + 30, to="everyone@example.org")
    again = answers(store, "to:everyone", 0, 50)
    assert again[2] == KEPT_IDS + 33
    assert again[4][3:] == first[4][:47]
    location, kind = where
    with kind(location, max_messages=0) as fresh:
        assert answers(fresh, "to:everyone", 1000, 50) == answers(store, "to:everyone", 1000, 50)
