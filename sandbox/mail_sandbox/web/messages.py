"""Loading one message for display: resolve ``latest``, read it, parse it, mark it read.

These are blocking calls; handlers run them with ``asyncio.to_thread``, one hop per request.
"""

from __future__ import annotations

from dataclasses import dataclass

from mail_sandbox.mime import MessageView, parse_message
from mail_sandbox.store.contract import MessageStore, Summary

LATEST = "latest"


@dataclass(slots=True)
class LoadedMessage:
    """A message's summary, exact bytes and parsed view."""

    summary: Summary
    raw: bytes
    view: MessageView


def resolve_id(store: MessageStore, message_id: str) -> str | None:
    """The real ID for ``message_id`` (``latest`` means the newest), or None when empty."""
    if message_id == LATEST:
        return store.latest_id()
    return message_id


def load_raw(store: MessageStore, message_id: str) -> bytes | None:
    """The exact bytes of a message (``latest`` allowed), or None when there is none."""
    resolved = resolve_id(store, message_id)
    return None if resolved is None else store.raw(resolved)


def load_message(store: MessageStore, message_id: str, *, mark_read: bool) -> LoadedMessage | None:
    """Everything the message page and API need, or None when there is no such message."""
    resolved = resolve_id(store, message_id)
    if resolved is None:
        return None
    summary = store.summary(resolved)
    raw = store.raw(resolved)
    if summary is None or raw is None:
        return None
    if mark_read and not summary.read:
        store.set_read([resolved], True)
        summary.read = True
    return LoadedMessage(summary=summary, raw=raw, view=parse_message(raw))
