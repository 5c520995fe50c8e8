"""The chunked DATA reader gives exactly what aiosmtpd's line-by-line reading gives."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mail_sandbox.server import run_on_own_loop
from mail_sandbox.smtp_data import DataResult, read_data


def stuff(content: bytes) -> bytes:
    """Dot-stuff ``content`` (CRLF lines) and add the terminator, as an SMTP client sends it."""
    lines = content.split(b"\r\n")
    stuffed = b"\r\n".join(b"." + line if line.startswith(b".") else line for line in lines)
    return stuffed + b".\r\n"


def read(
    pieces: list[bytes], *, size_limit: int | None = None, line_limit: int = 1000, buffer: int = 64
) -> tuple[DataResult, bytes]:
    """Feed ``pieces`` to a stream reader and read DATA from it; returns the result and leftover."""

    async def run() -> tuple[DataResult, bytes]:
        reader = asyncio.StreamReader(limit=buffer)

        async def feed() -> None:
            for piece in pieces:
                reader.feed_data(piece)
                await asyncio.sleep(0)  # let the reader run between pieces, as on a socket
            reader.feed_eof()

        feeder = asyncio.ensure_future(feed())
        result = await read_data(reader, size_limit=size_limit, line_limit=line_limit)
        await feeder
        return result, await reader.read()

    return run_on_own_loop(run())


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"one line\r\n",
        b"Subject: x\r\n\r\nends with a dot.\r\nand more.\r\n",
        b".leading dot\r\n..two dots\r\n.\r\n",
        b"a.\r\n.\r\n..\r\n",
        b"x" * 500 + b".\r\n" + b"y" * 300 + b"\r\n",
    ],
)
def test_content_round_trips(content):
    result, leftover = read([stuff(content) + b"QUIT\r\n"])
    assert result == DataResult(content=content)
    assert leftover == b"QUIT\r\n"


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    lines=st.lists(
        st.binary(max_size=120).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=8),
)
def test_any_content_in_any_chunking(lines, cuts):
    content = b"".join(line + b"\r\n" for line in lines)
    wire = stuff(content) + b"NEXT\r\n"
    points = sorted({c % (len(wire) + 1) for c in cuts})
    pieces = [wire[a:b] for a, b in zip([0, *points], [*points, len(wire)], strict=True)]
    result, leftover = read(pieces, line_limit=10_000)
    assert result.content == content
    assert leftover == b"NEXT\r\n"


def test_byte_by_byte():
    content = b"From: a@b\r\n\r\nhello.\r\n..\r\nbye\r\n"
    wire = stuff(content)
    result, _ = read([wire[i : i + 1] for i in range(len(wire))])
    assert result.content == content


def test_over_the_size_limit_is_refused_and_the_stream_stays_in_step():
    result, leftover = read([stuff(b"x" * 90 + b"\r\n") + b"RSET\r\n"], size_limit=50)
    assert result.too_big
    assert leftover == b"RSET\r\n"


def test_exactly_at_the_size_limit_is_accepted():
    content = b"x" * 48 + b"\r\n"  # 50 bytes, as aiosmtpd counts them
    result, _ = read([stuff(content)], size_limit=50)
    assert result == DataResult(content=content)


def test_a_line_over_the_line_limit_is_refused():
    result, leftover = read(
        [stuff(b"short\r\n" + b"z" * 200 + b"\r\n") + b"RSET\r\n"], line_limit=100
    )
    assert result.line_too_long
    assert leftover == b"RSET\r\n"


def test_disconnect_mid_data_raises():
    with pytest.raises(asyncio.IncompleteReadError):
        read([b"Subject: cut\r\n\r\nhalf a mess"])
