"""When a read waits for the indexer: so that a client that got a 250 finds its message listed.

A list or search first waits until everything acknowledged before it began is indexed, for as
long as the index keeps moving (``INDEX_STALL_SECONDS``) and mail does not flood in faster than
it is indexed (``READ_BACKLOG``); ``summary`` and ``raw`` find a message as soon as it is
acknowledged, and wait for nothing.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

logger = logging.getLogger(__name__)

#: A list or search waits for the index to take in what was acknowledged before it began, for
#: as long as the index keeps moving: it gives up (and answers from the index as it stands)
#: once nothing was indexed for this long, as when the indexer is stuck or restarting.
INDEX_STALL_SECONDS = 5.0
#: A list or search that waits for the index stops waiting, and reads what is indexed so far,
#: when mail keeps pouring in meanwhile: once ``FLOOD_ARRIVALS`` more messages arrived since
#: it began while more than ``READ_BACKLOG`` of those before it still wait. A burst that has
#: ended (a test suite's thousands, then a list) is always waited for, and the index catches up
#: with it; a flood from parallel CI jobs, thousands a second for as long as they run, would
#: otherwise hang the inbox and the API for seconds. Changes by search always wait.
READ_BACKLOG = 200
FLOOD_ARRIVALS = 5


class IndexFreshness:
    """How far the index lags behind what was acknowledged, and the waits for it to catch up.

    Two marks: ``acknowledged``, the newest id committed to the incoming file, and ``indexed``,
    up to which every id is indexed. ``changed`` (reentrant) guards both and is notified
    whenever either moves, or the store closes.
    """

    def __init__(self, path: str, acknowledged: int, indexed: int) -> None:
        self._path = path  # for the log
        self.acknowledged = acknowledged
        self.indexed = indexed
        self.changed = threading.Condition()
        self._behind = False  # a flood made reads stop waiting (see _flooded)
        self._closed = False

    def acknowledge(self, newest: int) -> int:
        """Note that ids up to ``newest`` are committed; returns how many wait for the index."""
        with self.changed:
            self.acknowledged = newest
            # A read waiting for the index looks again: see _flooded.
            self.changed.notify_all()
            return newest - self.indexed

    def index_reached(self, upto: int) -> None:
        """Note that every id up to ``upto`` is indexed, and wake the reads waiting for it."""
        with self.changed:
            self.indexed = max(self.indexed, upto)
            self.changed.notify_all()

    def close(self) -> None:
        """Wake every waiting read for good: a closed store has nothing more to wait for."""
        with self.changed:
            self._closed = True
            self.changed.notify_all()

    def wait(self, *, reading: bool = False) -> None:
        """Wait until every message acknowledged so far is indexed (see ``INDEX_STALL_SECONDS``).

        A read (``reading``) stops waiting in a flood (see ``READ_BACKLOG``) and reads the
        index as it stands. Each read finds the flood for itself, by mail arriving while it
        waits: one that comes after the flood has ended waits for everything before it.
        """
        with self.changed:
            target = self.acknowledged
            before, moved = self.indexed, time.monotonic()
            while self.indexed < target and not self._closed:
                if reading and self._flooded(target):
                    return
                # Woken by progress of the index or by new mail (for _flooded).
                if self.indexed != before:
                    before, moved = self.indexed, time.monotonic()
                left = moved + INDEX_STALL_SECONDS - time.monotonic()
                if left <= 0:
                    say_stalled(self._path)
                    return
                self.changed.wait(left)
            if reading and self._behind:
                self._behind = False
                say_caught_up(self._path)

    def _flooded(self, target: int) -> bool:
        """Whether mail pours in faster than it is indexed, for a read waiting for ``target``
        (``changed`` held); says so in the log when a flood begins."""
        flooded = (
            self.acknowledged - target >= FLOOD_ARRIVALS and target - self.indexed > READ_BACKLOG
        )
        if flooded and not self._behind:
            self._behind = True
            say_flooded(self._path)
        return flooded


def say_stalled(store: str) -> None:
    """Log that reads of ``store`` stopped waiting for an index that does not move."""
    logger.warning(
        "mail store %s: the index has not moved for %g s; reading it as it is",
        store,
        INDEX_STALL_SECONDS,
    )


def say_flooded(store: str) -> None:
    """Log that reads of ``store`` answer from the index as it is, until it catches up."""
    logger.info(
        "mail store %s: mail arrives faster than it is indexed; lists and searches "
        "show what is indexed so far until the index catches up",
        store,
    )


def say_caught_up(store: str) -> None:
    """Log that the index of ``store`` has caught up after a flood."""
    logger.info("mail store %s: the index has caught up", store)


def index_marks(writer: sqlite3.Connection) -> tuple[int, int]:
    """(newest id acknowledged, newest id up to which all are indexed) as the files stand, read
    on the writer's connection (the incoming file)."""
    low, high = writer.execute("SELECT min(id), max(id) FROM pending").fetchone()
    if high is not None:
        return high, low - 1
    row = writer.execute("SELECT seq FROM sqlite_sequence WHERE name = 'pending'").fetchone()
    newest = int(row[0]) if row else 0
    return newest, newest
