"""The indexer's loop: woken by the store, it indexes what waits and reports its progress.

It talks to the store over a pair of pipes, whether it runs in a child process or a thread
(see ``indexer``): the store wakes it up after each commit, it answers with ``Progress`` after
each chunk. Only one indexer works on a mailbox at a time (``IndexingTurn``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

from mail_sandbox.store.sqlite.mail_index import IndexerSettings, MailIndex
from mail_sandbox.store.sqlite.parse_jobs import Parser

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

#: Next to the mailbox file: whoever holds a lock on it is the one indexer (IndexingTurn).
INDEXER_LOCK_SUFFIX = "-indexer.lock"
#: Pause after a failed chunk (disk full, a lock held too long) before trying again.
RETRY_SECONDS = 0.5
#: An idle indexer looks for waiting mail this often even unasked: another process (a second
#: store on the same files, a tool filling them) may have added some.
IDLE_POLL_SECONDS = 1.0


def serve(
    requests: Connection,
    progress: Connection,
    settings: IndexerSettings,
    *,
    start_parser: Callable[[], Parser] | None = None,
) -> None:
    """The indexer's loop: index what waits, chunk by chunk, and report each on ``progress``.

    A request wakes it up (True) or stops it after the current chunk (None). The loop also ends
    when the store goes away (its end of the pipes closes). ``start_parser``: see ``MailIndex``.
    """
    index = MailIndex(settings, start_parser=start_parser)
    turn = IndexingTurn(settings.path + INDEXER_LOCK_SUFFIX)
    reported = -1
    more = True  # mail may wait from before a crash or a stop
    failing = False
    try:
        while True:
            if take_requests(requests, more=more) is None:
                return
            try:
                if turn.take():
                    step, more = index.index()
                else:
                    # Another store's indexer works on these files: watch it instead.
                    step, more = index.observe(), False
            except Exception as exc:  # noqa: BLE001 - sqlite3.Error or worse: retried either way
                if not failing:
                    logger.error("mail store %s: indexing failed, retrying: %s", settings.path, exc)
                failing = more = True
                time.sleep(RETRY_SECONDS)
                continue
            if failing:
                logger.warning("mail store %s: indexing works again", settings.path)
            failing = False
            if step.ids or step.pruned or step.upto != reported:
                progress.send(step)
                reported = step.upto
    except (EOFError, OSError):
        return  # the store closed its end: nothing is left to report to
    finally:
        turn.close()
        index.close()


def take_requests(
    requests: Connection, *, more: bool, idle: float = IDLE_POLL_SECONDS
) -> int | None:
    """Take the store's requests that have arrived, waiting for one first only when idle
    (``more`` false), and then only ``idle`` seconds: the highest id they asked to have
    indexed (0: none), or None when one said stop."""
    timeout = 0 if more else idle
    asked = 0
    while requests.poll(timeout):
        request = requests.recv()
        if request is None:
            return None
        if type(request) is int:
            asked = max(asked, request)
        timeout = 0
    return asked


class IndexingTurn:
    """One indexer per mailbox at a time, across processes: the one holding a lock on a file.

    Two stores open on the same files (a server and a tool filling its mailbox, say) would
    otherwise both parse every waiting message. The lock goes with the process that holds it,
    so when that one ends another indexer takes over. Where ``fcntl`` is missing (Windows),
    every indexer works.
    """

    def __init__(self, path: str) -> None:
        self._fd: int | None = None
        self.held = fcntl is None
        if fcntl is not None:
            try:
                self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                logger.warning("mail store: cannot take turns indexing (%s); indexing anyway", exc)
                self.held = True

    def take(self) -> bool:
        """Whether this indexer may index now (it keeps its turn until it closes)."""
        if not self.held and self._fd is not None and fcntl is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            self.held = True
        return self.held

    def close(self) -> None:
        """Give the turn up."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def serve_and_close(requests: Connection, progress: Connection, settings: IndexerSettings) -> None:
    """``serve``, then close both pipes: how a thread runs the indexer."""
    try:
        serve(requests, progress, settings)
    finally:
        requests.close()
        progress.close()
