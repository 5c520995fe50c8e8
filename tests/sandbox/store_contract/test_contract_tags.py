"""Tags: from the X-Tags header, set, renamed and deleted, and the errors for each."""

from __future__ import annotations

import pytest
from contract_mail import add, add_many, found, message

from mail_sandbox.store import NoSuchMessageError, NoSuchTagError, TagExistsError


def tags_of(store, message_id: str) -> list[str]:
    return store.summary(message_id).tags


def test_x_tags_headers_tag_messages_and_all_tags_sorts_them_ignoring_case(store):
    first = add(store, message("a", tags="urgent, beta"))
    second = add(store, message("b", tags="Alpha, URGENT"))
    add(store, message("c", tags="Zulu"))
    add(store, message("d"))
    store.set_read([store.latest_id()], True)

    assert store.counts() == (4, 3)
    assert store.all_tags() == ["Alpha", "beta", "urgent", "Zulu"]
    assert tags_of(store, first) == ["beta", "urgent"]
    # A header's tag already in use, in another case, is that tag, spelled as in use.
    assert tags_of(store, second) == ["Alpha", "urgent"]
    assert found(store, "tag:URGENT") == [second, first]


def test_a_header_tag_in_another_case_reads_the_same_before_and_after_indexing(store):
    add(store, message("a", tags="Urgent"))
    assert [s.tags for s in store.list().messages] == [["Urgent"]]
    later = store.add(message("b", tags="URGENT"), "alice@example.com", ["bob@example.org"])
    # Read at once (perhaps before indexing) and again once listed: one spelling throughout.
    first_read = tags_of(store, later.result(timeout=30))

    assert store.list().messages[0].tags == ["Urgent"]
    assert first_read == ["Urgent"]
    assert tags_of(store, later.result()) == ["Urgent"]
    assert store.all_tags() == ["Urgent"]


def test_set_tags_replaces_the_tags_of_the_given_messages(store):
    first = add(store, message("a", tags="old"))
    second = add(store, message("b", tags="old, keep"))
    third = add(store, message("c", tags="old"))

    assert store.set_tags([first, second], ["new", "other"]) == 2

    assert tags_of(store, first) == ["new", "other"]
    assert tags_of(store, second) == ["new", "other"]
    assert tags_of(store, third) == ["old"]
    assert store.all_tags() == ["new", "old", "other"]
    assert found(store, "tag:new") == [second, first]
    assert found(store, "tag:old") == [third]
    assert found(store, "tag:keep") == []
    assert [s.tags for s in store.list().messages] == [["old"], ["new", "other"], ["new", "other"]]


def test_set_tags_without_tags_clears_them(store):
    tagged = add(store, message("a", tags="one, two"))

    assert store.set_tags([tagged], []) == 1
    assert tags_of(store, tagged) == []
    assert store.all_tags() == []
    assert found(store, "is:tagged") == []


def test_a_tag_given_in_another_case_takes_the_spelling_in_use(store):
    first = add(store, message("a", tags="Urgent"))
    second = add(store, message("b"))

    assert store.set_tags([second], ["URGENT", "urgent", "Fresh"]) == 1
    assert tags_of(store, second) == ["Fresh", "Urgent"]
    assert store.all_tags() == ["Fresh", "Urgent"]
    assert found(store, "tag:urgent") == [second, first]


def test_set_tags_counts_each_message_once(store):
    tagged = add(store, message("a"))

    assert store.set_tags([tagged, tagged], ["t"]) == 1
    assert tags_of(store, tagged) == ["t"]


def test_set_tags_on_an_unknown_message_changes_nothing(store):
    known = add(store, message("a", tags="before"))

    with pytest.raises(NoSuchMessageError) as raised:
        store.set_tags([known, "unknown-1", "unknown-2"], ["after"])

    assert raised.value.ids == ["unknown-1", "unknown-2"]
    assert "unknown-1" in str(raised.value)
    assert tags_of(store, known) == ["before"]
    assert store.all_tags() == ["before"]


def test_rename_a_tag_everywhere(store):
    first = add(store, message("a", tags="orders, keep"))
    second = add(store, message("b", tags="orders"))
    other = add(store, message("c", tags="keep"))

    assert store.rename_tag("orders", "sales") == 2

    assert store.all_tags() == ["keep", "sales"]
    assert tags_of(store, first) == ["keep", "sales"]
    assert tags_of(store, second) == ["sales"]
    assert tags_of(store, other) == ["keep"]
    assert found(store, "tag:sales") == [second, first]
    assert found(store, "tag:orders") == []


def test_rename_changing_only_case(store):
    tagged = add(store, message("a", tags="urgent"))

    assert store.rename_tag("URGENT", "Urgent") == 1
    assert store.all_tags() == ["Urgent"]
    assert tags_of(store, tagged) == ["Urgent"]


def test_rename_of_an_unused_tag_is_no_such_tag(store):
    tagged = add(store, message("a", tags="real"))

    with pytest.raises(NoSuchTagError, match="ghost"):
        store.rename_tag("ghost", "other")
    assert store.all_tags() == ["real"]
    assert tags_of(store, tagged) == ["real"]


def test_rename_onto_a_tag_in_use_is_refused(store):
    first = add(store, message("a", tags="orders"))
    second = add(store, message("b", tags="sales"))

    with pytest.raises(TagExistsError, match="SALES"):
        store.rename_tag("orders", "SALES")
    assert tags_of(store, first) == ["orders"]
    assert tags_of(store, second) == ["sales"]


def test_delete_a_tag_keeps_the_messages(store):
    first, second = (add(store, message(s, tags="gone, stays")) for s in ("a", "b"))

    assert store.delete_tag("GONE") == 2

    assert store.all_tags() == ["stays"]
    assert tags_of(store, first) == ["stays"]
    assert store.counts() == (2, 2)
    assert found(store, "tag:gone") == []
    assert found(store, "tag:stays") == [second, first]
    with pytest.raises(NoSuchTagError, match="gone"):
        store.delete_tag("gone")


def test_tags_on_many_messages(store):
    given = add_many(store, [f"m{i}" for i in range(30)])

    assert store.set_tags(given[::2], ["even"]) == 15
    assert len(found(store, "tag:even")) == 15
    assert store.rename_tag("even", "pair") == 15
    assert store.delete_tag("pair") == 15
    assert store.all_tags() == []
