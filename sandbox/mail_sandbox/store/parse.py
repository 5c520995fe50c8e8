"""Turn raw message bytes into the facts the list, the search index and ``wait`` need.

This runs once for every message received, so it uses the standard library's legacy API
(``compat32``), which costs about a ninth of ``policy.default``. Captured mail is whatever an app
under development produced, so nothing here may raise: each header and each part is read on its
own, and what cannot be read is left empty.
"""

from __future__ import annotations

import binascii
import contextlib
import email
import email.parser
import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import MessageError
from email.header import decode_header, make_header
from email.message import Message
from email.policy import Compat32
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from mail_sandbox.message_limits import MAX_ADDRESSES, MAX_PARTS, cut_value, parse_bounded
from mail_sandbox.store.contract import Address

SNIPPET_LENGTH = 250
INDEXED_TEXT_LIMIT = 64 * 1024
# HTML is only stripped when a message has no text part; bounding its input bounds the cost.
_HTML_INPUT_LIMIT = 4 * INDEXED_TEXT_LIMIT

# The legacy API reports malformed input through a scatter of exception types rather than one.
_MALFORMED = (
    MessageError,
    LookupError,
    UnicodeError,
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    binascii.Error,
    RecursionError,
)

_FOLD = re.compile(r"\r?\n(?=[ \t])")
_TAG_INVALID = re.compile(r"[^a-zA-Z0-9\-. _]")
_SPACES = re.compile(r" {2,}")


@dataclass(slots=True)
class ParsedMessage:
    """Everything ``summarize`` could read from one message."""

    message_id: str = ""
    sender: Address = field(default_factory=Address)
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    return_path: str = ""
    subject: str = ""
    date: datetime | None = None
    size: int = 0
    attachments: int = 0
    inline: int = 0
    snippet: str = ""
    tags: list[str] = field(default_factory=list)
    text: str = ""  # body text for the search index, capped at INDEXED_TEXT_LIMIT


class _Utf8Headers(Compat32):
    """compat32, except 8-bit header bytes are read as UTF-8.

    SMTPUTF8 mail carries raw UTF-8 in headers; plain compat32 hands those back as ``Header``
    objects whose text turns every such byte into U+FFFD.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        """Return the unfolded header value with 8-bit bytes decoded as UTF-8."""
        if value.isascii():
            # Most headers: nothing to decode, and nothing to unfold without a line break.
            return _FOLD.sub("", value) if "\n" in value else value
        # UnicodeError: already real text (a header set from Python, not parsed from bytes).
        with contextlib.suppress(UnicodeError):
            value = value.encode("ascii", "surrogateescape").decode("utf-8", "replace")
        return _FOLD.sub("", value)


_POLICY = _Utf8Headers()


def summarize(raw: bytes, envelope_from: str, envelope_to: Sequence[str]) -> ParsedMessage:
    """Read the summary fields and the text to index from ``raw``; never raises.

    Bcc is every envelope recipient not named in To or Cc (as Mailpit reports it) and the
    return path is the envelope sender.
    """
    parsed = ParsedMessage(size=len(raw), return_path=envelope_from or "")
    msg = _parse(raw)

    parsed.message_id = _decoded(msg, "Message-ID").strip().strip("<>").strip()
    parsed.subject = _decoded(msg, "Subject").strip()
    senders = _addresses(msg, "From")
    parsed.sender = senders[0] if senders else Address()
    parsed.to = _addresses(msg, "To")
    parsed.cc = _addresses(msg, "Cc")
    parsed.reply_to = _addresses(msg, "Reply-To")
    parsed.bcc = _blind_copies(envelope_to, parsed.to + parsed.cc)
    parsed.date = _date(msg)
    parsed.tags = _tags(msg)
    _read_body(msg, parsed)
    return parsed


def _parse(raw: bytes) -> Message:
    """The message tree, or just its headers when the body is too hostile to parse."""
    try:
        return parse_bounded(raw, _POLICY)
    except _MALFORMED:
        pass
    try:
        return email.parser.BytesHeaderParser(policy=_POLICY).parsebytes(raw)
    except _MALFORMED:
        return Message(policy=_POLICY)


def _header_values(msg: Message, name: str) -> list[str]:
    """Every value of header ``name`` as text; unreadable ones are dropped."""
    try:
        values = msg.get_all(name) or []
    except _MALFORMED:
        return []
    return [cut_value(value if isinstance(value, str) else str(value)) for value in values]


def _decoded(msg: Message, name: str) -> str:
    """The first value of header ``name`` with encoded-words decoded, or ``""``."""
    values = _header_values(msg, name)
    return decode_words(values[0]) if values else ""


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded-words (``=?utf-8?q?...?=``) in ``value``; never raises.

    Bad encoded-words and unknown charsets are decoded as far as possible rather than lost.
    """
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except _MALFORMED:
        pass
    try:
        chunks = decode_header(value)
    except _MALFORMED:
        return value
    text = []
    for data, charset in chunks:
        if isinstance(data, str):
            text.append(data)
        elif charset is None:
            # decode_header turned the plain (maybe non-ASCII) text between words into bytes
            # this way; reversing it gives the text back.
            text.append(data.decode("raw-unicode-escape", "replace"))
        else:
            text.append(_decode_bytes(data, charset))
    return "".join(text)


