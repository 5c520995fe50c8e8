"""Listing: newest first, pages, ``after=``, unknown IDs, and the newest N kept."""

from __future__ import annotations

import pytest
from contract_mail import WITHIN, add, add_many, found, message, page_ids, subjects

from mail_sandbox import defaults


def test_list_is_newest_first_with_paging_and_latest_id(store):
    assert store.latest_id() is None
    given = add_many(store, [f"m{i}" for i in range(5)])

    page = store.list(start=1, limit=2)
    assert [s.subject for s in page.messages] == ["m3", "m2"]
    assert (page.total, page.unread, page.matched, page.matched_unread, page.start) == (
        5,
        5,
        5,
        5,
        1,
    )
    assert store.latest_id() == given[-1]
    assert store.list(start=10).messages == []
    assert store.list(start=10).total == 5


def test_an_empty_mailbox_lists_nothing(store):
    page = store.list()

    assert (page.total, page.unread, page.matched, page.matched_unread) == (0, 0, 0, 0)
    assert page.messages == []
    assert store.counts() == (0, 0)


def test_page_size_is_capped(store):
    add_many(store, [f"m{i}" for i in range(defaults.MAX_PAGE_SIZE + 1)])

    assert len(store.list(limit=defaults.MAX_PAGE_SIZE * 5).messages) == defaults.MAX_PAGE_SIZE
    assert len(store.search("m", limit=defaults.MAX_PAGE_SIZE * 5).messages) == (
        defaults.MAX_PAGE_SIZE
    )
    assert len(store.list(limit=0).messages) == 1


def test_list_after_an_id_has_only_later_messages(store):
    first, second, third = add_many(store, ["m0", "m1", "m2"])

    page = store.list(after=first)
    assert page_ids(page) == [third, second]
    assert (page.total, page.matched) == (3, 2)
    assert store.list(after=third).messages == []
    assert page_ids(store.list(after=first, start=1, limit=1)) == [second]


@pytest.mark.parametrize("unknown", ["unknown", "", "x" * 500, "../etc", "caf\u00e9"])
def test_list_after_an_unknown_id_is_a_key_error(store, unknown):
    add(store, message("m0"))

    with pytest.raises(KeyError):
        store.list(after=unknown)


def test_list_after_a_deleted_id_is_a_key_error(store):
    first, second = add_many(store, ["m0", "m1"])
    store.delete([first])

    with pytest.raises(KeyError):
        store.list(after=first)
    assert page_ids(store.list()) == [second]


def test_deleting_the_newest_message_does_not_reuse_its_place(store):
    first = add(store, message("first"))
    second = add(store, message("second"))
    store.delete([second])
    assert store.latest_id() == first
    third = add(store, message("third"))

    assert page_ids(store.list(after=first)) == [third]
    assert store.latest_id() == third


def test_summary_and_raw_of_unknown_id_are_none(store):
    add(store, message("x"))

    assert store.summary("nope") is None
    assert store.raw("nope") is None
    assert store.summary("") is None


def test_pruning_keeps_the_newest_messages(new_store):
    store = new_store(max_messages=3)
    given = [add(store, message(f"prune-me {i}", tags=f"t{i}")) for i in range(5)]

    assert subjects(store) == ["prune-me 4", "prune-me 3", "prune-me 2"]
    assert store.counts() == (3, 3)
    assert store.raw(given[0]) is None
    assert store.summary(given[1]) is None
    assert store.summary(given[2]) is not None
    assert found(store, "prune-me") == given[:1:-1]
    assert store.all_tags() == ["t2", "t3", "t4"]
    assert store.latest_id() == given[-1]


def test_pruning_within_one_burst_still_stores_every_message(new_store):
    store = new_store(max_messages=2)
    futures = [store.add(message(f"m{i}"), "a@x.test", ["b@x.test"]) for i in range(20)]
    given = [future.result(timeout=WITHIN) for future in futures]

    assert len(set(given)) == 20
    assert subjects(store) == ["m19", "m18"]
    assert store.latest_id() == given[-1]
    assert store.counts() == (2, 2)


def test_zero_max_messages_keeps_everything(new_store):
    store = new_store(max_messages=0)
    for i in range(30):
        add(store, message(f"m{i}"))

    assert store.counts() == (30, 30)
    assert len(subjects(store)) == 30
