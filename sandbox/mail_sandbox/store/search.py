"""Mailpit's search grammar, parsed into terms that any store can turn into its own query.

Kept free of SQL so that a PostgreSQL store can reuse it. Terms combine with AND.

Every way of searching (the list, changes and deletes by search, ``wait``) parses its query
here, so the limits below bound them all. A substring search costs time in proportion to how
many index entries its text touches: on 100,000 messages that all hold the query's trigrams,
about 20 ms for each trigram of a negated or OR-ed word, and 0.1 s for each word of one or two
characters (found by scanning, see ``sqlite.query``). Within the limits, typical queries answer
in well under half a second there and the costliest (all terms negated, or one phrase of the
full length) in about one; the limits still leave room for any subject or Message-ID a test
waits for.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from mail_sandbox.store.contract import SearchError

#: The parts of a message each text field looks in (a substring of any of them, ignoring
#: case); ``text`` is a free word. Every backend maps these part names to its own columns.
ADDRESS_PARTS = ("from", "to", "cc", "bcc", "reply_to")
INDEXED_PARTS: dict[str, tuple[str, ...]] = {
    "text": ("subject", *ADDRESS_PARTS, "message_id", "tags", "body"),
    "to": ("to",),
    "from": ("from",),
    "cc": ("cc",),
    "bcc": ("bcc",),
    "reply-to": ("reply_to",),
    "addressed": ADDRESS_PARTS,
    "subject": ("subject",),
    "message-id": ("message_id",),
}
#: The same for a word shorter than ``MIN_INDEXED_LENGTH``, which no index can look up and is
#: found by scanning: the summary's parts only, the snippet standing in for the body.
SCANNED_PARTS: dict[str, tuple[str, ...]] = {
    **INDEXED_PARTS,
    "text": ("subject", *ADDRESS_PARTS, "message_id", "snippet"),
}
#: Fields whose value is matched as a case-insensitive substring.
TEXT_FIELDS = frozenset(INDEXED_PARTS)
FLAG_VALUES = {
    "is": frozenset({"read", "unread", "tagged"}),
    "has": frozenset({"attachment", "inline"}),
}
#: Every ``field:`` the grammar reads; any other ``word:value`` is plain text.
KNOWN_FIELDS = TEXT_FIELDS | {"tag", "is", "has", "after", "before", "larger", "smaller"}

#: Longest query accepted, in characters.
MAX_QUERY_LENGTH = 256
#: Most terms (words, phrases and operators) in one query.
MAX_TERMS = 8
#: Shortest text a trigram index can look up; shorter words are found by scanning.
MIN_INDEXED_LENGTH = 3
#: Most words shorter than ``MIN_INDEXED_LENGTH`` in one query: each scans every summary.
MAX_SHORT_TERMS = 2

# A token is a run of non-space text in which "double quoted parts" may hold spaces; a quote
# left open runs to the end of the query rather than being an error.
_TOKEN = re.compile(r'(?:[^\s"]+|"[^"]*(?:"|$))+')
_FIELD = re.compile(r"([A-Za-z-]+):(.*)", re.DOTALL)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SIZE = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)")
#: The units ``larger:`` and ``smaller:`` take (1 kB = 1024 bytes).
SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gib": 1024**3,
}
# Bigger than any message, yet small enough for a 64-bit database integer.
_SIZE_CEILING = 2**62


@dataclass(frozen=True, slots=True)
class Term:
    """One search condition.

    ``field`` is ``"text"`` for a free word or phrase, else the operator name without the
    colon (``"to"``, ``"reply-to"``, ``"is"``, ``"after"``...). ``value`` is a ``str`` for text
    fields, ``tag``, ``is`` and ``has``; a UTC ``datetime`` for ``after``/``before``; a byte
    count (``int``) for ``larger``/``smaller``.
    """

    field: str
    value: str | int | datetime
    negated: bool = False


def parse_query(query: str) -> list[Term]:
    """Split a search query into terms; raises ``SearchError`` for values it cannot read.

    An empty query gives no terms, which matches everything. A term given twice is kept
    once (and counted once against the limits): the second adds nothing but cost.
    """
    if len(query) > MAX_QUERY_LENGTH:
        raise SearchError(
            f"the search query is {len(query)} characters long; at most {MAX_QUERY_LENGTH} "
            "are allowed"
        )
    # Lone surrogates (from badly encoded URLs) and NULs cannot reach a database intact.
    query = query.encode("utf-8", "replace").decode("utf-8").replace("\0", " ")
    terms: list[Term] = []
    for token in _TOKEN.findall(query):
        term = _parse_token(token)
        if term is not None:
            terms.append(term)
    terms = list(dict.fromkeys(terms))
    if len(terms) > MAX_TERMS:
        raise SearchError(
            f"the search query has {len(terms)} terms; at most {MAX_TERMS} are allowed"
        )
    short = [t for t in terms if t.field in TEXT_FIELDS and len(str(t.value)) < MIN_INDEXED_LENGTH]
    if len(short) > MAX_SHORT_TERMS:
        raise SearchError(
            f"the search query has {len(short)} words shorter than {MIN_INDEXED_LENGTH} "
            f"characters; at most {MAX_SHORT_TERMS} are allowed"
        )
    return terms


def _parse_token(token: str) -> Term | None:
    negated = False
    if token[0] in "-!" and len(token) > 1:
        negated = True
        token = token[1:]
    match = _FIELD.fullmatch(token)
    if match and match.group(1).lower() in KNOWN_FIELDS:
        field, raw_value = match.group(1).lower(), match.group(2)
    else:
        field, raw_value = "text", token
    value = raw_value.replace('"', "").strip()
    if not value:
        if field == "text":
            return None
        raise SearchError(f'"{field}:" needs a value, for example {_example(field)}')
    return Term(field, _convert(field, value), negated)


def _convert(field: str, value: str) -> str | int | datetime:
    if field in FLAG_VALUES:
        return _flag(field, value)
    if field in ("after", "before"):
        return parse_date(value, field)
    if field in ("larger", "smaller"):
        return parse_size(value, field)
    return value


def _flag(field: str, value: str) -> str:
    flag = value.lower()
    if field == "has" and flag == "attachments":
        flag = "attachment"
    if flag not in FLAG_VALUES[field]:
        allowed = ", ".join(f"{field}:{v}" for v in sorted(FLAG_VALUES[field]))
        raise SearchError(f'"{field}:{value}" is not a search operator; use {allowed}')
    return flag


def parse_date(value: str, field: str = "after") -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an RFC 3339 time, as an aware UTC datetime."""
    try:
        if _DAY.fullmatch(value):
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value.upper())
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise SearchError(
            f'"{field}:{value}" is not a date; use YYYY-MM-DD or a time like '
            f"2024-05-31T12:00:00Z (UTC)"
        ) from None


def parse_size(value: str, field: str = "larger") -> int:
    """A size such as ``2kb``, ``1.5MB`` or ``300`` (bytes) as a byte count (1 kB = 1024)."""
    match = _SIZE.fullmatch(value.lower())
    if not match or match.group(2) not in SIZE_UNITS:
        raise SearchError(f'"{field}:{value}" is not a size; use bytes or a size like 2kb or 1.5MB')
    size = float(match.group(1)) * SIZE_UNITS[match.group(2)]
    if not math.isfinite(size):
        return _SIZE_CEILING
    return min(int(size), _SIZE_CEILING)


def _example(field: str) -> str:
    examples = {
        "is": "is:unread",
        "has": "has:attachment",
        "after": "after:2024-05-31",
        "before": "before:2024-05-31",
        "larger": "larger:2kb",
        "smaller": "smaller:1MB",
        "tag": "tag:urgent",
    }
    return examples.get(field, f"{field}:example.com")
