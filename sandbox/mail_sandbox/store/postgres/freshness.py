"""When a read waits for the indexers: so that a client that got a 250 finds its message listed.

A list, search or change first waits until every message waiting in ``mail_sandbox_incoming``
when it began is indexed, whichever server acknowledged it, by the same rules as the file
store (``sqlite.freshness``): for as long as the backlog keeps shrinking, and a read answers
at once from what is indexed so far when mail floods in faster than it is indexed. ``summary``
and ``raw`` find a waiting message where it waits, and wait for nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg

from mail_sandbox.store.sqlite.freshness import (
    FLOOD_ARRIVALS,
    INDEX_STALL_SECONDS,
    READ_BACKLOG,
    say_caught_up,
    say_flooded,
    say_stalled,
)

#: A waiting read looks at the backlog again at least this often, even unwoken: progress of
#: another server's indexer is heard by notice, which a database that went away may lose.
LOOK_AGAIN_SECONDS = 0.5
_BACKLOG = (
    "SELECT coalesce(max(id), 0), count(*) FILTER (WHERE id <= %s) FROM mail_sandbox_incoming"
)

#: ``backlog(target)``: ``(newest id waiting, how many wait with ids up to target)``.
Backlog = Callable[[int], tuple[int, int]]


def backlog_of(conn: psycopg.Connection, target: int) -> tuple[int, int]:
    """``(newest id waiting, how many wait with ids up to target)`` on ``conn``."""
    row = conn.execute(_BACKLOG, (target,)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


class IndexWait:
    """Waits for the backlog of ``mail_sandbox_incoming`` to be indexed; ``progressed`` is
    called whenever an indexer (this server's or another's) has committed a step."""

    def __init__(self, label: str) -> None:
        self._label = label  # for the log
        self._changed = threading.Condition()
        self._steps = 0
        self._behind = False  # a flood made reads stop waiting
        self._closed = False

    def progressed(self) -> None:
        """An indexer committed a step: waiting reads look again."""
        with self._changed:
            self._steps += 1
            self._changed.notify_all()

    def close(self) -> None:
        """Wake every waiting read for good."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def wait(self, backlog: Backlog, wake: Callable[[int], None], *, reading: bool) -> None:
        """Wait until nothing that waited when the call began waits any more; ``wake`` asks
        this server's indexer to index up to an id. A read (``reading``) stops waiting in a
        flood."""
        target, waiting = backlog(2**63 - 1)
        if not waiting:
            if reading and self._behind:
                self._caught_up()
            return
        wake(target)
        fewest, moved = waiting, time.monotonic()
        while not self._closed:
            with self._changed:
                seen = self._steps
            newest, waiting = backlog(target)
            if not waiting:
                break
            if reading and self._flooded(newest - target, waiting):
                return
            if waiting < fewest:
                fewest, moved = waiting, time.monotonic()
            left = moved + INDEX_STALL_SECONDS - time.monotonic()
            if left <= 0:
                say_stalled(self._label)
                return
            with self._changed:
                if self._steps == seen and not self._closed:
                    self._changed.wait(min(left, LOOK_AGAIN_SECONDS))
        if reading and self._behind:
            self._caught_up()

    def _flooded(self, arrived: int, waiting: int) -> bool:
        """Whether mail pours in faster than it is indexed (``arrived`` since the read began,
        ``waiting`` of those before it); says so in the log when a flood begins."""
        flooded = arrived >= FLOOD_ARRIVALS and waiting > READ_BACKLOG
        if flooded and not self._behind:
            self._behind = True
            say_flooded(self._label)
        return flooded

    def _caught_up(self) -> None:
        self._behind = False
        say_caught_up(self._label)
