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

from mail_sandbox.store.search import MIN_INDEXED_LENGTH, Term
from mail_sandbox.store.sqlite.query import like_pattern

_ADDRESS_TEXT = ("m.from_text", "m.to_text", "m.cc_text", "m.bcc_text", "m.reply_to_text")
_TAG_LIKE = "EXISTS (SELECT 1 FROM mail_sandbox_tags t WHERE t.message = m.id AND t.name ILIKE %s)"
# Columns of the searchable text per field; the free word also finds the tags.
_TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "text": ("m.subject", *_ADDRESS_TEXT, "m.message_id", "m.body"),
    "to": ("m.to_text",),
    "from": ("m.from_text",),
    "cc": ("m.cc_text",),
    "bcc": ("m.bcc_text",),
    "reply-to": ("m.reply_to_text",),
    "addressed": _ADDRESS_TEXT,
    "subject": ("m.subject",),
    "message-id": ("m.message_id",),
}
_ADDRESS_SUMMARY = ("m.sender", "m.to_", "m.cc", "m.bcc", "m.reply_to")
_SHORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "text": ("m.subject", *_ADDRESS_SUMMARY, "m.message_id", "m.snippet"),
    "to": ("m.to_",),
    "from": ("m.sender",),
    "cc": ("m.cc",),
    "bcc": ("m.bcc",),
    "reply-to": ("m.reply_to",),
    "addressed": _ADDRESS_SUMMARY,
    "subject": ("m.subject",),
    "message-id": ("m.message_id",),
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
    if term.field in _TEXT_COLUMNS:
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
    pattern = like_pattern(value)
    if len(value) < MIN_INDEXED_LENGTH:
        columns = _SHORT_COLUMNS[term.field]
        tests = [f"{column} ILIKE %s" for column in columns]
    else:
        columns = _TEXT_COLUMNS[term.field]
        tests = [f"{column} ILIKE %s" for column in columns]
        if term.field == "text":
            tests.append(_TAG_LIKE)
    return "(" + " OR ".join(tests) + ")", [pattern] * len(tests)
