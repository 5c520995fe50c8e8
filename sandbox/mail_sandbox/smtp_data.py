"""Reading an SMTP DATA payload in large chunks instead of line by line.

aiosmtpd awaits one ``readuntil(b"\\r\\n")`` per line, which for a 4 KB email is some 80 awaits and
for a 200 KB one thousands; that loop is most of what a capture server spends per message. Here
the stream is read up to each ``.\\r\\n`` (far rarer than line ends), and the lone dot that ends
the data is told apart from a line that merely ends in a dot by the byte before it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

_DOT_CRLF = b".\r\n"


@dataclass(slots=True)
class DataResult:
    """What DATA produced: the unstuffed content, or the reason it must be refused."""

    content: bytes = b""
    too_big: bool = False
    line_too_long: bool = False


async def read_data(
    reader: asyncio.StreamReader, *, size_limit: int | None, line_limit: int
) -> DataResult:
    """Read up to and including the terminating ``.\\r\\n`` line; undo dot-stuffing.

    Raises ``asyncio.IncompleteReadError`` when the client disconnects first. Bytes after the
    terminator stay in ``reader`` for the next command.
    """
    parts: list[bytes] = []
    received = 0
    too_big = False
    # The DATA command's own CRLF: a first line of "." ends an empty message.
    tail = b"\r\n"
    while True:
        try:
            chunk = await reader.readuntil(_DOT_CRLF)
        except asyncio.LimitOverrunError as exc:
            # No ".\r\n" within the reader's buffer limit: take what is there, leaving the
            # bytes that could be the start of the terminator.
            chunk = await reader.readexactly(exc.consumed)
            ends_data = False
        else:
            # The two bytes before ".\r\n" end the previous line for the lone dot only.
            before = chunk[-5:-3] if len(chunk) >= 5 else (tail + chunk)[-5:-3]
            ends_data = before == b"\r\n"
        received += len(chunk)
        if size_limit and received - (3 if ends_data else 0) > size_limit:
            too_big = True
            parts.clear()  # the message is refused anyway; keep memory flat
        elif not too_big:
            parts.append(chunk)
        tail = chunk[-2:] if len(chunk) >= 2 else (tail + chunk)[-2:]
        if ends_data:
            break
    if too_big:
        return DataResult(too_big=True)
    data = b"".join(parts)[:-3]
    # As aiosmtpd counts it: a line with its CRLF may not exceed the limit.
    if len(data) > line_limit and any(len(line) + 2 > line_limit for line in data.split(b"\r\n")):
        return DataResult(line_too_long=True)
    # RFC 5321 4.5.2: a leading dot on any line was added by the client; take it away.
    if data.startswith(b"."):
        data = data[1:]
    return DataResult(content=data.replace(b"\r\n.", b"\r\n"))
