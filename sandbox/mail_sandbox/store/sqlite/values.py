"""What callers' values become before SQLite binds them, and how many one statement binds.

Every value a user supplies reaches SQL as a bound parameter; statements here are built from
constant fragments and ``?`` placeholders only (hence the ``noqa: S608`` marks in this package).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import TypeVar

#: Ids bound by one ``IN (...)``: well under SQLite's limit on bound parameters per statement.
CHUNK = 500
_T = TypeVar("_T")
_SURROGATE = re.compile("[\ud800-\udfff]")


def readable(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD, so that SQLite can encode it.

    Lone surrogates are what bytes that were not UTF-8 become when decoded with
    ``surrogateescape`` (aiosmtpd decodes MAIL and RCPT so) and what JSON's ``\\udcff`` gives;
    stored as U+FFFD they show where the bad byte was.
    """
    if text.isascii():
        return text
    return _SURROGATE.sub("\ufffd", text)


def possible_ids(ids: Sequence[str]) -> list[str]:
    """The IDs among ``ids`` that could name a message: every ID given out is ASCII, so any
    other (one SQLite cannot even encode, say) names none."""
    return [uid for uid in ids if isinstance(uid, str) and uid.isascii()]


def chunks(items: list[_T]) -> Iterator[list[_T]]:
    """``items`` in slices of at most ``CHUNK``, one statement's worth each."""
    for index in range(0, len(items), CHUNK):
        yield items[index : index + CHUNK]


def marks(items: Sequence[object]) -> str:
    """The placeholders of an ``IN (...)`` list binding ``items``."""
    return ",".join("?" * len(items))


def dump_json(value: object) -> str:
    """Compact JSON, as the columns holding addresses and envelope recipients store it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def fold(text: str | None) -> str | None:
    """``text`` in the case a substring match compares, as the trigram index compares it
    (case-insensitively): SQL calls it as ``fold(column)`` where it scans instead of asking the
    index (see ``query``), and the text searched for is folded alike."""
    return None if text is None else text.lower()
