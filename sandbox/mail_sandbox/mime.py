"""The full view of one captured message: bodies, headers, inline parts and attachments.

Only the message being shown is parsed here; the list and search never come this way. The tree
is built with the legacy ``compat32`` policy, whose headers stay plain text until read (the
default policy parses every Content-Type it meets, 0.4 ms each: seconds for a message of many
parts), within the caps of ``mail_sandbox.message_limits``; the headers shown are decoded one by
one. Parts are numbered as Mailpit numbers them (its parser, enmime, calls the root "0", the
root's children "1", "2", ... and their children "2.1", "2.2", ...), so clients written for
Mailpit can fetch ``/part/{PartID}`` unchanged. Captured mail is often broken, so nothing in
this module raises on bad input: each part falls back to what could be read.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import HeaderRegistry
from email.message import Message
from email.utils import parsedate_to_datetime

from mail_sandbox.message_limits import MAX_PARTS, cut_value, parse_bounded

log = logging.getLogger(__name__)

# Deeper nesting than this is never legitimate mail; past it parts are shown as opaque data
# rather than risking the recursion limit.
MAX_DEPTH = 100

# Every header is decoded as unstructured text: encoded words and 8-bit bytes become readable,
# while a malformed address list is shown as written instead of being "repaired" into something
# the sender never wrote.
_HEADER_TEXT = HeaderRegistry(use_default_map=False)

_FOLD = re.compile(r"\r?\n[ \t]*|\r[ \t]*")
_TOKEN = re.compile(r"^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$")
_CHARSET = re.compile(r"^[A-Za-z0-9!#$%&'+^_`{}~.-]{1,40}$")


@dataclass(frozen=True, slots=True)
class PartInfo:
    """One inline part or attachment as Mailpit describes it."""

    part_id: str
    filename: str
    content_type: str
    content_id: str
    size: int
    md5: str
    sha1: str
    sha256: str


@dataclass(slots=True)
class MessageView:
    """Everything the message page and ``GET /api/v1/message/{ID}`` show about one message."""

    text: str = ""
    html: str = ""
    headers: dict[str, list[str]] = field(default_factory=dict)
    date: datetime | None = None
    inline: list[PartInfo] = field(default_factory=list)
    attachments: list[PartInfo] = field(default_factory=list)


@dataclass(slots=True)
class _Leaf:
    """A non-multipart part with its Mailpit PartID and its parent's content type."""

    part_id: str
    part: Message
    parent_type: str


def parse_message(raw: bytes) -> MessageView:
    """Parse one message for display; never raises, whatever the bytes."""
    message = _parse(raw)
    if message is None:
        return MessageView(text=_decode_text(raw, "utf-8"))
    view = MessageView(headers=_headers(message), date=_date(message))
    plain: list[_Leaf] = []
    html: list[_Leaf] = []
    for leaf in _leaves_breadth_first(message):
        kind = _classify(leaf)
        if kind == "attachment":
            view.attachments.append(_part_info(leaf))
        elif kind == "inline":
            view.inline.append(_part_info(leaf))
        else:
            (html if kind == "text/html" else plain).append(leaf)
    if message.get_content_type() == "multipart/alternative":
        # Alternatives say the same thing twice; the first plain one is the text.
        plain = _document_order(plain)[:1]
    view.text = "\n--\n".join(_text_of(leaf.part) for leaf in _document_order(plain))
    view.html = _text_of(_document_order(html)[0].part) if html else ""
    return view


def get_part(raw: bytes, part_id: str) -> tuple[str, str, bytes] | None:
    """``(content_type, filename, decoded bytes)`` of the part with this PartID, or None.

    ``content_type`` keeps the part's charset for text parts, since the bytes are only
    transfer-decoded.
    """
    message = _parse(raw)
    if message is None:
        return None
    for leaf in _leaves_breadth_first(message):
        if leaf.part_id == part_id:
            content_type = _content_type(leaf.part)
            charset = _charset(leaf.part)
            if content_type.startswith("text/") and charset:
                content_type = f"{content_type}; charset={charset}"
            return content_type, _filename(leaf.part), _payload(leaf.part)
    return None


def _parse(raw: bytes) -> Message | None:
    try:
        return parse_bounded(raw, policy.compat32)
    except RecursionError:
        log.warning("message nested too deeply to parse; showing it as text")
        return None


def _leaves_breadth_first(message: Message) -> Iterator[_Leaf]:
    """Leaves in breadth-first order, the order Mailpit lists attachments in.

    A message/rfc822 part is a leaf (an attached email), as in Mailpit.
    """
    if not _is_container(message):
        yield _Leaf("0", message, "")
        return
    queue: deque[tuple[str, Message, int]] = deque([("", message, 0)])
    leaves = 0
    while queue and leaves < MAX_PARTS:
        prefix, container, depth = queue.popleft()
        parent_type = container.get_content_type()
        for index, child in enumerate(_children(container), start=1):
            part_id = f"{prefix}.{index}" if prefix else str(index)
            if _is_container(child) and depth + 1 < MAX_DEPTH:
                queue.append((part_id, child, depth + 1))
            elif leaves < MAX_PARTS:
                leaves += 1
                yield _Leaf(part_id, child, parent_type)


