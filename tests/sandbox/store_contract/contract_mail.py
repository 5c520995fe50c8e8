"""Messages and small helpers shared by the store contract tests."""

from __future__ import annotations

from mail_sandbox.store import MessageStore, Page

#: Long enough for a loaded machine; a store that never answers fails the test instead.
WITHIN = 30.0


def message(
    subject: str, body: str = "hello", to: str = "bob@example.org", tags: str = ""
) -> bytes:
    """A small plain-text message; ``tags`` becomes its X-Tags header."""
    headers = f"From: Alice <alice@example.com>\r\nTo: {to}\r\nSubject: {subject}\r\n"
    if tags:
        headers += f"X-Tags: {tags}\r\n"
    return f"{headers}\r\n{body}\r\n".encode()


def add(store: MessageStore, raw: bytes, rcpt: str = "bob@example.org") -> str:
    """Store ``raw`` and wait until it is acknowledged; returns its ID."""
    return store.add(raw, "alice@example.com", [rcpt]).result(timeout=WITHIN)


def add_many(store: MessageStore, subjects: list[str]) -> list[str]:
    """Queue one message per subject at once, then wait for them all; their IDs in order."""
    futures = [store.add(message(s), "alice@example.com", ["bob@example.org"]) for s in subjects]
    return [future.result(timeout=WITHIN) for future in futures]


def subjects(store: MessageStore, **kwargs: object) -> list[str]:
    """Subjects of the whole listing, newest first."""
    return [s.subject for s in store.list(limit=1000, **kwargs).messages]


def page_ids(page: Page) -> list[str]:
    return [s.id for s in page.messages]


def found(store: MessageStore, query: str, **kwargs: object) -> list[str]:
    """IDs of every message ``query`` matches, newest first."""
    return page_ids(store.search(query, limit=1000, **kwargs))


def answers(store: MessageStore, query: str, start: int = 0, limit: int = 20):
    """What a page of ``query`` (the listing when empty) says: its counts and its IDs."""
    page = store.search(query, start, limit) if query else store.list(start, limit)
    return (
        page.total,
        page.unread,
        page.matched,
        page.matched_unread,
        [summary.id for summary in page.messages],
    )
