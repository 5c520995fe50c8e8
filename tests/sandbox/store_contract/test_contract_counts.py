"""Counts, ``info()``, and the counts of a query asked again and again as the mailbox changes.

A store may remember a query's counts between requests; each answer here is checked against
a model of the mailbox kept by the test, so anything remembered past a change shows.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from contract_mail import WITHIN, add, add_many, answers, message

from mail_sandbox.store import MessageStore


def test_counts_follow_adds_flags_and_deletes(store):
    assert store.counts() == (0, 0)
    given = add_many(store, [f"m{i}" for i in range(5)])
    assert store.counts() == (5, 5)
    store.set_read(given[:2], True)
    assert store.counts() == (5, 3)
    store.delete([given[0], given[4]])
    assert store.counts() == (3, 2)


def test_info_reports_counts_tags_and_deletions(store):
    empty = store.info()
    assert (empty.total, empty.unread, empty.tags, empty.deleted) == (0, 0, {}, 0)
    assert isinstance(empty.location, str) and empty.location

    given = [add(store, message(f"m{i}", tags="a, B")) for i in range(6)]
    store.set_read(given[-1:], True)
    store.set_tags(given[-2:-1], ["a"])
    info = store.info()
    assert (info.total, info.unread) == (6, 5) == store.counts()
    assert info.tags == {"a": 6, "B": 5}
    assert info.deleted == 0

    store.delete(given[-1:])
    store.delete_matching("subject:m0")
    info = store.info()
    assert (info.total, info.unread, info.deleted) == (4, 4, 2)
    assert info.tags == {"a": 4, "B": 3}
    store.delete(None)
    assert store.info().deleted == 6
    assert store.info().tags == {}


def test_info_counts_each_pruned_message_once(new_store):
    store = new_store(max_messages=2)
    for i in range(60):
        add(store, message(f"m{i}"))

    info = store.info()
    assert (info.total, info.deleted) == (2, 58)
    store.delete(None)
    assert store.info().deleted == 60


def test_info_size_covers_what_is_stored(store):
    body = base64.b64encode(os.urandom(300_000)).decode()
    raw = message("big", body=body)
    add(store, raw)

    assert store.info().size >= len(raw)


def note(n: int, to: str = "") -> bytes:
    return message(f"note {n}", body=f"body of note {n}", to=to or f"user{n}@example.org")


@dataclass
class Model:
    """What the mailbox holds, kept by the test: number -> (recipient, read, tags)."""

    notes: dict[int, tuple[str, bool, frozenset[str]]]
    ids: dict[int, str]
    max_messages: int = 0

    def add(self, store: MessageStore, numbers: range, to: str = "") -> None:
        futures = {
            n: store.add(note(n, to), "alice@example.com", ["bob@example.org"]) for n in numbers
        }
        for n, future in futures.items():
            self.ids[n] = future.result(timeout=WITHIN)
            self.notes[n] = (to or f"user{n}@example.org", False, frozenset())
        if self.max_messages:
            for n in sorted(self.notes)[: -self.max_messages]:
                del self.notes[n]

    def matches(self, query: str) -> list[int]:
        """Numbers of the notes ``query`` (one of ``QUERIES``) matches, newest first."""
        rules = {
            "": lambda n, to, read, tags: True,
            "subject:note": lambda n, to, read, tags: True,
            "to:user1": lambda n, to, read, tags: "user1" in to,
            "to:user12@example.org": lambda n, to, read, tags: to == "user12@example.org",
            "is:unread": lambda n, to, read, tags: not read,
            "is:read": lambda n, to, read, tags: read,
            "-subject:7": lambda n, to, read, tags: "7" not in str(n),
            "tag:urgent": lambda n, to, read, tags: "urgent" in tags,
        }
        rule = rules[query]
        return [n for n in sorted(self.notes, reverse=True) if rule(n, *self.notes[n])]

    def expected(self, query: str, start: int, limit: int) -> tuple[object, ...]:
        def unread(numbers: list[int]) -> int:
            return sum(not self.notes[n][1] for n in numbers)

        everything, matched = self.matches(""), self.matches(query)
        page = [self.ids[n] for n in matched[start : start + limit]]
        return len(everything), unread(everything), len(matched), unread(matched), page

    def set(self, n: int, *, read: bool | None = None, tags: frozenset[str] | None = None) -> None:
        to, was_read, had = self.notes[n]
        self.notes[n] = (to, was_read if read is None else read, had if tags is None else tags)


QUERIES = ["", "subject:note", "to:user1", "to:user12@example.org", "is:unread", "-subject:7"]


def assert_as_modelled(store, model, queries=QUERIES, *, start: int = 0, limit: int = 20):
    for query in queries:
        assert answers(store, query, start, limit) == model.expected(query, start, limit), query


def test_repeated_queries_count_new_mail_exactly(store):
    model = Model({}, {})
    model.add(store, range(30))
    assert_as_modelled(store, model)
    model.add(store, range(30, 55))
    assert_as_modelled(store, model)
    assert answers(store, "subject:note")[2] == 55
    model.add(store, range(55, 60))
    assert_as_modelled(store, model, start=10)
    assert_as_modelled(store, model, start=50, limit=50)


def test_flags_deletes_and_tags_are_seen_by_repeated_queries(store):
    model = Model({}, {})
    model.add(store, range(40))
    queries = [*QUERIES, "is:read", "tag:urgent"]
    assert_as_modelled(store, model, queries)

    store.set_read([model.ids[n] for n in range(7)], True)
    for n in range(7):
        model.set(n, read=True)
    assert answers(store, "is:unread")[2] == 33
    assert_as_modelled(store, model, queries)

    store.delete([model.ids[n] for n in range(10, 15)])
    for n in range(10, 15):
        del model.notes[n]
    assert answers(store, "subject:note")[2] == 35
    assert_as_modelled(store, model, queries)

    store.set_tags([model.ids[n] for n in range(20, 23)], ["urgent"])
    for n in range(20, 23):
        model.set(n, tags=frozenset({"urgent"}))
    assert answers(store, "tag:urgent")[2] == 3
    assert_as_modelled(store, model, queries)

    store.delete_matching("to:user3")
    for n in [n for n in model.notes if "user3" in model.notes[n][0]]:
        del model.notes[n]
    assert_as_modelled(store, model, queries)

    store.set_read_matching("to:user2", True)
    for n in [n for n in model.notes if "user2" in model.notes[n][0]]:
        model.set(n, read=True)
    assert_as_modelled(store, model, queries, start=5)

    store.set_read(None, True)
    for n in model.notes:
        model.set(n, read=True)
    assert answers(store, "")[1] == 0
    assert_as_modelled(store, model, queries)


def test_pruning_is_seen_by_repeated_queries(new_store):
    store = new_store(max_messages=20)
    model = Model({}, {}, max_messages=20)
    model.add(store, range(15))
    assert answers(store, "subject:note")[2] == 15
    model.add(store, range(15, 30))
    assert answers(store, "subject:note")[2] == 20
    assert answers(store, "")[:2] == (20, 20)
    assert_as_modelled(store, model)


def test_changes_made_by_another_store_on_the_mailbox_are_seen(persistent):
    store = persistent()
    given = add_many(store, [f"m{i}" for i in range(12)])
    assert store.search("is:unread").matched == 12

    other = persistent()
    other.set_read(given[:5], True)
    other.delete(given[5:6])
    other.close()

    assert store.search("is:unread").matched == 6
    assert store.counts() == (11, 6)
    assert store.summary(given[5]) is None
