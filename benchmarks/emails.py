"""Realistic password reset emails for the load generator, cheap enough for thousands a second.

Each message looks like the one the Microblog app sends (its own templates, a multipart/mixed
holding text and HTML alternatives, 7bit, a JWT in the link), padded to a chosen size with
paragraphs of words. Rendering a message with the ``email`` package costs hundreds of
microseconds, more than the generator can spend per message, so a small pool is rendered once
and each message only splices its sequence number into the recipient, greeting and Message-ID.
"""

from __future__ import annotations

import hashlib
import random
import re
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from pathlib import Path
from types import SimpleNamespace

import jinja2
import jwt

TEMPLATES = Path(__file__).resolve().parent.parent / "app" / "templates"
SENDER = "no-reply@microblog.example"
SUBJECT = "[Microblog] Reset Your Password"
SEQUENCE_WIDTH = 10
# Stands where the sequence number goes; the same width, so padding sizes stay exact.
_PLACEHOLDER = b"Z" * SEQUENCE_WIDTH
# Recipient, Message-ID, and the greeting in each of the two parts.
_PLACES = 4
_TOKEN = b"@@TOKEN@@"
_TEXT_PADDING = b"@@TEXT-PADDING@@"
_HTML_PADDING = b"@@HTML-PADDING@@"
_POOL_BYTES = 8 * 1024 * 1024
_DATE = formatdate(1_795_599_277, usegmt=True)
_SYLLABLES = ("ka", "lo", "mi", "ren", "tas", "vo", "bel", "qui", "dor", "sa", "ne", "phi", "ust")


class ResetEmails:
    """Reset emails numbered by sequence; ``size`` is the byte size to pad each message to.

    ``domain`` is the recipients' domain, which lets a search find one run's messages
    (``to:DOMAIN``). ``pool`` distinct tokens and paddings are rendered; the sequence number
    makes every message unique all the same.
    """

    def __init__(self, size: int = 4096, *, domain: str = "bench.example", pool: int = 256):
        if size < 0:
            raise ValueError("size must be 0 or more")
        self.size = size
        self.domain = domain
        self.sender = SENDER
        count = max(1, min(pool, _POOL_BYTES // max(size, 1)))
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=jinja2.select_autoescape(["html"]),
        )
        skeleton = _skeleton(env, domain)
        base = len(skeleton.replace(_TOKEN, _reset_token(0).encode()))
        # Text and HTML alternatives carry the same words, as real mail does; the second try
        # corrects for line breaks and tags.
        words = _words(random.Random(size), (size - base) // 2)
        first = _pieces(skeleton, 0, words)
        actual = sum(map(len, first)) + _PLACES * SEQUENCE_WIDTH - len(b".\r\n")
        words = _words(random.Random(size), (size - base) // 2 + (size - actual) // 2)
        self._pool = [_pieces(skeleton, index, words) for index in range(count)]

    def recipient(self, seq: int) -> str:
        """The envelope and To address of message ``seq``."""
        return recipient(seq, self.domain)

    def message(self, seq: int) -> bytes:
        """Message ``seq`` as a server should store it: CRLF lines, ending in CRLF."""
        stuffed = self.payload(seq)[: -len(b".\r\n")]
        return re.sub(rb"(?m)^\.", b"", stuffed)

    def payload(self, seq: int) -> bytes:
        """Message ``seq`` as sent after DATA: dot-stuffed and ending in ``CRLF.CRLF``."""
        pieces = self._pool[seq % len(self._pool)]
        return f"{seq:0{SEQUENCE_WIDTH}d}".encode().join(pieces)


def recipient(seq: int, domain: str) -> str:
    """The address message ``seq`` of a run to ``domain`` is sent to."""
    return f"user{seq:0{SEQUENCE_WIDTH}d}@{domain}"


def _skeleton(env: jinja2.Environment, domain: str) -> bytes:
    """The message with placeholders for the token and the padding, rendered once."""
    user = SimpleNamespace(username=f"user{_PLACEHOLDER.decode()}")
    url = f"http://127.0.0.1:5000/reset_password/{_TOKEN.decode()}"
    text = env.get_template("email/reset_password.txt").render(user=user, reset_url=url)
    html = env.get_template("email/reset_password.html").render(user=user, reset_url=url)
    html = html.replace("</body>", f"{_HTML_PADDING.decode()}</body>")
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = SUBJECT
    msg["From"] = SENDER
    msg["To"] = f"user{_PLACEHOLDER.decode()}@{domain}"
    msg["Date"] = _DATE
    msg["Message-ID"] = f"<{_PLACEHOLDER.decode()}.bench@{domain}>"
    msg.set_content(text + _TEXT_PADDING.decode(), cte="7bit")
    msg.add_alternative(html, subtype="html", cte="7bit")
    # Flask-Mail wraps the alternatives in multipart/mixed; so do we.
    msg.make_mixed()
    # Fixed boundaries: the same arguments always give the same bytes.
    msg.set_boundary("===============4242424242424242421==")
    msg.get_payload(0).set_boundary("===============4242424242424242422==")
    return msg.as_bytes()


def _pieces(skeleton: bytes, index: int, words: list[str]) -> list[bytes]:
    """Pool entry ``index``: its own token and word order, split where the sequence goes."""
    if words:
        turn = random.Random(index).randrange(len(words))
        words = words[turn:] + words[:turn]
    text_padding, html_padding = _padding(words)
    raw = (
        skeleton.replace(_TOKEN, _reset_token(index).encode())
        .replace(_TEXT_PADDING, text_padding.encode())
        .replace(_HTML_PADDING, html_padding.encode())
    )
    stuffed = re.sub(rb"(?m)^\.", b"..", raw) + b".\r\n"
    pieces = stuffed.split(_PLACEHOLDER)
    assert len(pieces) == _PLACES + 1, "the placeholder must appear only where it is put"
    return pieces


def _reset_token(index: int) -> str:
    """A JWT shaped like the app's reset tokens (same claims, same algorithm)."""
    payload = {
        "reset_password": index + 1,
        "exp": 1_795_599_277 + index,
        "pwd": hashlib.sha256(str(index).encode()).hexdigest()[:32],
        "purpose": "reset_password",
    }
    return jwt.encode(payload, "benchmark-signing-key-" + "0" * 32, algorithm="HS256")


def _words(rng: random.Random, length: int) -> list[str]:
    """Pseudo-words adding up to at most ``length`` characters with their spaces."""
    words: list[str] = []
    total = 0
    while True:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4)))
        if total + len(word) + 1 > length:
            return words
        words.append(word)
        total += len(word) + 1


def _padding(words: list[str]) -> tuple[str, str]:
    """The words as text and HTML paragraphs (CRLF lines under 78 characters)."""
    lines: list[str] = []
    line: list[str] = []
    for word in words:
        if sum(len(w) + 1 for w in line) + len(word) > 70:
            lines.append(" ".join(line))
            line = []
        line.append(word)
    if line:
        lines.append(" ".join(line))
    paragraphs = [lines[i : i + 6] for i in range(0, len(lines), 6)]
    text = "".join("\r\n\r\n" + "\r\n".join(p) for p in paragraphs)
    html = "".join("  <p>" + "\r\n".join(p) + "</p>\r\n" for p in paragraphs)
    return text, html
