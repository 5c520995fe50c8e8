"""The connections to PostgreSQL: a small pool, and every database failure as ``StoreError``.

When the database goes away, a call fails with ``StoreError`` after at most ``WAIT_SECONDS``
(``AWAY_WAIT_SECONDS`` once it is known to be away, so that callers are not held up call after
call) and the log says so once, not once per call or reconnection attempt; the pool
replaces its broken connections, so the first call after the database is back works again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool

from mail_sandbox.store.contract import StoreError
from mail_sandbox.store.postgres.schema import migrate

logger = logging.getLogger(__name__)

#: Connections kept open: the writer's, and a few for threads reading and changing at once.
POOL_SIZE = 8
#: How long a call waits for a connection (or the database) before it fails.
WAIT_SECONDS = 5.0
#: How long a call waits while the database is known to be unreachable.
AWAY_WAIT_SECONDS = 1.0
#: How long opening a connection may take before the database counts as unreachable.
CONNECT_SECONDS = 5
#: How long the pool goes on retrying one lost connection. Its retries back off (1 s, 2 s,
#: 4 s, ...), so over a long outage the next attempt could come many seconds after the
#: database is back; giving up early instead lets the next call that needs a connection try
#: at once, so service resumes within about a second of the database's return.
RECONNECT_SECONDS = 2.0


class Database:
    """A migrated database at ``url`` (shown as ``location``) and a pool of connections to it."""

    def __init__(self, url: str, location: str, created_ms: int) -> None:
        self.location = location
        self._lock = threading.Lock()
        self._unreachable = False
        try:
            with psycopg.connect(url, connect_timeout=CONNECT_SECONDS) as conn:
                migrate(conn, created_ms)
        except psycopg.Error as exc:
            raise StoreError(f"cannot open the mail store at {location}: {_reason(exc)}") from exc
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            kwargs={"connect_timeout": CONNECT_SECONDS},
            check=ConnectionPool.check_connection,
            timeout=WAIT_SECONDS,
            reconnect_timeout=RECONNECT_SECONDS,
            name="mail-sandbox",
            open=False,
        )
        try:
            self._pool.open(wait=True, timeout=WAIT_SECONDS + CONNECT_SECONDS)
        except psycopg.Error as exc:
            self._pool.close()
            raise StoreError(f"cannot open the mail store at {location}: {_reason(exc)}") from exc

    @contextmanager
    def transaction(
        self, *, read_only: bool = False, autocommit: bool = False
    ) -> Iterator[psycopg.Connection]:
        """A connection inside one transaction, committed when the block ends without error.

        ``read_only`` reads one snapshot throughout, so that counts and rows agree;
        ``autocommit`` commits each statement on its own instead, in the same round trip (for
        work that is one statement).
        """
        try:
            wait = AWAY_WAIT_SECONDS if self._unreachable else WAIT_SECONDS
            with self._pool.connection(timeout=wait) as conn:
                if read_only:
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                if not autocommit:
                    yield conn
                else:
                    conn.autocommit = True
                    try:
                        yield conn
                    finally:
                        conn.autocommit = False
        except psycopg.Error as exc:
            self._failed(exc)
            raise StoreError(f"the mail store at {self.location} failed: {_reason(exc)}") from exc
        self._succeeded()

    def close(self) -> None:
        """Close every connection."""
        self._pool.close()

    def _failed(self, exc: psycopg.Error) -> None:
        # A deadlock or serialization failure (SQLSTATE class 40) is an OperationalError too,
        # from a database that answered.
        if not isinstance(exc, psycopg.OperationalError) or (exc.sqlstate or "").startswith("40"):
            logger.error("mail store %s: %s", self.location, _reason(exc))
            return
        with self._lock:
            if self._unreachable:
                return
            self._unreachable = True
        logger.error("mail store %s: the database is unreachable: %s", self.location, _reason(exc))

    def _succeeded(self) -> None:
        if self._unreachable:
            with self._lock:
                was, self._unreachable = self._unreachable, False
            if was:
                logger.warning("mail store %s: the database is reachable again", self.location)


def _reason(exc: BaseException) -> str:
    """The first line of a database error: enough for a log line or a message."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
