"""How the indexer gives way to new mail in a flood on a busy machine, and tidies up after one.

Parsing a message and the trigram indexes' work on it cost several times what taking it in
does. The indexer runs at a low priority, but PostgreSQL's processes doing its inserts do not;
on a machine whose CPU is all in use (the database on the same host, say), indexing a flood as
it comes would slow the 250s down. So while mail pours in (``FLOOD_RATE`` messages a second or
more, and more arrived over the last ``QUIET_SECONDS``) and the machine has less than
``IDLE_CORES`` of CPU to spare, the indexer waits, looking again every ``QUIET_SECONDS``. It
indexes flat out once mail stops arriving, when CPU is to spare, and whenever ``MAX_DEFERRED``
messages wait, so that a long flood is indexed as fast as it comes, never more than that far
behind.

After a backlog of ``VACUUM_AFTER`` or more has gone, the incoming table is vacuumed: every list
looks at it first (``freshness``), and its dead rows would slow that down until autovacuum came.
"""

from __future__ import annotations

import os
import time
from collections import deque

import psycopg

from mail_sandbox.store.sqlite.mail_index import Progress

#: In a flood on a busy machine the indexer looks this often whether mail still arrives.
QUIET_SECONDS = 0.05
#: Mail arriving at this rate or more (messages a second, on the whole database, over the last
#: ``RATE_SECONDS``) is a flood.
FLOOD_RATE = 300
RATE_SECONDS = 0.2
#: Less idle CPU than this many cores, over the last look, is a busy machine: indexing a
#: flood as it comes takes about one core (parsing here, the inserts in PostgreSQL), and the
#: SMTP side must keep some to spare.
IDLE_CORES = 1.5
#: Most messages left waiting for the flood to pass.
MAX_DEFERRED = 5000
#: Messages indexed since the incoming table was last vacuumed that make it worth doing again.
VACUUM_AFTER = 1000
_PROC_STAT = "/proc/stat"


class FloodPace:
    """When the indexer's next step is due (``pause``), from what the last ones found."""

    def __init__(self) -> None:
        self._behind = False
        self._newest = 0  # the newest id waiting at the last look
        self._looked = 0.0
        self._stepped = 0.0
        self._since_vacuum = 0
        self._arrivals: deque[tuple[float, int]] = deque()  # (when, ids given out so far)
        self._cpu = IdleCpu()

    def pause(self, conn: psycopg.Connection) -> float:
        """Seconds to wait before the next step (0: index now)."""
        if not self._behind:
            return 0.0
        # Whether mail still arrives shows only over a while: look back QUIET_SECONDS at least.
        since = time.monotonic() - self._looked
        if since < QUIET_SECONDS:
            return QUIET_SECONDS - since
        oldest, newest = _waiting(conn)
        arriving, self._newest, self._looked = newest > self._newest, newest, time.monotonic()
        if arriving and newest - oldest < MAX_DEFERRED and self._cpu.idle_cores() < IDLE_CORES:
            return QUIET_SECONDS
        return 0.0

    def indexed(self, conn: psycopg.Connection, step: Progress | None) -> None:
        """Note a step (None: nothing waited)."""
        self._stepped = time.monotonic()
        if step is None:
            self._behind = False
            if self._since_vacuum >= VACUUM_AFTER:
                self._since_vacuum = 0
                _vacuum(conn)
            return
        self._since_vacuum += len(step.ids)
        self._behind = self._arrival_rate(conn) >= FLOOD_RATE
        if self._behind:
            self._newest, self._looked = _waiting(conn)[1], time.monotonic()
            self._cpu.idle_cores()  # the next look measures from here

    def _arrival_rate(self, conn: psycopg.Connection) -> float:
        """Messages a second acknowledged on the database lately (by every server)."""
        now = time.monotonic()
        self._arrivals.append((now, _ids_given(conn)))
        # Keep one look from before the window, to measure the whole window from.
        while len(self._arrivals) > 2 and self._arrivals[1][0] < now - RATE_SECONDS:
            self._arrivals.popleft()
        (then, before), (_now, given) = self._arrivals[0], self._arrivals[-1]
        if now - then < QUIET_SECONDS:
            return 0.0  # too short a while to tell
        return (given - before) / (now - then)


class IdleCpu:
    """Idle CPU of the whole machine, in cores, between two looks (``/proc/stat``); where
    that cannot be read, the machine counts as having CPU to spare."""

    def __init__(self) -> None:
        self._last = self._read()

    def idle_cores(self) -> float:
        """Cores' worth of CPU idle since the last call."""
        now = self._read()
        last, self._last = self._last, now
        if now is None or last is None:
            return float("inf")
        (idle, total), (idle_before, total_before) = now, last
        cores = os.cpu_count() or 1
        return cores * (idle - idle_before) / max(1, total - total_before)

    @staticmethod
    def _read() -> tuple[int, int] | None:
        """``(idle, total)`` jiffies of all CPUs so far."""
        try:
            with open(_PROC_STAT) as stat:
                fields = [int(value) for value in stat.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        # user nice system idle iowait irq softirq steal ...: idle and iowait are to spare.
        return sum(fields[3:5]), sum(fields)


def _waiting(conn: psycopg.Connection) -> tuple[int, int]:
    """``(oldest, newest)`` id waiting to be indexed, ``(0, 0)`` when none."""
    with conn.transaction():
        row = conn.execute(
            "SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM mail_sandbox_incoming"
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _ids_given(conn: psycopg.Connection) -> int:
    """How many ids the incoming table has given out: every message acknowledged so far."""
    with conn.transaction():
        row = conn.execute("SELECT last_value FROM mail_sandbox_incoming_id_seq").fetchone()
    return int(row[0]) if row else 0


def _vacuum(conn: psycopg.Connection) -> None:
    # VACUUM runs outside a transaction block only.
    conn.autocommit = True
    try:
        conn.execute("VACUUM mail_sandbox_incoming")
    finally:
        conn.autocommit = False
