"""Read flags: by ID, for everything, and by search."""

from __future__ import annotations

from contract_mail import add_many, found


def test_set_read_by_ids_and_for_all(store):
    given = add_many(store, [f"m{i}" for i in range(4)])

    assert store.set_read([given[0], given[1], "unknown"], True) == 2
    assert store.set_read([given[0]], True) == 0
    assert store.counts() == (4, 2)
    assert store.summary(given[0]).read is True
    assert store.summary(given[2]).read is False
    assert store.set_read([], True) == 0
    assert store.set_read(None, True) == 2
    assert store.counts() == (4, 0)
    assert store.set_read(None, False) == 4
    page = store.search("is:unread")
    assert (page.unread, page.matched_unread) == (4, 4)


def test_a_message_flagged_twice_in_one_call_changes_once(store):
    given = add_many(store, ["m0", "m1"])

    assert store.set_read([given[0], given[0]], True) == 1
    assert store.set_read([given[0]], False) == 1
    assert store.counts() == (2, 2)


def test_flags_show_in_the_list_and_search(store):
    given = add_many(store, ["m0", "m1", "m2"])
    store.set_read([given[1]], True)

    page = store.list()
    assert [s.read for s in page.messages] == [False, True, False]
    assert (page.total, page.unread) == (3, 2)
    assert found(store, "is:read") == [given[1]]
    assert found(store, "is:unread") == [given[2], given[0]]


def test_set_read_matching_flags_only_what_the_query_finds(store):
    given = add_many(store, ["invoice 1", "invoice 2", "welcome", "invoice 3"])

    assert store.set_read_matching("subject:invoice", True) == 3
    assert store.set_read_matching("subject:invoice", True) == 0
    assert store.counts() == (4, 1)
    assert found(store, "is:unread") == [given[2]]
    assert store.set_read_matching("-subject:welcome", False) == 3
    assert store.set_read_matching("subject:nothing-like-this", True) == 0
    assert store.counts() == (4, 4)
