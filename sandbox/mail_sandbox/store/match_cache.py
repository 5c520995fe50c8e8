"""Counts of a query remembered between requests, for stores whose mailboxes only grow between
changes.

A client that polls (a test waiting for mail, the inbox with a search typed in) asks the same
query over and over. A store remembers each query's counts with the mailbox's change
generation and the newest id they cover; while the generation stands, the next request counts
only the messages stored since. Each store says what its generation is and why ids only grow
within one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

#: Queries remembered, least recently used forgotten first.
KEPT_QUERIES = 64
#: Most ids of matches a query keeps; a query matching more finds its page by the store's own
#: order instead (fast, since the newest matches are then close at hand).
KEPT_IDS = 1000


@dataclass(frozen=True, slots=True)
class Matches:
    """What a query matched up to id ``upto`` when the mailbox was at ``generation``.

    ``ids`` (newest first) holds every match when the store keeps them (when they are few),
    else None.
    """

    generation: int
    upto: int
    count: int
    unread: int
    ids: tuple[int, ...] | None


class MatchCache:
    """The remembered ``Matches`` of recent queries; safe to share between threads."""

    def __init__(self, size: int = KEPT_QUERIES) -> None:
        self._size = size
        self._entries: OrderedDict[Any, Matches] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Matches | None:
        """The remembered matches of ``key``, or None."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: Any, matches: Matches) -> None:
        """Remember ``matches`` for ``key``."""
        with self._lock:
            self._entries[key] = matches
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def known(self, key: Any, generation: int, newest: int) -> Matches | None:
        """What ``key`` matched, if that still holds in a mailbox at ``generation`` whose
        newest id is ``newest`` (it then matches that, plus what is new above ``upto``)."""
        found = self.get(key)
        if found is None or found.generation != generation or found.upto > newest:
            return None
        return found

    def grow(
        self,
        key: Any,
        known: Matches | None,
        state: tuple[int, int],
        new: tuple[int, int, tuple[int, ...] | None],
    ) -> Matches:
        """Remember and return ``known`` (or nothing) plus the ``new`` matches above its
        ``upto``: ``(count, unread, ids or None)``, at ``state`` ``(generation, newest)``."""
        generation, newest = state
        count, unread, ids = new
        if known is not None:
            count, unread = known.count + count, known.unread + unread
            ids = None if ids is None or known.ids is None else ids + known.ids
            ids = ids if ids is not None and len(ids) <= KEPT_IDS else None
        found = Matches(generation, newest, count, unread, ids)
        self.put(key, found)
        return found