def _decode_bytes(data: bytes, charset: str | None) -> str:
    """``data`` as text in ``charset``, falling back to UTF-8 for unknown charsets."""
    try:
        return data.decode(charset or "utf-8", "replace")
    except _MALFORMED:
        return data.decode("utf-8", "replace")


def _addresses(msg: Message, name: str) -> list[Address]:
    """The mailboxes in every ``name`` header, display names decoded, the first
    ``MAX_ADDRESSES``."""
    found: list[Address] = []
    for value in _header_values(msg, name):
        found += _mailboxes(value)
    return found[:MAX_ADDRESSES]


@functools.lru_cache(maxsize=4096)
def _mailboxes(value: str) -> tuple[Address, ...]:
    """The mailboxes in one address header's value (remembered: a test suite's mail comes
    from a handful of senders to a handful of recipients, and this is the costliest header)."""
    try:
        pairs = getaddresses([value])
    except _MALFORMED:
        return ()
    return tuple(
        Address(decode_words(display).strip(), address.strip())
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


def _date(msg: Message) -> datetime | None:
    """The Date header in UTC, or None when absent or unreadable."""
    values = _header_values(msg, "Date")
    if not values:
        return None
    try:
        date = parsedate_to_datetime(values[0].strip())
    except (*_MALFORMED, OverflowError):
        return None
    if date.tzinfo is None:
        # RFC 5322 "-0000": the zone is unknown, and UTC is the least surprising reading.
        return date.replace(tzinfo=UTC)
    try:
        return date.astimezone(UTC)
    except OverflowError:
        return None


def clean_tag(name: str) -> str:
    """A tag name reduced to letters, digits, ``-``, ``.``, ``_`` and single spaces."""
    return _SPACES.sub(" ", _TAG_INVALID.sub("", name)).strip()


def _tags(msg: Message) -> list[str]:
    """Tag names from the X-Tags headers, cleaned, without case-insensitive duplicates."""
    tags: list[str] = []
    seen: set[str] = set()
    for value in _header_values(msg, "X-Tags"):
        for candidate in decode_words(value).split(","):
            tag = clean_tag(candidate)
            if tag and tag.lower() not in seen:
                seen.add(tag.lower())
                tags.append(tag)
    return tags


def _walk(msg: Message) -> Iterator[tuple[Message, str, str]]:
    """Leaf parts with their own and their parent's content type, depth first, without
    recursion.

    Attached messages (message/rfc822) are leaves: their content belongs to the attachment.
    """
    stack: list[tuple[Message, str]] = [(msg, "")]
    # Leaves, as the message view counts them, so the list and the view agree; containers
    # are bounded by the parse itself (MAX_PARTS parts in all).
    leaves = 0
    while stack and leaves < MAX_PARTS:
        part, parent_type = stack.pop()
        ctype = _content_type(part)
        payload = part.get_payload()
        if ctype.startswith("multipart/") and isinstance(payload, list):
            children = [child for child in payload if isinstance(child, Message)]
            stack.extend((child, ctype) for child in reversed(children))
        else:
            leaves += 1
            yield part, ctype, parent_type


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except _MALFORMED:
        return "text/plain"


def _read_body(msg: Message, parsed: ParsedMessage) -> None:
    """Count attachments and inline parts and collect the text to index and the snippet."""
    plain: list[str] = []
    html: list[str] = []
    for part, ctype, parent_type in _walk(msg):
        try:
            kind = _classify(part, ctype, parent_type)
        except _MALFORMED:
            kind = "attachment"
        if kind == "attachment":
            parsed.attachments += 1
        elif kind == "inline":
            parsed.inline += 1
        elif kind == "text/plain":
            plain.append(_part_text(part))
        else:
            html.append(_part_text(part))
    text = "\n".join(plain) if plain else _strip_html("\n".join(html)[:_HTML_INPUT_LIMIT])
    parsed.text = text[:INDEXED_TEXT_LIMIT]
    parsed.snippet = make_snippet(text[: SNIPPET_LENGTH * 8])


def _classify(part: Message, ctype: str, parent_type: str) -> str:
    """``"text/plain"`` or ``"text/html"`` for body text, else ``"inline"`` or ``"attachment"``."""
    disposition = part.get_content_disposition()
    if disposition == "attachment" or ctype == "message/rfc822":
        return "attachment"
    if ctype.startswith("multipart/"):
        # Its boundary was never found, so the parser left the body as one block of text.
        return "text/plain"
    # Only a text part's name matters (a named one is an attachment); reading it costs.
    if ctype in ("text/plain", "text/html") and not part.get_filename():
        return ctype
    if disposition == "inline" or (parent_type == "multipart/related" and part["Content-ID"]):
        return "inline"
    # A named part, or a non-text part nobody said how to show, is something to download.
    return "attachment"


def _part_text(part: Message) -> str:
    """The decoded text of one part in its declared charset (UTF-8 when unknown)."""
    try:
        data = part.get_payload(decode=True)
    except _MALFORMED:
        return ""
    if not isinstance(data, bytes):
        return ""
    try:
        charset = part.get_content_charset()
    except _MALFORMED:
        charset = None
    return _decode_bytes(data, charset)


def make_snippet(text: str) -> str:
    """The first ``SNIPPET_LENGTH`` characters of ``text``, whitespace collapsed."""
    # split() breaks at the same whitespace as the regex \s, at a tenth of the cost.
    collapsed = " ".join(text.split())
    if len(collapsed) > SNIPPET_LENGTH:
        return collapsed[:SNIPPET_LENGTH].rstrip() + "..."
    return collapsed


class _TextExtractor(HTMLParser):
    """Collects the text a reader would see, skipping scripts and styles."""

    # Not "head": its end tag is optional, and hiding it could hide the whole document.
    _HIDDEN = frozenset({"script", "style", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth += 1
        elif tag in ("br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6"):
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN and self._hidden_depth:
            self._hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.chunks.append(data)


def _strip_html(markup: str) -> str:
    """The visible text of an HTML document; on broken markup, the text read so far."""
    if not markup:
        return ""
    extractor = _TextExtractor()
    try:
        extractor.feed(markup)
        extractor.close()
    except (AssertionError, *_MALFORMED):
        # html.parser signals some malformed declarations (``<![foo``) with AssertionError.
        pass
    return "".join(extractor.chunks)
