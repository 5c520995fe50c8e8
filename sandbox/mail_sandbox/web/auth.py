"""HTTP Basic credentials: the server's own (``--ui-auth``) and what a request offers.

The server's are off by default (the sandbox listens on loopback only); ``mail-sandbox --ui-auth
USER:PASS`` turns them on for an inbox that other machines can reach, since captured mail holds
reset links. ``web.access`` decides what a request may see with them.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from aiohttp import BasicAuth, hdrs, web

REALM = "mail-sandbox"
CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8"'


@dataclass(frozen=True, slots=True)
class Credentials:
    """The one user name and password the inbox accepts."""

    username: str
    password: str

    @classmethod
    def parse(cls, value: str) -> Credentials:
        """``USER:PASS`` (the password may contain colons); raises ``ValueError`` otherwise."""
        username, sep, password = value.partition(":")
        if not sep or not username or not password:
            raise ValueError("expected USER:PASS with a non-empty user name and password")
        if any(ord(char) < 32 or ord(char) == 127 for char in value):
            raise ValueError("the user name and password cannot contain control characters")
        return cls(username, password)

    def accepts(self, authorization: str) -> bool:
        """Whether an ``Authorization`` header value carries these credentials."""
        try:
            offered = BasicAuth.decode(authorization, encoding="utf-8")
        except ValueError:
            return False
        # Both compared in constant time, and both always compared, so timing tells nothing.
        user_ok = hmac.compare_digest(offered.login.encode(), self.username.encode())
        password_ok = hmac.compare_digest(offered.password.encode(), self.password.encode())
        return user_ok & password_ok


def offered_password(authorization: str, username: str) -> str | None:
    """The password an ``Authorization`` header offers for ``username``, or None when it
    offers none or is for another user."""
    try:
        offered = BasicAuth.decode(authorization, encoding="utf-8")
    except ValueError:
        return None
    return offered.password if offered.login == username else None


def challenge(reason: str) -> web.HTTPUnauthorized:
    """The 401 asking for HTTP Basic credentials, ``reason`` saying which."""
    return web.HTTPUnauthorized(reason=reason, headers={hdrs.WWW_AUTHENTICATE: CHALLENGE})
