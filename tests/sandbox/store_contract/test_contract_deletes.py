"""Deletes by ID, of everything, and by search: what goes is gone from every view."""

from __future__ import annotations

from contract_mail import add, add_many, found, message, page_ids, subjects


def test_delete_by_ids_and_all(store):
    given = [add(store, message(f"subject {i}", tags="t")) for i in range(4)]

    assert store.delete([given[1], "unknown"]) == 1
    assert store.delete([given[1]]) == 0
    assert store.delete([]) == 0
    assert subjects(store) == ["subject 3", "subject 2", "subject 0"]
    assert store.raw(given[1]) is None
    assert store.summary(given[1]) is None
    assert store.search("subject 1").matched == 0
    assert store.counts() == (3, 3)
    assert store.delete(None) == 3
    assert store.counts() == (0, 0)
    assert store.list().messages == []
    assert store.all_tags() == []
    assert store.latest_id() is None
    assert store.search("subject").matched == 0


def test_the_search_works_again_after_everything_was_deleted(store):
    add_many(store, ["subject before", "subject also before"])
    store.delete(None)

    again = add(store, message("subject after", tags="fresh"))
    assert found(store, "subject") == [again]
    assert found(store, "tag:fresh") == [again]
    assert page_ids(store.list()) == [again]


def test_a_message_given_twice_is_deleted_once(store):
    given = add_many(store, ["m0", "m1"])

    assert store.delete([given[0], given[0]]) == 1
    assert page_ids(store.list()) == [given[1]]


def test_delete_matching_deletes_only_what_the_query_finds(store):
    given = add_many(store, ["invoice 1", "welcome", "invoice 2", "reminder"])
    store.set_read([given[3]], True)

    assert store.delete_matching("subject:invoice") == 2
    assert subjects(store) == ["reminder", "welcome"]
    assert store.raw(given[0]) is None
    assert store.summary(given[2]) is None
    assert store.delete_matching("subject:invoice") == 0
    assert store.delete_matching("is:read") == 1
    assert page_ids(store.list()) == [given[1]]
    assert store.counts() == (1, 1)
    assert store.delete_matching("-subject:welcome") == 0
    assert store.delete_matching("welcome") == 1
    assert store.latest_id() is None