def _is_container(part: Message) -> bool:
    return part.is_multipart() and part.get_content_maintype() == "multipart"


def _children(container: Message) -> list[Message]:
    payload = container.get_payload()
    if not isinstance(payload, list):
        return []
    return [child for child in payload if isinstance(child, Message)]


def _classify(leaf: _Leaf) -> str:
    """``"text/plain"`` or ``"text/html"`` for a body, else ``"inline"`` or ``"attachment"``.

    The same rules the store uses to count attachments, so the list and the message agree.
    """
    part = leaf.part
    content_type = _content_type(part)
    disposition = _disposition(part)
    if disposition == "attachment" or content_type == "message/rfc822":
        return "attachment"
    if content_type.startswith("multipart/"):
        # Its boundary was never found, so the parser left the body as one block of text.
        return "text/plain"
    if content_type in ("text/plain", "text/html") and not _filename(part):
        return content_type
    if disposition == "inline" or (leaf.parent_type == "multipart/related" and _content_id(part)):
        return "inline"
    # A named part, or a non-text part nobody said how to show, is something to download.
    return "attachment"


def _document_order(leaves: list[_Leaf]) -> list[_Leaf]:
    """Depth-first document order: PartIDs compared number by number."""
    return sorted(leaves, key=lambda leaf: [int(n) for n in leaf.part_id.split(".")])


def _part_info(leaf: _Leaf) -> PartInfo:
    data = _payload(leaf.part)
    return PartInfo(
        part_id=leaf.part_id,
        filename=_filename(leaf.part),
        content_type=_content_type(leaf.part),
        content_id=_content_id(leaf.part),
        size=len(data),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        sha1=hashlib.sha1(data, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _payload(part: Message) -> bytes:
    """Transfer-decoded bytes; bad base64 or quoted-printable decodes as far as it can."""
    if part.get_content_maintype() == "message" or _is_container(part):
        return _serialized(part)
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _serialized(part: Message) -> bytes:
    """An attached message's bytes, or a too-deep multipart's bytes, as one opaque blob."""
    target: Message = part
    if part.get_content_maintype() == "message":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, Message):
            data = part.get_payload(decode=True)
            return data if isinstance(data, bytes) else b""
        target = inner
    try:
        # refold_source="none" writes the headers as they came.
        return target.as_bytes(policy=policy.default.clone(refold_source="none"))
    except (LookupError, ValueError, TypeError, RecursionError) as exc:
        # No traceback: for a hostile nesting depth it would run to thousands of lines.
        log.warning("attached message could not be re-serialized: %s: %s", type(exc).__name__, exc)
        return b""


def _text_of(part: Message) -> str:
    return _decode_text(_payload(part), _charset(part) or "utf-8")


def _decode_text(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        # An unknown charset name: UTF-8 with replacement characters beats showing nothing.
        return data.decode("utf-8", errors="replace")


def _content_type(part: Message) -> str:
    content_type = part.get_content_type()
    return content_type if _TOKEN.match(content_type) else "application/octet-stream"


def _charset(part: Message) -> str:
    charset = part.get_param("charset")
    if isinstance(charset, tuple):
        charset = charset[2]
    if isinstance(charset, str) and _CHARSET.match(charset):
        return charset.lower()
    return ""


def _disposition(part: Message) -> str:
    return part.get_content_disposition() or ""


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or part.get_param("name") or ""
    except (LookupError, ValueError, TypeError):
        return ""
    if isinstance(name, tuple):
        name = name[2]
    if "\r" in name or "\n" in name:
        # Only an RFC 2231 name can hold line breaks, already decoded: they are characters of
        # the name (made safe where it is offered for download), not a folded header.
        return cut_value(name).strip()
    # compat32 leaves RFC 2047 encoded words (a common way to send a non-ASCII name) as sent.
    return _header_text("filename", str(name)).strip()


def _content_id(part: Message) -> str:
    return _raw_header(part, "Content-ID").strip("<>").strip()


def _raw_header(part: Message, name: str) -> str:
    """The first value of a header, unfolded, without the structured parse that can raise."""
    wanted = name.lower()
    for key, value in part.raw_items():
        if key.lower() == wanted:
            return " ".join(_clean(value).split())
    return ""


def _headers(message: Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(_clean(name), []).append(_header_text(name, value))
    return {name: headers[name] for name in sorted(headers)}


def _header_text(name: str, value: str) -> str:
    # Unfolded as Mailpit's Go parser does: each line break and its indent become one space.
    value = cut_value(_FOLD.sub(" ", value.rstrip("\r\n")))
    try:
        text = str(_HEADER_TEXT(name, value))
    except (ValueError, TypeError, IndexError, LookupError):
        log.debug("header %r could not be decoded; shown as received", name, exc_info=True)
        text = ""
    if not text and value.strip():
        text = " ".join(value.split())
    return _clean(text)


def _date(message: Message) -> datetime | None:
    raw = _raw_header(message, "Date")
    if not raw:
        return None
    try:
        parsed = parsedate_to_datetime(raw)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        # RFC 5322's "-0000" means UTC with no claim about the sender's zone.
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _clean(text: str) -> str:
    """Turn undecodable bytes smuggled in as surrogates into U+FFFD, so output can be UTF-8."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
