"""New mail between processes that share one PostgreSQL store, by LISTEN/NOTIFY.

A store that commits new messages also announces them on ``CHANNEL`` in the same transaction
(PostgreSQL delivers a notification only once its transaction commits, so no process hears of
a message it cannot read yet). Every store listens there on a connection of its own and hands
what other processes announced to its listeners, as if it had stored the mail itself: the
``wait`` and the live inbox of one server answer for mail that another accepted.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

logger = logging.getLogger(__name__)

CHANNEL = "mail_sandbox_new"
#: PostgreSQL refuses payloads of 8000 bytes or more; IDs are 22 characters, so a notice
#: carries a few hundred, and a bigger burst is announced in several.
_MAX_PAYLOAD = 7000
#: How often the listening thread looks up from waiting, to notice that it should stop.
_POLL_SECONDS = 0.5
#: How long it waits before connecting again after the database went away.
_RETRY_SECONDS = 1.0

Notice = Callable[[str, list[str]], None]


def announce(conn: psycopg.Connection[Any], origin: str, mailbox: str, ids: Sequence[str]) -> None:
    """Announce ``ids`` new in ``mailbox``, inside the caller's transaction on ``conn``.

    ``origin`` tells the announcing store's own listener to ignore it (it has told its
    listeners already).
    """
    chunk: list[str] = []
    size = 0
    for message_id in ids:
        if chunk and size + len(message_id) + 4 > _MAX_PAYLOAD:
            _notify(conn, origin, mailbox, chunk)
            chunk, size = [], 0
        chunk.append(message_id)
        size += len(message_id) + 4
    if chunk:
        _notify(conn, origin, mailbox, chunk)


def _notify(conn: psycopg.Connection[Any], origin: str, mailbox: str, ids: list[str]) -> None:
    payload = json.dumps([origin, mailbox, ids], separators=(",", ":"))
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))


class NoticeListener:
    """Listens on ``CHANNEL`` at ``url`` in a thread; calls ``on_notice(mailbox, ids)`` for
    every announcement not made by ``origin``.

    When the database goes away it connects again every ``_RETRY_SECONDS`` (the store's own
    calls log the outage, once); what was announced meanwhile is not heard (a ``wait`` that
    missed it still finds the mail at its next look, or when it times out).
    """

    def __init__(self, url: str, origin: str, on_notice: Notice) -> None:
        self._url = url
        self._origin = origin
        self._on_notice = on_notice
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mail-store-notices", daemon=True)

    def start(self, *, timeout: float = 10.0) -> None:
        """Start listening; returns once LISTEN is in force (or ``timeout`` passed), so that
        nothing committed after this call goes unheard."""
        self._thread.start()
        self._listening.wait(timeout)

    def stop(self) -> None:
        """Stop listening and wait for the thread (at most about ``_POLL_SECONDS``)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=_POLL_SECONDS * 4 + 5)

    def _run(self) -> None:
        failing = False
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    if failing:
                        logger.debug("mail store: hearing of other servers' mail again")
                    failing = False
                    self._listening.set()
                    self._listen(conn)
            except psycopg.Error as exc:
                if not failing:
                    # The store logs the database's outage once; this is the same outage.
                    logger.debug(
                        "mail store: cannot hear of other servers' mail (%s); retrying",
                        str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc),
                    )
                failing = True
                self._listening.set()  # start() must not hang on a database that is away
                self._stopping.wait(_RETRY_SECONDS)

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        while not self._stopping.is_set():
            for notice in conn.notifies(timeout=_POLL_SECONDS):
                self._heard(notice.payload)

    def _heard(self, payload: str) -> None:
        try:
            origin, mailbox, ids = json.loads(payload)
        except (ValueError, TypeError):
            logger.warning("mail store: an unreadable notice on %s: %.100r", CHANNEL, payload)
            return
        if origin == self._origin or not isinstance(ids, list):
            return
        try:
            self._on_notice(str(mailbox), [str(message_id) for message_id in ids])
        except Exception:
            logger.exception("mail store: a listener of other servers' mail failed")
