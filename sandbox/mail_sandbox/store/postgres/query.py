"""Search terms as a PostgreSQL WHERE clause over ``mail_sandbox_messages m``, within one
mailbox, matching what the SQLite store's translation (``sqlite.query``) matches.

A text term of 3 or more characters is a case-insensitive substring of its field's searchable
text (``ILIKE '%x%'``, which the trigram indexes answer); a shorter one is looked for in the
summary columns only (subject, addresses, Message-ID, snippet), as in SQLite, so that it never
reads every body. User text reaches SQL only as bound parameters, patterns with ``%``, ``_``
and ``\\`` escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from mail_sandbox.store.search import INDEXED_PARTS, MIN_INDEXED_LENGTH, SCANNED_PARTS, Term
from mail_sandbox.store.sqlite.query import like_pattern

# Each part of a message (``search.INDEXED_PARTS``) as its searchable text column, with a
# trigram index, and as its summary column, which short words scan.
_INDEXED_COLUMN = {
    "subject": "subject",
    "from": "from_text",
    "to": "to_text",
    "cc": "cc_text",
    "bcc": "bcc_text",
    "reply_to": "reply_to_text",
    "message_id": "message_id",
    "body": "body",
}
_TAG_TEST = "EXISTS (SELECT 1 FROM mail_sandbox_tags t WHERE t.message = m.id AND t.name ILIKE %s)"
# An address looked up by its local part first: the trigrams of a domain that most messages
# share (every reset email of a test run, say) each list all of them, and make the index lookup
# of the whole address several times slower than that of the part before the ``@``, which the
# whole pattern then checks on the few messages found. The subquery is planned on its own
# (``OFFSET 0``), so that PostgreSQL cannot fold the two patterns into one lookup again.
_BY_LOCAL_PART = (
    "(m.id IN (SELECT id FROM mail_sandbox_messages WHERE {column} ILIKE %s OFFSET 0) "
    "AND m.{column} ILIKE %s)"
)
_SCANNED_TEST = {
    "subject": "m.subject ILIKE %s",
    "from": "m.sender ILIKE %s",
    "to": "m.to_ ILIKE %s",
    "cc": "m.cc ILIKE %s",
    "bcc": "m.bcc ILIKE %s",
    "reply_to": "m.reply_to ILIKE %s",
    "message_id": "m.message_id ILIKE %s",
    "snippet": "m.snippet ILIKE %s",
}
_HAS_TAG = "EXISTS (SELECT 1 FROM mail_sandbox_tags t WHERE t.message = m.id)"
_FLAGS = {
    ("is", "read"): "m.read",
    ("is", "unread"): "NOT m.read",
    ("is", "tagged"): _HAS_TAG,
    ("has", "attachment"): "m.attachments > 0",
    ("has", "inline"): "m.inline > 0",
}
_COMPARISONS = {
    "after": "m.created > %s",
    "before": "m.created < %s",
    "larger": "m.size > %s",
    "smaller": "m.size < %s",
}


def where_clause(
    mailbox: str, terms: Sequence[Term], *, above: int | None = None
) -> tuple[str, list[object]]:
    """``terms`` over the messages of ``mailbox`` (with ids above ``above``, if given) as one
    SQL condition and its parameters, in order."""
    conditions = ["m.mailbox = %s"]
    params: list[object] = [mailbox]
    if above is not None:
        conditions.append("m.id > %s")
        params.append(above)
    for term in terms:
        condition, values = _condition(term)
        conditions.append(f"NOT ({condition})" if term.negated else condition)
        params.extend(values)
    return " AND ".join(conditions), params


def _condition(term: Term) -> tuple[str, list[object]]:
    if term.field in INDEXED_PARTS:
        return _text_condition(term)
    if term.field == "tag":
        return (
            "EXISTS (SELECT 1 FROM mail_sandbox_tags t WHERE t.message = m.id "
            "AND t.mailbox = m.mailbox AND lower(t.name) = lower(%s))",
            [term.value],
        )
    if term.field in ("is", "has"):
        return _FLAGS[(term.field, str(term.value))], []
    if term.field in ("after", "before"):
        assert isinstance(term.value, datetime)
        return _COMPARISONS[term.field], [int(term.value.timestamp() * 1000)]
    if term.field in _COMPARISONS:
        return _COMPARISONS[term.field], [int(term.value)]  # type: ignore[arg-type]
    raise ValueError(f"unknown search field {term.field!r}")


def _text_condition(term: Term) -> tuple[str, list[object]]:
    value = str(term.value)
    if len(value) < MIN_INDEXED_LENGTH:
        tests = [_SCANNED_TEST[part] for part in SCANNED_PARTS[term.field]]
        return "(" + " OR ".join(tests) + ")", [like_pattern(value)] * len(tests)
    local, at, domain = value.partition("@")
    by_local_part = at and domain and len(local) + 1 >= MIN_INDEXED_LENGTH
    tests, params = [], []
    for part in INDEXED_PARTS[term.field]:
        column = _INDEXED_COLUMN.get(part)
        if column is None:
            tests.append(_TAG_TEST)
            params.append(like_pattern(value))
        elif by_local_part:
            tests.append(_BY_LOCAL_PART.format(column=column))
            # "%ann@%" for "ann@example.com".
            params += [like_pattern(local + at), like_pattern(value)]
        else:
            tests.append(f"m.{column} ILIKE %s")
            params.append(like_pattern(value))
    return "(" + " OR ".join(tests) + ")", params
