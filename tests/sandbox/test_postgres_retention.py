"""Retention on one PostgreSQL database shared by several processes: ``--max-messages`` and
mailbox TTLs are enforced by every process on its own, with no process chosen to do it, so
they must be safe when several do it at once: the newest N kept of each mailbox, an expired
mailbox deleted once, and no message refused because two of them got in each other's way."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from manual_clock import ManualClock
from shared_servers import started, stopped, stored_subjects
from smtp_flow import MailFlow

from mail_sandbox.defaults import DEFAULT_MAILBOX, MAX_PAGE_SIZE
from mail_sandbox.store import MessageStore, PostgresStore

_T = TypeVar("_T")

WITHIN = 30.0
#: The ``--max-messages`` of every store and server below.
KEEP = 10
TTL = 60
#: Lines a server logs only when something went wrong.
TROUBLE = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback")
EXPIRED = re.compile(r"mailbox (\S+) expired, (\d+) messages deleted")


def message(subject: str) -> bytes:
    return f"From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\n\r\nhi\r\n".encode()


def at_once(calls: Sequence[Callable[[], _T]]) -> list[_T]:
    """Run ``calls`` on threads of their own, released together; their results, in order
    (the first exception raised, raised here)."""
    released = threading.Barrier(len(calls), timeout=WITHIN)

    def run(call: Callable[[], _T]) -> _T:
        released.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        running = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=WITHIN) for future in running]


def trouble(records: Sequence[logging.LogRecord]) -> list[str]:
    return [record.getMessage() for record in records if record.levelno >= logging.WARNING]


# -- --max-messages --------------------------------------------------------------------------

#: Mailboxes the mail below is spread over, each pruned on its own.
MAILBOXES = (DEFAULT_MAILBOX, "left", "right")
SENDERS_PER_STORE = 2
BURSTS = 20
#: Messages a sender hands over before waiting for their answers: one commit, several mailboxes.
BURST = 2 * len(MAILBOXES)


@dataclass
class Added:
    """One message handed to a store, and when (``time.monotonic``): just before it was
    handed over, and once its answer was in (``inf`` until then)."""

    subject: str
    mailbox: str
    future: Future[str]
    handed: float
    answered: float = float("inf")

    def note_answer(self, _future: Future[str]) -> None:
        self.answered = time.monotonic()


def send_bursts(store: MessageStore, sender: str) -> list[Added]:
    """``BURSTS`` bursts of ``BURST`` messages over ``MAILBOXES``, each burst answered before
    the next is handed over; stops after a burst not all stored within ``WITHIN`` seconds."""
    mailboxes = {name: store.mailbox(name) for name in MAILBOXES}
    added: list[Added] = []
    for burst in range(BURSTS):
        these = []
        for n in range(BURST):
            name = MAILBOXES[n % len(MAILBOXES)]
            subject = f"{sender} {burst}-{n}"
            handed = time.monotonic()
            future = mailboxes[name].add(message(subject), "a@example.com", ["b@example.com"])
            these.append(Added(subject, name, future, handed))
            future.add_done_callback(these[-1].note_answer)
        done, waiting = wait([each.future for each in these], timeout=WITHIN)
        added.extend(these)
        # The first message refused or unanswered fails the test; more would only take time.
        if waiting or any(future.exception() for future in done):
            break
    return added


def out_of_order(listed: Sequence[Added], dropped: Sequence[Added]) -> list[tuple[str, str]]:
    """Pairs that contradict "the newest kept, newest first": a message kept (or listed as
    newer) although answered before the other was even handed over."""
    kept_older = [(k.subject, d.subject) for k in listed for d in dropped if k.answered < d.handed]
    listed_wrong = [
        (newer.subject, older.subject)
        for at, newer in enumerate(listed)
        for older in listed[at + 1 :]
        if newer.answered < older.handed
    ]
    return kept_older + listed_wrong


def test_two_stores_pruning_one_database_keep_the_newest_of_each_mailbox(postgres_url, caplog):
    stores = [PostgresStore(postgres_url, max_messages=KEEP) for _ in range(2)]
    try:
        for name in MAILBOXES[1:]:
            stores[0].create_mailbox(name)
        senders = [
            partial(send_bursts, store, f"store {s} sender {n}")
            for s, store in enumerate(stores)
            for n in range(SENDERS_PER_STORE)
        ]
        added = [each for sent in at_once(senders) for each in sent]
        listings = {
            name: [
                [m.subject for m in store.mailbox(name).list(limit=MAX_PAGE_SIZE).messages]
                for store in stores
            ]
            for name in MAILBOXES
        }
        deleted = {
            name: sum(store.mailbox(name).info().deleted for store in stores) for name in MAILBOXES
        }
    finally:
        for store in stores:
            store.close()

    unanswered = [each.subject for each in added if not each.future.done()]
    assert unanswered == []
    failed = [(each.subject, each.future.exception()) for each in added if each.future.exception()]
    assert failed == []
    by_subject = {each.subject: each for each in added}
    for name in MAILBOXES:
        first, second = listings[name]
        assert first == second, f"{name}: the two stores list different mail"
        assert len(first) == KEEP, f"{name}: {len(first)} kept"
        listed = [by_subject[subject] for subject in first]
        dropped = [each for each in added if each.mailbox == name and each.subject not in first]
        assert out_of_order(listed, dropped) == [], name
        # Each pruned message counted by the one store that pruned it.
        assert deleted[name] == len(dropped), name
    assert trouble(caplog.records) == []


#: Messages sent through the two servers: far more than they keep, fewer than a page holds.
SENT = 400
assert KEEP < SENT <= MAX_PAGE_SIZE


def test_two_servers_with_max_messages_answer_every_message_and_keep_the_newest(postgres_url):
    servers = []
    try:
        for _ in range(2):
            servers.append(started(postgres_url, "--max-messages", str(KEEP)))
        flow = MailFlow("kept", [smtp_port for _p, smtp_port, _u, _o in servers], threads=4)
        flow.grant(SENT)
        # Every send, or the first refused, which fails the test below.
        flow.wait_for(lambda sent: len(sent) == SENT or any(s.reply != 250 for s in sent))
        sent = flow.finish()
        views = [stored_subjects(url) for _p, _s, url, _o in servers]
    finally:
        for process, *_rest in servers:
            stopped(process)
    logs = [output.rest() for *_rest, output in servers]

    assert [s for s in sent if s.reply != 250] == []
    assert views[0] == views[1]
    assert len(views[0]) == KEEP and set(views[0].values()) == {1}, views[0]
    kept = [s for s in sent if s.subject in views[0]]
    dropped = [s for s in sent if s.subject not in views[0]]
    # Kept although answered before a message that was dropped had even been sent.
    older = [(k.subject, d.subject) for k in kept for d in dropped if k.ended < d.began]
    assert older == []
    assert [line for log in logs for line in log.splitlines() if TROUBLE.search(line)] == []


# -- TTLs ------------------------------------------------------------------------------------

ROUNDS = 10
PER_ROUND = 5


def test_two_stores_expiring_at_once_delete_each_mailbox_once(postgres_url, caplog):
    caplog.set_level(logging.INFO, logger="mail_sandbox")
    clock = ManualClock()
    stores = [PostgresStore(postgres_url, clock=clock) for _ in range(2)]
    returned: list[list[str]] = []
    made: list[list[str]] = []
    try:
        stores[0].add(message("stays"), "a@example.com", ["b@example.com"]).result(WITHIN)
        stores[0].create_mailbox("no-ttl")
        for round_ in range(ROUNDS):
            names = [f"ttl-{round_}-{n}" for n in range(PER_ROUND)]
            for name in names:
                stores[0].create_mailbox(name, ttl=TTL)
                mailbox = stores[1].mailbox(name)
                mailbox.add(message(name), "a@example.com", ["b@example.com"]).result(WITHIN)
            clock.advance(TTL + 1)
            made.append(names)
            calls = at_once([store.expire_mailboxes for store in stores])
            returned.append([name for got in calls for name in got])
        left = [[info.name for info in store.mailboxes()] for store in stores]
        remade = stores[1].create_mailbox(made[0][0])
        default_subjects = [m.subject for m in stores[1].list().messages]
    finally:
        for store in stores:
            store.close()

    for names, got in zip(made, returned, strict=True):
        assert sorted(got) == names
    assert left == [[DEFAULT_MAILBOX, "no-ttl"]] * 2
    assert remade.messages == 0
    assert default_subjects == ["stays"]
    logged = [EXPIRED.search(r.getMessage()) for r in caplog.records]
    deletions = Counter((found[1], int(found[2])) for found in logged if found)
    assert deletions == Counter({(name, 1): 1 for names in made for name in names})
    assert trouble(caplog.records) == []
