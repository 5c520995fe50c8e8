"""What callers' values become before PostgreSQL binds them.

PostgreSQL text holds neither lone surrogates (bytes that were not UTF-8, decoded with
``surrogateescape``) nor NUL characters. Surrogates become U+FFFD, as in the SQLite store; a NUL
in searchable text becomes a space, which is what a NUL in a query becomes (``search``).
"""

from __future__ import annotations

from collections.abc import Sequence

from mail_sandbox.store.sqlite.values import readable


def storable(text: str) -> str:
    """``text`` as a text column can hold it: no lone surrogates, no NULs."""
    return readable(text).replace("\0", " ")


def possible_ids(ids: Sequence[object]) -> list[str]:
    """The IDs among ``ids`` that could name a message: every ID given out is ASCII without
    NUL, so any other (one PostgreSQL could not even take) names none."""
    return [uid for uid in ids if isinstance(uid, str) and uid.isascii() and "\0" not in uid]
