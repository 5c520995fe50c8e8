"""Fan-out of "new messages arrived" from the store's thread to waiting handlers.

Both the live inbox (server-sent events) and ``GET /api/v1/wait`` subscribe here, each to one
mailbox, so neither polls and neither hears of another mailbox's mail.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from mail_sandbox.store.contract import MailboxListener

# A subscriber that falls far behind only needs to know that something arrived, not every ID.
MAX_PENDING_IDS = 1000


class Subscription:
    """One handler's view of new-message events; created by ``NewMessageHub.subscribe``."""

    def __init__(self) -> None:
        self._pending: list[str] = []
        self._ready = asyncio.Event()
        self._closed = False

    def push(self, ids: list[str]) -> None:
        """Record newly stored IDs and wake the subscriber (event-loop thread only)."""
        self._pending.extend(ids)
        del self._pending[:-MAX_PENDING_IDS]
        self._ready.set()

    def close(self) -> None:
        """Wake the subscriber for good; ``next`` returns None from now on."""
        self._closed = True
        self._ready.set()

    async def next(self) -> list[str] | None:
        """IDs stored since the last call, waiting until there are some; None once closed."""
        await self._ready.wait()
        if self._closed:
            return None
        ids, self._pending = self._pending, []
        self._ready.clear()
        return ids


class NewMessageHub:
    """Broadcasts new message IDs to the current subscribers of their mailbox, on one loop."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._closed = False

    @contextlib.contextmanager
    def subscribe(self, mailbox: str) -> Iterator[Subscription]:
        """A subscription to every ID stored in ``mailbox`` while the block runs."""
        subscription = Subscription()
        if self._closed:
            subscription.close()
        subscribers = self._subscriptions.setdefault(mailbox, set())
        subscribers.add(subscription)
        try:
            yield subscription
        finally:
            subscribers.discard(subscription)
            if not subscribers and self._subscriptions.get(mailbox) is subscribers:
                del self._subscriptions[mailbox]

    def publish(self, mailbox: str, ids: list[str]) -> None:
        """Hand IDs new in ``mailbox`` to its subscribers (event-loop thread only)."""
        for subscription in tuple(self._subscriptions.get(mailbox, ())):
            subscription.push(ids)

    def close(self) -> None:
        """End every subscription, so long-lived requests return and shutdown is quick."""
        self._closed = True
        for subscribers in tuple(self._subscriptions.values()):
            for subscription in tuple(subscribers):
                subscription.close()

    def listener_for(self, loop: asyncio.AbstractEventLoop) -> MailboxListener:
        """A store listener that forwards IDs from the store's thread into ``loop``."""

        def forward(mailbox: str, ids: list[str]) -> None:
            if self._closed:
                return
            # The store can outlive this app and its loop; a closed loop just means nobody
            # is listening any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.publish, mailbox, list(ids))

        return forward
