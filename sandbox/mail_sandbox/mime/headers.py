"""How a header value becomes the text people read, and the facts read from single headers.

One reading serves the list, the search index and the message view, so a subject looks the
same in all three: 8-bit bytes are UTF-8 (SMTPUTF8 mail carries raw UTF-8 in headers), folds
are unfolded as Mailpit's Go parser unfolds them (each line break and its indent become one
space), values are cut to ``MAX_HEADER_VALUE`` and RFC 2047 encoded words are decoded. Nothing
here raises: what cannot be decoded is shown as received.
"""

from __future__ import annotations

import binascii
import functools
import re
from datetime import UTC, datetime
from email._header_value_parser import get_unstructured
from email.errors import MessageError
from email.message import Message
from email.policy import Compat32
from email.utils import parsedate_to_datetime

from mail_sandbox.message_limits import cut_value

# The legacy API reports malformed input through a scatter of exception types rather than one.
MALFORMED = (
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

_FOLD = re.compile(r"\r?\n[ \t]*|\r[ \t]*")


def unfold(value: str) -> str:
    """``value`` on one line, each line break and its indent one space."""
    if "\n" in value or "\r" in value:
        return _FOLD.sub(" ", value)
    return value


def to_utf8(text: str) -> str:
    """Bytes smuggled in as surrogates read as UTF-8, the rest as U+FFFD, so output encodes."""
    if text.isascii():
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


class _UnfoldedHeaders(Compat32):
    """compat32, except each header is read as its unfolded text.

    Plain compat32 hands 8-bit headers back as ``Header`` objects whose text turns every such
    byte into U+FFFD; here the bytes stay (as surrogates) until ``to_utf8``, after encoded
    words are decoded, since an 8-bit byte inside an encoded word would stop it decoding.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        """Return the header value unfolded, 8-bit bytes still as surrogates."""
        return unfold(value)


POLICY = _UnfoldedHeaders()


def decode_words(value: str) -> str:
    """``value`` as text: RFC 2047 encoded words (``=?utf-8?q?...?=``) decoded, then 8-bit
    bytes as UTF-8; never raises.

    Bad encoded words and unknown charsets are decoded as far as possible rather than lost.
    """
    if "=?" in value:
        value = _remembered_words(value) if len(value) <= _REMEMBERED_LENGTH else _words(value)
    return to_utf8(value)


def _words(value: str) -> str:
    # Decoded as unstructured text, as the default policy reads an unstructured header: a
    # malformed address list is shown as written instead of "repaired" into something the
    # sender never wrote. The parser is called directly, at two thirds of the cost of going
    # through ``HeaderRegistry``; ``email.header.decode_header`` is cheaper still but puts
    # spaces where the sender wrote none.
    try:
        return str(get_unstructured(value))
    except MALFORMED:
        return value


# A test suite sends the same few subjects and names again and again, and decoding one costs
# more than reading every other header of the message; short values only, so what is
# remembered stays small.
_REMEMBERED_LENGTH = 512
_remembered_words = functools.lru_cache(maxsize=1024)(_words)


def header_text(value: str) -> str:
    """A raw header value (as ``Message.raw_items`` gives it) as it is shown."""
    return decode_words(cut_value(unfold(value)))


def header_values(message: Message, name: str) -> list[str]:
    """Every value of header ``name``, unfolded and cut, still to be decoded."""
    try:
        values = message.get_all(name) or []
    except MALFORMED:
        return []
    return [cut_value(value if isinstance(value, str) else str(value)) for value in values]


def first_text(message: Message, name: str) -> str:
    """The first value of header ``name`` as it is shown, or ``""``."""
    values = header_values(message, name)
    return decode_words(values[0]) if values else ""


def bare_id(value: str) -> str:
    """A Message-ID or Content-ID without its angle brackets and stray white space."""
    return " ".join(value.split()).strip("<>").strip()


def message_date(message: Message) -> datetime | None:
    """The Date header in UTC, or None when absent or unreadable."""
    values = header_values(message, "Date")
    if not values:
        return None
    try:
        date = parsedate_to_datetime(values[0].strip())
    except (*MALFORMED, OverflowError):
        return None
    if date.tzinfo is None:
        # RFC 5322's "-0000" means UTC with no claim about the sender's zone.
        return date.replace(tzinfo=UTC)
    try:
        return date.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
