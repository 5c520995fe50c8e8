"""Search terms as an SQLite WHERE clause over ``messages m`` and the ``search`` index, within
one mailbox.

User text only ever reaches SQL as bound parameters; inside those, FTS5 strings escape ``"``
and LIKE patterns escape ``%``, ``_`` and ``\\``, so no query can cause an SQL error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mail_sandbox.store.search import INDEXED_PARTS, MIN_INDEXED_LENGTH, SCANNED_PARTS, Term
from mail_sandbox.store.sqlite.schema import SEARCH_COLUMNS
from mail_sandbox.store.sqlite.values import fold

# Each part of a message (``search.INDEXED_PARTS``) as the full-text index's column and as the
# summary's, which short words scan.
_INDEX_COLUMN = {
    "subject": "subject",
    "from": "from_",
    "to": "to_",
    "cc": "cc",
    "bcc": "bcc",
    "reply_to": "reply_to",
    "message_id": "message_id",
    "tags": "tags",
    "body": "body",
}
_SUMMARY_COLUMN = {
    "subject": "m.subject",
    "from": "m.sender",
    "to": "m.to_",
    "cc": "m.cc",
    "bcc": "m.bcc",
    "reply_to": "m.reply_to",
    "message_id": "m.message_id",
    "snippet": "m.snippet",
}
_FTS_COLUMNS = {
    field: tuple(_INDEX_COLUMN[part] for part in parts) for field, parts in INDEXED_PARTS.items()
}
# Summary columns searched for words too short for the trigram index (see _short_term).
_LIKE_COLUMNS = {
    field: tuple(_SUMMARY_COLUMN[part] for part in parts) for field, parts in SCANNED_PARTS.items()
}
_MATCHING = "(SELECT rowid FROM search WHERE search MATCH ?)"
_MATCHING_ABOVE = "(SELECT rowid FROM search WHERE search MATCH ? AND rowid > ?)"
_HAS_TAG = "EXISTS (SELECT 1 FROM tags t WHERE t.message = m.id)"
_FLAGS = {
    ("is", "read"): "m.read = 1",
    ("is", "unread"): "m.read = 0",
    ("is", "tagged"): _HAS_TAG,
    ("has", "attachment"): "m.attachments > 0",
    ("has", "inline"): "m.inline > 0",
}
_COMPARISONS = {
    "after": "m.created > ?",
    "before": "m.created < ?",
    "larger": "m.size > ?",
    "smaller": "m.size < ?",
}


@dataclass(slots=True)
class Where:
    """A search as SQL over ``messages m``: the positive FTS5 expression, if any, apart from
    the other conditions (to join with AND) and their parameters, in order, and the id the
    matches must be above, if any (already among the conditions). ``scans`` says that the
    conditions read the indexed text of each message as ``search s``, joined by id."""

    match: str | None
    conditions: list[str]
    params: list[object]
    above: int | None = None
    scans: bool = False


def where_parts(
    mailbox: str, terms: Sequence[Term], *, above: int | None = None, scan: bool = False
) -> Where:
    """``terms`` over the messages of ``mailbox`` as a ``Where``; ``above`` keeps messages
    with ids above it only.

    Every positive text term goes into the one FTS5 expression, so the index is consulted
    once; the negated ones, joined with OR, into one ``NOT IN``, bounded by ``above`` inside
    too, where the index skips to those ids instead of reading all its matches.

    With ``scan``, text terms are matched instead by reading the indexed text of each of the
    mailbox's messages: the index answers for the whole store, so for a small mailbox among
    many large ones it reads every other mailbox's matches too (40-80 ms for an address in
    a mailbox of 100 among 100,000, against under 1 ms scanning its 100).
    """
    conditions: list[str] = ["m.mailbox = ?"]
    params: list[object] = [mailbox]
    matches: list[str] = []
    excluded: list[str] = []
    scans = False
    for term in terms:
        if term.field in _FTS_COLUMNS and len(str(term.value)) >= MIN_INDEXED_LENGTH:
            if scan:
                condition, values = _scanned(term)
                conditions.append(f"NOT ({condition})" if term.negated else condition)
                params.extend(values)
                scans = True
                continue
            expression = fts_expression(term.field, str(term.value))
            (excluded if term.negated else matches).append(expression)
            continue
        condition, values = _condition(term)
        conditions.append(f"NOT ({condition})" if term.negated else condition)
        params.extend(values)
    if excluded:
        # One set of ids to leave out, however many negated words: each NOT IN of its own
        # would gather its matches into a table of their own.
        subquery = _MATCHING if above is None else _MATCHING_ABOVE
        conditions.append(f"m.id NOT IN {subquery}")
        params += [" OR ".join(excluded)] + ([] if above is None else [above])
    if above is not None:
        conditions.append("m.id > ?")
        params.append(above)
    return Where(" AND ".join(matches) if matches else None, conditions, params, above, scans)


def where_clause(mailbox: str, terms: Sequence[Term]) -> tuple[list[str], list[object]]:
    """SQL conditions over ``messages m`` (to join with AND) and their parameters, in order:
    ``where_parts`` with the FTS5 expression as one more condition, first."""
    where = where_parts(mailbox, terms)
    if where.match is None:
        return where.conditions, where.params
    return [f"m.id IN {_MATCHING}", *where.conditions], [where.match, *where.params]


def fts_expression(field: str, value: str) -> str:
    """An FTS5 query matching ``value`` as a substring in the columns of ``field``."""
    phrase = '"' + value.replace('"', '""') + '"'
    columns = _FTS_COLUMNS[field]
    if set(columns) == set(SEARCH_COLUMNS):
        return phrase  # no column filter: the index's every column
    return "{" + " ".join(columns) + "}: " + phrase


def _scanned(term: Term) -> tuple[str, list[object]]:
    """A substring test of the term's columns of the indexed text (``search s``), folded to
    one case as the trigram index folds it."""
    columns = _FTS_COLUMNS[term.field]
    needle = fold(str(term.value))
    condition = " OR ".join(f"instr(fold(s.{column}), ?) > 0" for column in columns)
    return f"({condition})", [needle] * len(columns)


def like_pattern(value: str) -> str:
    """A LIKE pattern (with ``ESCAPE '\\'``) matching ``value`` anywhere."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _condition(term: Term) -> tuple[str, list[object]]:
    if term.field in _LIKE_COLUMNS:
        return _short_term(term)
    if term.field == "tag":
        # The column's NOCASE collation makes this case-insensitive.
        return "EXISTS (SELECT 1 FROM tags t WHERE t.message = m.id AND t.name = ?)", [term.value]
    if term.field in ("is", "has"):
        return _FLAGS[(term.field, str(term.value))], []
    if term.field in ("after", "before"):
        assert isinstance(term.value, datetime)
        return _COMPARISONS[term.field], [int(term.value.timestamp() * 1000)]
    if term.field in _COMPARISONS:
        return _COMPARISONS[term.field], [int(term.value)]  # type: ignore[arg-type]
    raise ValueError(f"unknown search field {term.field!r}")


def _short_term(term: Term) -> tuple[str, list[object]]:
    """A LIKE over summary columns for words of 1 or 2 characters.

    The trigram index cannot look those up, and a LIKE over the indexed body text would read
    every stored body; the summary columns (subject, addresses, Message-ID, snippet) are small
    enough to scan. So a 1-2 character free word finds the body's snippet, not all of it.
    """
    pattern = like_pattern(str(term.value))
    columns = _LIKE_COLUMNS[term.field]
    condition = " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for column in columns)
    return f"({condition})", [pattern] * len(columns)
