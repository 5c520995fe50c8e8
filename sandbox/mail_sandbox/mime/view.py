"""The full view of one captured message: bodies, headers, inline parts and attachments.

Only the message being shown comes this way, so every header is decoded for display and each
part described with its checksums. Captured mail is often broken, so nothing here raises on
bad input: each part falls back to what could be read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message

from mail_sandbox.mime.headers import header_text, message_date, to_utf8
from mail_sandbox.mime.parts import (
    Leaf,
    charset,
    content_id,
    filename,
    leaves,
    message_parts,
    payload,
    text_of,
)
from mail_sandbox.mime.tree import read_message


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


def parse_message(raw: bytes) -> MessageView:
    """Parse one message for display; never raises, whatever the bytes."""
    message = read_message(raw)
    parts = message_parts(message)
    plain = parts.plain
    if message.get_content_type() == "multipart/alternative":
        # Alternatives say the same thing twice; the first plain one is the text.
        plain = plain[:1]
    return MessageView(
        text="\n--\n".join(text_of(leaf.part) for leaf in plain),
        html=text_of(parts.html[0].part) if parts.html else "",
        headers=_headers(message),
        date=message_date(message),
        inline=[_part_info(leaf) for leaf in parts.inline],
        attachments=[_part_info(leaf) for leaf in parts.attachments],
    )


def get_part(raw: bytes, part_id: str) -> tuple[str, str, bytes] | None:
    """``(content_type, filename, decoded bytes)`` of the part with this PartID, or None.

    ``content_type`` keeps the part's charset for text parts, since the bytes are only
    transfer-decoded.
    """
    for leaf in leaves(read_message(raw)):
        if leaf.part_id == part_id:
            content_type = leaf.content_type
            declared = charset(leaf.part)
            if content_type.startswith("text/") and declared:
                content_type = f"{content_type}; charset={declared}"
            return content_type, filename(leaf.part), payload(leaf.part)
    return None


def _part_info(leaf: Leaf) -> PartInfo:
    data = payload(leaf.part)
    return PartInfo(
        part_id=leaf.part_id,
        filename=filename(leaf.part),
        content_type=leaf.content_type,
        content_id=content_id(leaf.part),
        size=len(data),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        sha1=hashlib.sha1(data, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _headers(message: Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(to_utf8(name), []).append(header_text(value))
    return {name: headers[name] for name in sorted(headers)}
