"""What the indexer hands a parser for each message, and what it gets back.

Parsing is ``mail_sandbox.store.parse``'s; this module keeps a message that cannot be parsed
listed all the same, and lets a whole chunk be parsed in another process (``Parser``).
"""

from __future__ import annotations

import logging
from typing import Protocol

from mail_sandbox.store.parse import ParsedMessage, summarize

logger = logging.getLogger(__name__)

#: What a parser is given for one message: raw bytes, envelope sender, envelope recipients.
ParseJob = tuple[bytes, str, list[str]]


class Parser(Protocol):
    """Parses a chunk elsewhere (another process) while the indexer writes the one before."""

    def submit(self, jobs: list[ParseJob]) -> None:
        """Start parsing ``jobs``."""

    def result(self) -> list[ParsedMessage] | None:
        """The parsed ``jobs`` of the last ``submit``, or None when the parser failed."""

    def close(self) -> None:
        """Stop the parser."""


def parse_incoming(raw: bytes, envelope_from: str, envelope_to: list[str]) -> ParsedMessage:
    """``summarize``, with a bare summary should it ever fail: the bytes are kept either way."""
    try:
        return summarize(raw, envelope_from, envelope_to)
    except Exception:
        # summarize is built never to raise; if it does, the message is still listed.
        logger.exception("mail store: could not read a message; indexing it as is")
        return bare_summary(raw, envelope_from)


def bare_summary(raw: bytes, envelope_from: str) -> ParsedMessage:
    """What is known of a message without reading it: enough to list it and keep its bytes."""
    return ParsedMessage(size=len(raw), return_path=envelope_from)


def parse_all(jobs: list[ParseJob]) -> list[ParsedMessage]:
    """``parse_incoming`` for each job."""
    return [parse_incoming(*job) for job in jobs]
