"""Keeping the tokens of emailed links out of log lines.

A reset or registration link works for whoever holds it, and its token is in the path the
access log prints (``POST /reset_password/eyJ...``): anyone who can read the log could use it.
"""

import logging
import re

from flask import Flask

# A JWT: three base64url parts, the first always starts with "eyJ" (the JSON '{"').
_TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
MASK = "eyJ…[masked]"


def mask_tokens(text: str) -> str:
    """``text`` with every token replaced by MASK."""
    return _TOKEN.sub(MASK, text)


class TokenMaskingFilter(logging.Filter):
    """Rewrites a record's message with its tokens masked, before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the formatted message; a record is never dropped."""
        message = record.getMessage()
        masked = mask_tokens(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_token_masking(app: Flask) -> None:
    """Mask tokens in werkzeug's request log and in the app's logger (request errors name the
    path). A logger's filters only see its own records, hence one on each."""
    for logger in (logging.getLogger("werkzeug"), app.logger):
        if not any(isinstance(f, TokenMaskingFilter) for f in logger.filters):
            logger.addFilter(TokenMaskingFilter())
