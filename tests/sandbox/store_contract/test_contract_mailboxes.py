"""Mailboxes: named, isolated sets of messages in one store.

Isolation is the point: nothing done through one mailbox reads, counts, flags, tags or
deletes anything of another, and an ID of another mailbox is an unknown ID.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from contract_mail import WITHIN, add, add_many, found, message, subjects

from mail_sandbox.store import (
    MailboxExistsError,
    NoSuchMailboxError,
    NoSuchMessageError,
    NoSuchTagError,
)


@pytest.fixture
def pair(store):
    """Two new mailboxes of ``store``, ``a`` holding one message and ``b`` another."""
    a = store.mailbox(store.create_mailbox("team-a").name)
    b = store.mailbox(store.create_mailbox("team-b").name)
    a_id = add(a, message("for a", body="alpha text", tags="shared"))
    b_id = add(b, message("for b", body="beta text", tags="SHARED"))
    return a, a_id, b, b_id


def test_a_new_mailbox_is_empty_and_listed(store):
    before = datetime.now(UTC) - timedelta(seconds=1)
    info = store.create_mailbox("ci-job.42_x")
    assert (info.name, info.messages, info.unread) == ("ci-job.42_x", 0, 0)
    assert info.created >= before
    assert (info.expires, info.ttl, info.has_password) == (None, None, False)
    assert "ci-job.42_x" in [box.name for box in store.mailboxes()]
    assert store.mailbox("ci-job.42_x").list().total == 0


def test_default_comes_first_then_mailboxes_by_name(store):
    for name in ("zeta", "alpha", "Mid"):
        store.create_mailbox(name)
    names = [box.name for box in store.mailboxes()]
    assert names[0] == "default"
    assert names[1:] == sorted(names[1:])
    assert {"zeta", "alpha", "Mid"} <= set(names)


def test_a_taken_name_is_refused_and_the_mailbox_kept(store):
    box = store.mailbox(store.create_mailbox("taken").name)
    message_id = add(box, message("kept"))
    with pytest.raises(MailboxExistsError):
        store.create_mailbox("taken")
    with pytest.raises(MailboxExistsError):
        store.create_mailbox("default")
    assert [s.id for s in box.list().messages] == [message_id]


@pytest.mark.parametrize(
    "name", ["", "a/b", "a b", "x" * 65, ".", "..", "caf\u00e9", "m\x00", "a\ud800", None, 7]
)
def test_a_name_that_is_not_one_is_refused(store, name):
    with pytest.raises(ValueError, match="mailbox name"):
        store.create_mailbox(name)


def test_the_longest_name_is_taken(store):
    assert store.create_mailbox("x" * 64).name == "x" * 64


@pytest.mark.parametrize("ttl", [0, -5, 1.5, "60", True, 2**62, 10**30])
def test_a_ttl_that_is_not_whole_seconds_is_refused(store, ttl):
    with pytest.raises(ValueError, match="TTL"):
        store.create_mailbox("timed", ttl=ttl)
    assert "timed" not in [box.name for box in store.mailboxes()]


@pytest.mark.parametrize("name", ["nope", "a/../b", "\ud800", "x" * 500])
def test_an_unknown_mailbox_is_no_such_mailbox(store, name):
    with pytest.raises(NoSuchMailboxError):
        store.mailbox(name)
    with pytest.raises(NoSuchMailboxError):
        store.mailbox_info(name)
    with pytest.raises(NoSuchMailboxError):
        store.delete_mailbox(name)


def test_each_mailbox_lists_counts_and_finds_only_its_own(store, pair):
    a, a_id, b, b_id = pair
    default_id = add(store, message("for default", body="alpha text"))
    assert subjects(a) == ["for a"]
    assert subjects(b) == ["for b"]
    assert subjects(store) == ["for default"]
    assert found(a, "alpha") == [a_id]
    assert found(b, "alpha") == []
    assert found(store, "alpha") == [default_id]
    assert a.counts() == (1, 1)
    assert a.latest_id() == a_id
    assert store.latest_id() == default_id


def test_another_mailboxs_id_is_unknown_everywhere(store, pair):
    a, a_id, b, _b_id = pair
    assert b.summary(a_id) is None
    assert b.raw(a_id) is None
    assert store.summary(a_id) is None
    with pytest.raises(KeyError):
        b.list(after=a_id)
    assert b.set_read([a_id], True) == 0
    assert b.delete([a_id]) == 0
    with pytest.raises(NoSuchMessageError):
        b.set_tags([a_id], ["x"])
    summary = a.summary(a_id)
    assert summary is not None
    assert (summary.read, summary.tags) == (False, ["shared"])


def test_changes_to_everything_stay_in_their_mailbox(store, pair):
    a, a_id, b, b_id = pair
    assert b.set_read(None, True) == 1
    assert a.counts() == (1, 1)
    assert b.delete(None) == 1
    assert subjects(a) == ["for a"]
    assert a.raw(a_id) is not None
    assert b.summary(b_id) is None


def test_changes_by_search_stay_in_their_mailbox(store, pair):
    a, a_id, b, _b_id = pair
    assert b.set_read_matching("text", True) == 1
    assert b.delete_matching("text") == 1
    assert found(a, "text") == [a_id]
    assert a.counts() == (1, 1)


def test_tags_belong_to_their_mailbox(store, pair):
    a, a_id, b, b_id = pair
    # Each mailbox spells the tag as its own message did.
    assert a.all_tags() == ["shared"]
    assert b.all_tags() == ["SHARED"]
    assert b.rename_tag("shared", "renamed") == 1
    assert a.all_tags() == ["shared"]
    assert b.delete_tag("renamed") == 1
    with pytest.raises(NoSuchTagError):
        b.delete_tag("shared")
    assert a.summary(a_id).tags == ["shared"]
    a.set_tags([a_id], ["Mine"])
    b.set_tags([b_id], ["mine"])
    assert (a.all_tags(), b.all_tags()) == (["Mine"], ["mine"])
    assert found(b, "tag:mine") == [b_id]
    assert found(a, "tag:mine") == [a_id]


def test_info_counts_one_mailbox(store, pair):
    a, a_id, b, _b_id = pair
    add(b, message("another for b"))
    a.delete([a_id])
    info = a.info()
    assert (info.total, info.unread, info.tags, info.deleted) == (0, 0, {}, 1)
    info = b.info()
    assert (info.total, info.unread, info.tags, info.deleted) == (2, 2, {"SHARED": 1}, 0)
    listed = {box.name: (box.messages, box.unread) for box in store.mailboxes()}
    assert listed["team-a"] == (0, 0)
    assert listed["team-b"] == (2, 2)


def test_listeners_hear_of_their_mailbox_only(store):
    a = store.mailbox(store.create_mailbox("heard").name)
    heard_a: list[str] = []
    heard_default: list[str] = []
    heard_all: list[tuple[str, list[str]]] = []
    got_a = threading.Event()
    got_default = threading.Event()
    a.add_listener(lambda ids: (heard_a.extend(ids), got_a.set()))
    store.add_listener(lambda ids: (heard_default.extend(ids), got_default.set()))
    store.add_mailbox_listener(lambda name, ids: heard_all.append((name, list(ids))))
    a_id = add(a, message("to a"))
    assert got_a.wait(WITHIN)
    default_id = add(store, message("to default"))
    assert got_default.wait(WITHIN)
    assert heard_a == [a_id]
    assert heard_default == [default_id]
    assert ("heard", [a_id]) in heard_all
    assert (store.name, [default_id]) in heard_all


def test_deleting_a_mailbox_deletes_its_mail_only(store, pair):
    a, a_id, b, b_id = pair
    add(a, message("second for a"))
    assert store.delete_mailbox("team-a") == 2
    with pytest.raises(NoSuchMailboxError):
        store.mailbox("team-a")
    assert "team-a" not in [box.name for box in store.mailboxes()]
    assert subjects(b) == ["for b"]
    again = store.mailbox(store.create_mailbox("team-a").name)
    assert again.list().total == 0
    assert again.summary(a_id) is None
    assert again.all_tags() == []


def test_mail_waiting_for_the_index_goes_with_its_mailbox(store):
    box = store.mailbox(store.create_mailbox("busy").name)
    futures = [box.add(message(f"m{i}"), "a@x.test", ["b@x.test"]) for i in range(50)]
    for future in futures:
        future.result(timeout=WITHIN)
    store.delete_mailbox("busy")
    again = store.mailbox(store.create_mailbox("busy").name)
    assert again.list().total == 0
    assert again.latest_id() is None


def test_the_default_mailbox_cannot_be_deleted(store):
    add(store, message("stays"))
    with pytest.raises(ValueError, match="default"):
        store.delete_mailbox("default")
    assert subjects(store) == ["stays"]


def test_max_messages_keeps_the_newest_of_each_mailbox(new_store):
    store = new_store(max_messages=2)
    a = store.mailbox(store.create_mailbox("kept-a").name)
    b = store.mailbox(store.create_mailbox("kept-b").name)
    add_many(a, ["a1", "a2", "a3"])
    add_many(b, ["b1", "b2", "b3", "b4"])
    assert subjects(a) == ["a3", "a2"]
    assert subjects(b) == ["b4", "b3"]


def test_a_password_opens_its_mailbox_only(store):
    info = store.create_mailbox("locked", password="s3cret \u00e9")
    store.create_mailbox("open")
    assert info.has_password
    assert store.check_password("locked", "s3cret \u00e9")
    assert not store.check_password("locked", "s3cret")
    assert not store.check_password("locked", None)
    assert not store.check_password("locked", "")
    assert store.check_password("open", None)
    assert store.check_password("open", "anything")
    assert not store.check_password("missing", None)
    assert not store.check_password("default\ud800", "x")
    assert store.check_password("default", None)


def test_a_mailbox_made_again_takes_its_new_password(store):
    store.create_mailbox("reused", password="first")
    assert store.check_password("reused", "first")
    store.delete_mailbox("reused")
    store.create_mailbox("reused", password="second")
    assert not store.check_password("reused", "first")
    assert store.check_password("reused", "second")


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_an_idle_mailbox_expires_after_its_ttl(new_store):
    clock = Clock()
    store = new_store(clock=clock)
    info = store.create_mailbox("short", ttl=60)
    store.create_mailbox("forever")
    assert info.expires == info.created + timedelta(seconds=60)
    add(store.mailbox("short"), message("goes with it"))
    clock.now += 59
    assert store.expire_mailboxes() == []
    clock.now += 2
    assert store.expire_mailboxes() == ["short"]
    names = [box.name for box in store.mailboxes()]
    assert "short" not in names
    assert "forever" in names


def test_mail_and_use_put_expiry_off(new_store):
    clock = Clock()
    store = new_store(clock=clock)
    box = store.mailbox(store.create_mailbox("used", ttl=60).name)
    clock.now += 50
    add(box, message("keeps it alive"))
    assert box.list().total == 1
    clock.now += 50
    assert store.expire_mailboxes() == []
    assert store.mailbox_info("used").expires == datetime.fromtimestamp(clock.now - 50 + 60, UTC)
    clock.now += 50
    store.touch_mailbox("used")
    clock.now += 50
    assert store.expire_mailboxes() == []
    clock.now += 11
    assert store.expire_mailboxes() == ["used"]


def test_mailboxes_and_their_passwords_outlive_the_store(persistent):
    store = persistent()
    box = store.mailbox(store.create_mailbox("durable", password="pw", ttl=3600).name)
    message_id = add(box, message("kept"))
    store = persistent.reopen(store)
    info = store.mailbox_info("durable")
    assert (info.messages, info.ttl, info.has_password) == (1, 3600, True)
    assert store.check_password("durable", "pw")
    assert [s.id for s in store.mailbox("durable").list().messages] == [message_id]


def test_a_mailbox_made_by_another_store_on_the_same_mail_is_seen(persistent):
    first = persistent()
    second = persistent()
    first.create_mailbox("shared-box")
    box = second.mailbox("shared-box")
    message_id = add(box, message("through the second"))
    assert first.mailbox("shared-box").summary(message_id).subject == "through the second"
    assert [s.id for s in box.list().messages] == [message_id]
    assert [s.id for s in first.mailbox("shared-box").list().messages] == [message_id]
