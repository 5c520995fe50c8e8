"""The store's threads outlive anything a caller hands them: an input SQLite cannot encode, or
any exception inside one job, fails that call alone and the next one is served (no socket)."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import pytest

import mail_sandbox.store.sqlite.changes as changes
import mail_sandbox.store.sqlite.parse_jobs as parse_jobs
import mail_sandbox.store.sqlite.writer as writer
from mail_sandbox.store import MessageStore, NoSuchMessageError, StoreError
from mail_sandbox.store.parse import ParsedMessage

# Lone surrogates: what a raw non-UTF-8 byte becomes once decoded with surrogateescape (as
# aiosmtpd decodes MAIL and RCPT) and what JSON's "\udcff" escape gives; SQLite cannot encode
# either.
UNENCODABLE = ["\udcff", "abc\udce9", "\ud800"]
#: Long enough for a loaded machine, short enough that a dead writer thread fails the test
#: instead of hanging it.
WITHIN = 10.0


def bounded(call: Callable[[], Any], timeout: float = WITHIN) -> Any:
    """``call()`` on a daemon thread: its result, its exception, or a failure after ``timeout``
    (a store whose writer thread died never answers; the thread is left to the interpreter)."""
    outcome: queue.Queue[tuple[bool, Any]] = queue.Queue()

    def run() -> None:
        try:
            outcome.put((True, call()))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread as it is
            outcome.put((False, exc))

    threading.Thread(target=run, daemon=True).start()
    try:
        ok, value = outcome.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"no answer from the store within {timeout} s") from None
    if not ok:
        raise value
    return value


def add(store: MessageStore, subject: str = "hello") -> str:
    raw = f"From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\n\r\nhi\r\n"
    return store.add(raw.encode(), "a@example.com", ["b@example.com"]).result(timeout=WITHIN)


def subjects(store: MessageStore) -> list[str]:
    return [m.subject for m in bounded(store.list).messages]


@pytest.mark.parametrize("bad", UNENCODABLE, ids=repr)
def test_an_id_that_cannot_be_encoded_is_an_unknown_id(store, bad):
    kept = add(store, "kept")

    assert bounded(lambda: store.delete([bad])) == 0
    assert bounded(lambda: store.delete([bad, kept])) == 1
    kept = add(store, "kept again")
    assert bounded(lambda: store.set_read([bad], True)) == 0
    assert bounded(lambda: store.set_read([bad, kept], True)) == 1
    with pytest.raises(NoSuchMessageError):
        bounded(lambda: store.set_tags([bad], ["x"]))
    assert bounded(lambda: store.summary(bad)) is None
    assert bounded(lambda: store.raw(bad)) is None

    add(store, "still served")
    assert subjects(store) == ["still served", "kept again"]
    assert bounded(lambda: store.summary(kept)).read is True


@pytest.mark.parametrize("bad", UNENCODABLE, ids=repr)
def test_a_tag_that_cannot_be_encoded_is_kept_readable_and_never_crashes(store, bad):
    message_id = add(store)

    assert bounded(lambda: store.set_tags([message_id], [bad, "ok"])) == 1

    tags = bounded(store.all_tags)
    assert "ok" in tags and len(tags) == 2
    shown = next(tag for tag in tags if tag != "ok")
    assert "\ufffd" in shown
    shown.encode("utf-8")  # what the store hands out can be encoded again
    assert bounded(lambda: store.rename_tag(bad, "renamed")) == 1
    assert bounded(lambda: store.delete_tag("renamed")) == 1
    add(store, "next")
    assert subjects(store) == ["next", "hello"]


def test_an_envelope_that_cannot_be_encoded_is_stored_readable(store):
    future = store.add(
        b"Subject: latin-1 envelope\r\n\r\nhi\r\n",
        "caf\udce9@example.com",
        ["b\udce9b@example.com", "\ud800x@example.com"],
    )
    message_id = future.result(timeout=WITHIN)

    summary = bounded(lambda: store.summary(message_id))
    assert summary.return_path == "caf\ufffd@example.com"
    assert [a.address for a in summary.bcc] == ["b\ufffdb@example.com", "\ufffdx@example.com"]
    add(store, "next")
    assert subjects(store) == ["next", "latin-1 envelope"]
    listed = bounded(store.list).messages[1]
    assert listed.return_path == "caf\ufffd@example.com"


def fail_once(monkeypatch, module: Any, name: str, error: BaseException) -> None:
    """Make ``module.name`` raise ``error`` on its next call only."""
    original = getattr(module, name)
    calls = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise error
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, failing)


@pytest.mark.parametrize(
    "error", [MemoryError(), UnicodeEncodeError("utf-8", "\udcff", 0, 1, "x"), RuntimeError("x")]
)
def test_an_exception_while_storing_fails_that_message_only(store, monkeypatch, caplog, error):
    caplog.set_level(logging.ERROR, logger="mail_sandbox.store")
    fail_once(monkeypatch, writer, "_insert_incoming_rows", error)

    future = store.add(b"Subject: doomed\r\n\r\nhi\r\n", "a@example.com", ["b@example.com"])

    with pytest.raises(StoreError):
        future.result(timeout=WITHIN)
    assert any(type(error).__name__ in record.getMessage() for record in caplog.records)
    add(store, "next")
    assert subjects(store) == ["next"]


def test_an_exception_in_one_message_of_a_burst_fails_that_message_only(store, monkeypatch):
    original = writer._insert_incoming_rows

    def refuse_the_doomed(conn, adds):
        if any(job.raw.startswith(b"Subject: doomed") for job in adds):
            raise MemoryError
        return original(conn, adds)

    monkeypatch.setattr(writer, "_insert_incoming_rows", refuse_the_doomed)
    # The writer is kept busy with a change until all three are queued, so that it takes them
    # as one burst.
    busy, go_on = threading.Event(), threading.Event()
    perform = store._writer._perform

    def held(job):
        busy.set()
        go_on.wait(WITHIN)
        perform(job)

    monkeypatch.setattr(store._writer, "_perform", held)
    change = threading.Thread(target=lambda: store.set_read(None, False), daemon=True)
    change.start()
    assert busy.wait(WITHIN)
    raws = [b"Subject: first\r\n\r\n", b"Subject: doomed\r\n\r\n", b"Subject: third\r\n\r\n"]
    futures = [store.add(raw, "a@example.com", ["b@example.com"]) for raw in raws]
    go_on.set()

    assert futures[0].result(timeout=WITHIN)
    with pytest.raises(StoreError):
        futures[1].result(timeout=WITHIN)
    assert futures[2].result(timeout=WITHIN)
    assert subjects(store) == ["third", "first"]


@pytest.mark.parametrize("error", [MemoryError(), RuntimeError("x"), KeyError("x")])
def test_an_exception_in_a_change_fails_that_call_only_and_changes_nothing(
    store, monkeypatch, caplog, error
):
    caplog.set_level(logging.ERROR, logger="mail_sandbox.store")
    kept = add(store, "kept")
    fail_once(monkeypatch, changes, "rowids", error)

    with pytest.raises(StoreError):
        bounded(lambda: store.delete([kept]))

    assert any(type(error).__name__ in record.getMessage() for record in caplog.records)
    assert subjects(store) == ["kept"]
    add(store, "next")
    assert bounded(lambda: store.delete([kept])) == 1
    assert subjects(store) == ["next"]


def test_a_message_the_indexer_cannot_write_is_still_listed_and_indexing_goes_on(
    store, monkeypatch, caplog
):
    caplog.set_level(logging.ERROR, logger="mail_sandbox.store")
    real_summarize = parse_jobs.summarize

    def poisoned(raw: bytes, envelope_from: str, envelope_to: list[str]) -> ParsedMessage:
        parsed = real_summarize(raw, envelope_from, envelope_to)
        if b"poison" in raw:
            # A parser that let a lone surrogate through: SQLite cannot take this row.
            parsed.subject = "poison \udcff"
        return parsed

    monkeypatch.setattr(parse_jobs, "summarize", poisoned)
    poison = add(store, "poison")
    after = add(store, "after")

    listed = bounded(store.list).messages
    assert [m.id for m in listed] == [after, poison]
    assert listed[0].subject == "after"
    assert any(record.levelno >= logging.ERROR for record in caplog.records)
