"""HTTP Basic auth in front of the inbox, the API and the event stream.

Off by default (the sandbox listens on loopback only); ``mail-sandbox --ui-auth USER:PASS`` turns
it on for an inbox that other machines can reach, since captured mail holds reset links.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from aiohttp import BasicAuth, hdrs, web
from aiohttp.typedefs import Handler, Middleware

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


def basic_auth_middleware(credentials: Credentials) -> Middleware:
    """A middleware answering 401 with a Basic challenge unless ``credentials`` are sent."""

    @web.middleware
    async def require_credentials(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not credentials.accepts(request.headers.get(hdrs.AUTHORIZATION, "")):
            raise web.HTTPUnauthorized(
                reason="Sign in to see the captured mail",
                headers={hdrs.WWW_AUTHENTICATE: CHALLENGE},
            )
        return await handler(request)

    return require_credentials
