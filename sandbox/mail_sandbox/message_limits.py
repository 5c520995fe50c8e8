"""How much of one message the list, the search index and the message view read.

Captured mail is whatever a client sent: 100,000 MIME parts, a header folded over 24 MB, a
million recipients. The raw bytes are always kept and downloadable whole; what is parsed for
display and summaries stops at these caps, so every view answers in bounded time. The list
and the message view read the same capped tree (``mail_sandbox.mime``), so they agree on what
they show.
"""

from __future__ import annotations

import re
from email.feedparser import BytesFeedParser
from email.message import Message
from email.policy import Policy

#: MIME parts parsed per message; parts past it are not listed (the raw bytes hold them).
MAX_PARTS = 1000
#: Bytes of the top-level header section parsed; header lines past it are left out.
MAX_HEADER_BYTES = 1024 * 1024
#: Characters of one header value read; the rest is cut, marked with ``TRUNCATED``.
MAX_HEADER_VALUE = 16 * 1024
#: Multipart nesting unpacked; a deeper part is one opaque leaf. Real mail nests a handful of
#: levels, and walking further would only invite the recursion limit.
MAX_DEPTH = 100
#: Addresses per field (To, Cc, Bcc, Reply-To) in summaries and views.
MAX_ADDRESSES = 1000
#: Appended to a header value that was cut.
TRUNCATED = " [...]"

# The parser is fed this much at a time; between pieces it is asked how many parts it made,
# so it stops at most one piece after the cap.
_FEED_CHUNK = 64 * 1024
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def parse_bounded(raw: bytes, policy: Policy) -> Message:
    """The message tree of ``raw`` up to ``MAX_PARTS`` parts and ``MAX_HEADER_BYTES`` of
    top-level headers. May raise what ``email`` raises on hostile input."""
    parts = 0

    def factory(policy: Policy) -> Message:
        nonlocal parts
        parts += 1
        return Message(policy=policy)

    parser = BytesFeedParser(_factory=factory, policy=policy)
    parts = 0  # the parser made one to try the factory
    data = memoryview(bounded_headers(raw))
    for start in range(0, len(data), _FEED_CHUNK):
        parser.feed(bytes(data[start : start + _FEED_CHUNK]))
        if parts > MAX_PARTS:
            break
    return parser.close()


def cut_value(value: str) -> str:
    """``value`` cut to ``MAX_HEADER_VALUE`` characters, marked when cut."""
    if len(value) <= MAX_HEADER_VALUE:
        return value
    return value[:MAX_HEADER_VALUE] + TRUNCATED


def bounded_headers(raw: bytes) -> bytes:
    """``raw`` with header lines past ``MAX_HEADER_BYTES`` dropped (the body unchanged)."""
    end = _HEADER_END.search(raw, 0, MAX_HEADER_BYTES + 4)
    if end is not None or len(raw) <= MAX_HEADER_BYTES:
        return raw
    body = _HEADER_END.search(raw, MAX_HEADER_BYTES)
    head = raw[:MAX_HEADER_BYTES]
    # Whole lines only: a cut line would read as a header of its own.
    cut = head.rfind(b"\n")
    head = head[: cut + 1] if cut >= 0 else head + b"\r\n"
    return head + b"\r\n" + (raw[body.end() :] if body is not None else b"")
