"""Several threads adding and reading at once, and the listeners told of new mail."""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor

from contract_mail import WITHIN, add, message, subjects


def test_concurrent_adds_and_reads(store):
    writers, per_writer = 4, 100
    done = threading.Event()

    def write(writer: int) -> list[str]:
        futures = [
            store.add(message(f"w{writer} m{i}"), "a@x.test", ["b@x.test"])
            for i in range(per_writer)
        ]
        return [f.result(timeout=WITHIN) for f in futures]

    def read() -> int:
        reads, last_total = 0, 0
        while not done.is_set() or reads == 0:
            page = store.list(limit=10)
            # Each read sees one consistent snapshot, and the mailbox only grows.
            assert page.total >= last_total
            assert len(page.messages) == min(10, page.total)
            found = store.search("w1 m")
            assert found.matched <= found.total
            assert found.total >= page.total
            last_total = page.total
            reads += 1
        return reads

    with ThreadPoolExecutor(max_workers=writers + 2) as pool:
        readers = [pool.submit(read) for _ in range(2)]
        written = [pool.submit(write, w) for w in range(writers)]
        given = [i for future in written for i in future.result(timeout=WITHIN * 2)]
        done.set()
        assert all(r.result(timeout=WITHIN) > 0 for r in readers)

    assert len(set(given)) == writers * per_writer
    assert store.counts() == (writers * per_writer, writers * per_writer)
    listed = store.list(limit=1000).messages
    assert sorted(s.id for s in listed) == sorted(given)
    for w in range(writers):
        mine = [s.subject for s in listed if s.subject.startswith(f"w{w} ")]
        assert mine == [f"w{w} m{i}" for i in reversed(range(per_writer))]
    assert store.search("w1 m").matched == per_writer


def test_concurrent_changes_and_adds_add_up(store):
    kept = [add(store, message(f"old {i}")) for i in range(60)]
    barrier = threading.Barrier(3, timeout=WITHIN)

    def flag() -> int:
        barrier.wait()
        return sum(store.set_read([message_id], True) for message_id in kept[:30])

    def delete() -> int:
        barrier.wait()
        return sum(store.delete([message_id]) for message_id in kept[30:])

    def write() -> list[str]:
        barrier.wait()
        futures = [store.add(message(f"new {i}"), "a@x.test", ["b@x.test"]) for i in range(90)]
        return [f.result(timeout=WITHIN) for f in futures]

    with ThreadPoolExecutor(max_workers=3) as pool:
        flagged, deleted, added = (pool.submit(job) for job in (flag, delete, write))
        assert flagged.result(timeout=WITHIN * 2) == 30
        assert deleted.result(timeout=WITHIN * 2) == 30
        new = added.result(timeout=WITHIN * 2)

    assert store.counts() == (120, 90)
    assert {s.id for s in store.list(limit=1000).messages} == set(kept[:30]) | set(new)
    assert store.search("subject:old").matched == 30
    assert store.search("subject:new is:unread").matched == 90


def heard_until(heard: queue.Queue[list[str]], last: str) -> list[str]:
    """Every ID the listener was told of, in order, up to and including ``last``."""
    notified: list[str] = []
    while last not in notified:
        batch = heard.get(timeout=WITHIN)
        assert batch
        notified.extend(batch)
    return notified


def test_listeners_hear_each_new_id_once_in_order_after_commit(store):
    heard: queue.Queue[list[str]] = queue.Queue()
    unseen: list[str] = []

    def listener(ids: list[str]) -> None:
        unseen.extend(i for i in ids if store.summary(i) is None)
        heard.put(ids)

    def broken_listener(ids: list[str]) -> None:
        raise RuntimeError("listener bug")

    store.add_listener(broken_listener)
    store.add_listener(listener)
    futures = [store.add(message(f"m{i}"), "a@x.test", ["b@x.test"]) for i in range(20)]
    given = [f.result(timeout=WITHIN) for f in futures]
    assert heard_until(heard, given[-1]) == given

    # Told of in order, so a repeat of anything before would come before this one.
    last = add(store, message("last"))
    assert heard_until(heard, last) == [last]
    assert unseen == []
    assert subjects(store)[0] == "last"


def test_every_listener_hears_every_message(store):
    first: queue.Queue[list[str]] = queue.Queue()
    second: queue.Queue[list[str]] = queue.Queue()
    store.add_listener(first.put)
    store.add_listener(second.put)
    given = [add(store, message(f"m{i}")) for i in range(5)]

    for heard in (first, second):
        assert heard_until(heard, given[-1]) == given
