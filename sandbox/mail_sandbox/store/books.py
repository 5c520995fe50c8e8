"""What a store remembers about its mailboxes in this process, the same in every backend:
deletions since it opened, when it last recorded a use, password checks that passed, and who
listens for new mail."""

from __future__ import annotations

import hashlib
import logging
import threading

from mail_sandbox.mailboxes import password_matches
from mail_sandbox.store.contract import MailboxListener

logger = logging.getLogger(__name__)

#: A mailbox's use is written at most this often (ms) per mailbox: every request under
#: ``/m/NAME/`` counts as one, and the TTL needs no finer clock than that.
TOUCH_EVERY_MS = 1000


class MailboxBooks:
    """Thread-safe; one per store object."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deleted: dict[str, int] = {}
        self._touched: dict[str, int] = {}
        self._passed: set[tuple[str, str, str]] = set()
        self._listeners: list[MailboxListener] = []

    def count_deleted(self, mailbox: str, count: int) -> int:
        """Note ``count`` more messages of ``mailbox`` gone; returns ``count``."""
        if count:
            with self._lock:
                self._deleted[mailbox] = self._deleted.get(mailbox, 0) + count
        return count

    def deleted_in(self, mailbox: str) -> int:
        """Messages of ``mailbox`` deleted since the store opened, pruned ones included."""
        with self._lock:
            return self._deleted.get(mailbox, 0)

    def forget(self, mailbox: str) -> None:
        """``mailbox`` was deleted: a new one of that name starts afresh."""
        with self._lock:
            self._deleted.pop(mailbox, None)
            self._touched.pop(mailbox, None)

    def touch_due(self, mailbox: str, now_ms: int) -> bool:
        """Whether a use of ``mailbox`` at ``now_ms`` is to be written (and note it if so)."""
        with self._lock:
            if now_ms - self._touched.get(mailbox, 0) < TOUCH_EVERY_MS:
                return False
            self._touched[mailbox] = now_ms
            return True

    def password_opens(self, mailbox: str, kept: str, password: str) -> bool:
        """Whether ``password`` is the one behind the stored hash ``kept``.

        A check that passed is remembered by the stored hash (so a mailbox made again with
        another password is checked anew): a client sends its password with every request,
        and each scrypt costs tens of milliseconds.
        """
        key = (mailbox, kept, hashlib.sha256(password.encode("utf-8", "replace")).hexdigest())
        with self._lock:
            if key in self._passed:
                return True
        if not password_matches(kept, password):
            return False
        with self._lock:
            self._passed.add(key)
        return True

    def add_listener(self, listener: MailboxListener) -> None:
        """Hear of new mail in every mailbox (see ``tell``)."""
        with self._lock:
            self._listeners.append(listener)

    def tell(self, arrived: dict[str, list[str]]) -> None:
        """Tell every listener of ``arrived`` (IDs by mailbox), in the caller's thread; one that
        fails is logged and the others still hear."""
        with self._lock:
            listeners = list(self._listeners)
        for mailbox, ids in arrived.items():
            for listener in listeners:
                try:
                    listener(mailbox, ids)
                except Exception:
                    logger.exception("mail store: a new-message listener failed")
