"""Which parts of a message are its text, its inline parts and its attachments.

The list counts attachments and inline parts from ``message_parts`` and the message view lists
them from it, so the two agree by construction. Leaves are numbered as Mailpit numbers them (its
parser, enmime, calls the root "0", the root's children "1", "2", ... and their children "2.1",
"2.2", ...), so clients written for Mailpit can fetch ``/part/{PartID}`` unchanged. The walk
stops at the caps of ``mail_sandbox.message_limits``, and each part's type is read once: this
runs for every message received.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import Message

from mail_sandbox.message_limits import MAX_DEPTH, MAX_PARTS, cut_value
from mail_sandbox.mime.headers import MALFORMED, bare_id, header_text, to_utf8

log = logging.getLogger(__name__)

PLAIN = "text/plain"
HTML = "text/html"
INLINE = "inline"
ATTACHMENT = "attachment"

_TOKEN = re.compile(r"^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$")
_CHARSET = re.compile(r"^[A-Za-z0-9!#$%&'+^_`{}~.-]{1,40}$")
_OPAQUE = "application/octet-stream"


@dataclass(slots=True)
class Leaf:
    """A part that is not unpacked further, with its PartID and its parent's content type."""

    part_id: str
    part: Message
    content_type: str  # a valid MIME type; application/octet-stream when the header is not
    parent_type: str


@dataclass(slots=True)
class Parts:
    """A message's leaves by what they are; bodies in document order, the rest as Mailpit
    lists them."""

    plain: list[Leaf] = field(default_factory=list)
    html: list[Leaf] = field(default_factory=list)
    inline: list[Leaf] = field(default_factory=list)
    attachments: list[Leaf] = field(default_factory=list)


def message_parts(message: Message) -> Parts:
    """Every leaf of ``message`` classified once: body text, inline part or attachment."""
    parts = Parts()
    for leaf in leaves(message):
        kind = classify(leaf)
        if kind == ATTACHMENT:
            parts.attachments.append(leaf)
        elif kind == INLINE:
            parts.inline.append(leaf)
        else:
            (parts.html if kind == HTML else parts.plain).append(leaf)
    parts.plain = _document_order(parts.plain)
    parts.html = _document_order(parts.html)
    return parts


def leaves(message: Message) -> Iterator[Leaf]:
    """The first ``MAX_PARTS`` leaves breadth first, the order Mailpit lists attachments in.

    An attached message (message/rfc822) is a leaf, as in Mailpit: its content belongs to the
    attachment. So is a multipart nested deeper than ``MAX_DEPTH``.
    """
    root_type = _declared_type(message)
    if not _is_container(message, root_type):
        yield _leaf("0", message, root_type, "")
        return
    queue: deque[tuple[str, Message, str, int]] = deque([("", message, root_type, 0)])
    count = 0
    while queue:
        prefix, container, container_type, depth = queue.popleft()
        for index, child in enumerate(_children(container), start=1):
            part_id = f"{prefix}.{index}" if prefix else str(index)
            child_type = _declared_type(child)
            if depth + 1 < MAX_DEPTH and _is_container(child, child_type):
                queue.append((part_id, child, child_type, depth + 1))
                continue
            if count == MAX_PARTS:
                return
            count += 1
            yield _leaf(part_id, child, child_type, container_type)


def classify(leaf: Leaf) -> str:
    """``PLAIN`` or ``HTML`` for body text, else ``INLINE`` or ``ATTACHMENT``."""
    try:
        return _classify(leaf)
    except MALFORMED:
        return ATTACHMENT


