"""A parsed message as the columns of ``mail_sandbox_messages``, and those columns as a
``Summary`` again."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from mail_sandbox.store.contract import Address, Summary
from mail_sandbox.store.parse import ParsedMessage
from mail_sandbox.store.postgres.values import storable
from mail_sandbox.store.sqlite.values import dump_json, readable

logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The columns a message is inserted with, in ``message_row`` order.
INSERT_COLUMNS = (
    "uid, mailbox, created, message_id, sender, to_, cc, bcc, reply_to, return_path, subject, "
    "date, size, attachments, inline, snippet, exact, from_text, to_text, cc_text, bcc_text, "
    "reply_to_text, body"
)
#: The columns a summary is read from, in ``summary_of`` order.
SUMMARY_COLUMNS = (
    "m.id, m.uid, m.created, m.read, m.message_id, m.sender, m.to_, m.cc, m.bcc, m.reply_to, "
    "m.return_path, m.subject, m.date, m.size, m.attachments, m.inline, m.snippet, m.exact"
)
# Summary texts shown as they are, which ``exact`` keeps when they held NULs.
_EXACT = ("message_id", "return_path", "subject", "snippet")


def message_row(uid: str, mailbox: str, created: int, facts: ParsedMessage) -> tuple[Any, ...]:
    """The values of ``INSERT_COLUMNS`` for one new message."""
    texts = {name: readable(getattr(facts, name)) for name in _EXACT}
    exact = {name: text for name, text in texts.items() if "\0" in text}
    date = None if facts.date is None else int(facts.date.timestamp() * 1000)
    return (
        uid,
        mailbox,
        created,
        storable(texts["message_id"]),
        dump_json([readable(facts.sender.name), readable(facts.sender.address)]),
        _dump_addresses(facts.to),
        _dump_addresses(facts.cc),
        _dump_addresses(facts.bcc),
        _dump_addresses(facts.reply_to),
        storable(texts["return_path"]),
        storable(texts["subject"]),
        date,
        facts.size,
        facts.attachments,
        facts.inline,
        storable(texts["snippet"]),
        dump_json(exact) if exact else None,
        _address_text([facts.sender]),
        _address_text(facts.to),
        _address_text(facts.cc),
        _address_text(facts.bcc),
        _address_text(facts.reply_to),
        storable(facts.text),
    )


def summary_of(row: Sequence[Any], tags: list[str]) -> Summary:
    """The ``Summary`` of a row of ``SUMMARY_COLUMNS``."""
    exact = json.loads(row[17]) if row[17] else {}
    sender_name, sender_address = json.loads(row[5])
    return Summary(
        id=row[1],
        message_id=exact.get("message_id", row[4]),
        read=bool(row[3]),
        sender=Address(sender_name, sender_address),
        to=_load_addresses(row[6]),
        cc=_load_addresses(row[7]),
        bcc=_load_addresses(row[8]),
        reply_to=_load_addresses(row[9]),
        return_path=exact.get("return_path", row[10]),
        subject=exact.get("subject", row[11]),
        created=when(row[2]),
        date=when(row[12]),
        size=row[13],
        attachments=row[14],
        inline=row[15],
        snippet=exact.get("snippet", row[16]),
        tags=tags,
    )


def waiting_summary(uid: str, mailbox: str, created: int, facts: ParsedMessage) -> Summary:
    """The summary of a message not indexed yet, exactly as it will read once indexed: its
    columns as the indexer will write them (``facts.tags`` spelled as they will be kept)."""
    values = message_row(uid, mailbox, created, facts)
    # INSERT_COLUMNS from message_id to exact are SUMMARY_COLUMNS' from the fifth on.
    row = (0, uid, created, False, *values[3:17])
    return summary_of(row, sorted(facts.tags, key=lambda tag: tag.lower()))


def envelope_text(sender: str, recipients: Sequence[str]) -> str:
    """The envelope as ``mail_sandbox_incoming`` keeps it: JSON text (which escapes NUL), lone
    surrogates made U+FFFD as everywhere in the store."""
    return dump_json([readable(sender), [readable(each) for each in recipients]])


def read_envelope(text: str) -> tuple[str, list[str]]:
    """``envelope_text`` read back; an unreadable one (written by hand, say) as empty, so
    that the message is indexed all the same."""
    try:
        sender, recipients = json.loads(text)
        return str(sender), [str(each) for each in recipients]
    except (ValueError, TypeError):
        logger.warning("mail store: a waiting message's envelope is unreadable: %.100r", text)
        return "", []


def when(ms: int | None) -> datetime | None:
    """A time kept as ms since the epoch, as an aware UTC datetime."""
    return None if ms is None else _EPOCH + timedelta(milliseconds=ms)


def _dump_addresses(addresses: list[Address]) -> str:
    """Addresses as a summary column keeps them: ``[[name, address], ...]`` (JSON escapes NUL)."""
    return dump_json([[readable(a.name), readable(a.address)] for a in addresses])


def _load_addresses(text: str) -> list[Address]:
    return [Address(name, address) for name, address in json.loads(text)]


def _address_text(addresses: list[Address]) -> str:
    """Addresses as people write them, for the search: ``Name <address>, ...``."""
    return storable(
        ", ".join(
            f"{a.name} <{a.address}>" if a.name else a.address
            for a in addresses
            if a.name or a.address
        )
    )
