"""Raw bytes to a message tree, whatever the bytes.

Captured mail is whatever an app under development produced, so reading it never raises: a
body too hostile to parse still leaves its headers readable, and bytes that are not even a
header section are kept as the body. The tree is built with a variant of the legacy
``compat32`` policy, whose headers stay plain text until read: the default policy parses every
Content-Type it meets (0.4 ms each, seconds for a message of many parts), and this runs for
every message received.
"""

from __future__ import annotations

import email.parser
import logging
from email.message import Message

from mail_sandbox.message_limits import bounded_headers, parse_bounded
from mail_sandbox.mime.headers import MALFORMED, POLICY

log = logging.getLogger(__name__)


def read_message(raw: bytes) -> Message:
    """The message tree of ``raw`` within the caps of ``mail_sandbox.message_limits``.

    Falls back to the headers alone (the body left as one text part) when the body cannot be
    parsed, and to a message whose body is all of ``raw`` when even the headers cannot.
    """
    try:
        return parse_bounded(raw, POLICY)
    except MALFORMED as exc:
        # No traceback: for a hostile nesting depth it would run to thousands of lines.
        log.warning(
            "message body unreadable (%s: %s); reading its headers only", type(exc).__name__, exc
        )
    try:
        return email.parser.BytesHeaderParser(policy=POLICY).parsebytes(bounded_headers(raw))
    except MALFORMED:
        message = Message(policy=POLICY)
        message.set_payload(raw.decode("ascii", "surrogateescape"))
        return message