def _classify(leaf: Leaf) -> str:
    part, content_type = leaf.part, leaf.content_type
    disposition = part.get_content_disposition()
    if disposition == ATTACHMENT or content_type == "message/rfc822":
        return ATTACHMENT
    if content_type.startswith("multipart/"):
        # Its boundary was never found (the parser left the body as one block of text), or it
        # is nested past MAX_DEPTH: either way, text to read.
        return PLAIN
    # Only a text part's name matters (a named one is an attachment), and reading it costs.
    if content_type in (PLAIN, HTML) and not filename(part):
        return content_type
    if disposition == INLINE or (leaf.parent_type == "multipart/related" and content_id(part)):
        return INLINE
    # A named part, or a non-text part nobody said how to show, is something to download.
    return ATTACHMENT


def filename(part: Message) -> str:
    """The part's file name, decoded, or ``""``."""
    try:
        name = part.get_filename()
        if name == "":
            # An empty filename="" stops get_filename; the type's name= may still say it.
            name = part.get_param("name")
    except MALFORMED:
        return ""
    if isinstance(name, tuple):
        name = name[2]
    if not name:
        return ""
    if "\r" in name or "\n" in name:
        # Only an RFC 2231 name can hold line breaks, already decoded: they are characters of
        # the name (made safe where it is offered for download), not a folded header.
        return to_utf8(cut_value(name)).strip()
    # compat32 leaves RFC 2047 encoded words (a common way to send a non-ASCII name) as sent.
    return header_text(str(name)).strip()


def content_id(part: Message) -> str:
    """The Content-ID without angle brackets, or ``""``."""
    value = part.get("Content-ID")
    return to_utf8(bare_id(value)) if isinstance(value, str) else ""


def charset(part: Message) -> str:
    """The declared charset, lower case, or ``""`` when absent or not a charset name."""
    try:
        value = part.get_param("charset")
    except MALFORMED:
        return ""
    if isinstance(value, tuple):
        value = value[2]
    if isinstance(value, str) and _CHARSET.match(value):
        return value.lower()
    return ""


def payload(part: Message) -> bytes:
    """Transfer-decoded bytes; bad base64 or quoted-printable decodes as far as it can."""
    if part.is_multipart():
        return _serialized(part)
    try:
        data = part.get_payload(decode=True)
    except MALFORMED:
        return b""
    return data if isinstance(data, bytes) else b""


def text_of(part: Message) -> str:
    """The part's text in its declared charset (UTF-8 when unknown)."""
    return decode_text(payload(part), charset(part) or "utf-8")


def decode_text(data: bytes, charset_name: str) -> str:
    """``data`` as text; an unknown charset reads as UTF-8, which beats showing nothing."""
    try:
        return data.decode(charset_name, "replace")
    except MALFORMED:
        return data.decode("utf-8", "replace")


def _serialized(part: Message) -> bytes:
    """An attached message's bytes, or a too-deep multipart's bytes, as one opaque blob."""
    target: Message = part
    if part.get_content_maintype() == "message":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else None
        if not isinstance(inner, Message):
            return b""
        target = inner
    try:
        # refold_source="none" writes the headers as they came.
        return target.as_bytes(policy=policy.default.clone(refold_source="none"))
    except (*MALFORMED, OverflowError) as exc:
        # No traceback: for a hostile nesting depth it would run to thousands of lines.
        log.warning("attached message could not be re-serialized: %s: %s", type(exc).__name__, exc)
        return b""


def _leaf(part_id: str, part: Message, declared: str, parent_type: str) -> Leaf:
    content_type = declared if _TOKEN.match(declared) else _OPAQUE
    return Leaf(part_id, part, content_type, parent_type)


def _declared_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except MALFORMED:
        return _OPAQUE


def _is_container(part: Message, declared: str) -> bool:
    return declared.startswith("multipart/") and part.is_multipart()


def _children(container: Message) -> list[Message]:
    items = container.get_payload()
    if not isinstance(items, list):
        return []
    return [child for child in items if isinstance(child, Message)]


def _document_order(leaves: list[Leaf]) -> list[Leaf]:
    """Depth-first document order: PartIDs compared number by number."""
    if len(leaves) < 2:
        return leaves
    return sorted(leaves, key=lambda leaf: [int(n) for n in leaf.part_id.split(".")])
