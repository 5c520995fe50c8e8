"""The facts the list, the search index and ``wait`` keep about each message, read once.

This runs for every message received, so it reads only what a summary needs: the headers it
shows, the parts it counts and the text it indexes, through the same MIME rules the message
view uses (``mail_sandbox.mime``). Nothing here raises: what cannot be read is left empty.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

from mail_sandbox.message_limits import MAX_ADDRESSES
from mail_sandbox.mime.headers import (
    MALFORMED,
    bare_id,
    decode_words,
    first_text,
    header_values,
    message_date,
    to_utf8,
)
from mail_sandbox.mime.html_text import visible_text
from mail_sandbox.mime.parts import Parts, message_parts, text_of
from mail_sandbox.mime.tree import read_message
from mail_sandbox.store.contract import Address, MessageFacts
from mail_sandbox.tags import header_tags

SNIPPET_LENGTH = 250
INDEXED_TEXT_LIMIT = 64 * 1024
# HTML is only stripped when a message has no text part; bounding its input bounds the cost.
_HTML_INPUT_LIMIT = 4 * INDEXED_TEXT_LIMIT


@dataclass(slots=True, kw_only=True)
class ParsedMessage(MessageFacts):
    """Everything ``summarize`` could read from one message."""

    text: str = ""  # body text for the search index, capped at INDEXED_TEXT_LIMIT


def summarize(raw: bytes, envelope_from: str, envelope_to: Sequence[str]) -> ParsedMessage:
    """Read the summary fields and the text to index from ``raw``; never raises.

    Bcc is every envelope recipient not named in To or Cc (as Mailpit reports it) and the
    return path is the envelope sender.
    """
    message = read_message(raw)
    senders = _addresses(message, "From")
    to = _addresses(message, "To")
    cc = _addresses(message, "Cc")
    parts = message_parts(message)
    text = _body_text(parts)
    return ParsedMessage(
        message_id=bare_id(first_text(message, "Message-ID")),
        sender=senders[0] if senders else Address(),
        to=to,
        cc=cc,
        bcc=_blind_copies(envelope_to, to + cc),
        reply_to=_addresses(message, "Reply-To"),
        return_path=envelope_from or "",
        subject=first_text(message, "Subject").strip(),
        date=message_date(message),
        size=len(raw),
        attachments=len(parts.attachments),
        inline=len(parts.inline),
        snippet=make_snippet(text[: SNIPPET_LENGTH * 8]),
        tags=header_tags(map(decode_words, header_values(message, "X-Tags"))),
        text=text[:INDEXED_TEXT_LIMIT],
    )


def make_snippet(text: str) -> str:
    """The first ``SNIPPET_LENGTH`` characters of ``text``, whitespace collapsed."""
    # split() breaks at the same whitespace as the regex \s, at a tenth of the cost.
    collapsed = " ".join(text.split())
    if len(collapsed) > SNIPPET_LENGTH:
        return collapsed[:SNIPPET_LENGTH].rstrip() + "..."
    return collapsed


def _body_text(parts: Parts) -> str:
    """Every plain body in document order; the visible text of the HTML ones when none."""
    if parts.plain:
        return "\n".join(text_of(leaf.part) for leaf in parts.plain)
    markup = "\n".join(text_of(leaf.part) for leaf in parts.html)
    return visible_text(markup[:_HTML_INPUT_LIMIT])


def _addresses(message: Message, name: str) -> list[Address]:
    """The mailboxes in every ``name`` header, display names decoded, the first
    ``MAX_ADDRESSES``."""
    found: list[Address] = []
    for value in header_values(message, name):
        found += _mailboxes(value)
    return found[:MAX_ADDRESSES]


@functools.lru_cache(maxsize=4096)
def _mailboxes(value: str) -> tuple[Address, ...]:
    """The mailboxes in one address header's value (remembered: a test suite's mail comes
    from a handful of senders to a handful of recipients, and this is the costliest header)."""
    try:
        pairs = getaddresses([value])
    except MALFORMED:
        return ()
    return tuple(
        Address(decode_words(display).strip(), to_utf8(address).strip())
        for display, address in pairs
        if display or address
    )


def _blind_copies(envelope_to: Sequence[str], visible: list[Address]) -> list[Address]:
    """Envelope recipients that no To or Cc header names, the first ``MAX_ADDRESSES``."""
    named = {a.address.lower() for a in visible}
    bcc: list[Address] = []
    for recipient in envelope_to or ():
        if len(bcc) >= MAX_ADDRESSES:
            break
        address = recipient.strip().strip("<>")
        if address and address.lower() not in named:
            named.add(address.lower())
            bcc.append(Address("", address))
    return bcc
