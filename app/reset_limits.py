"""Rate limits on password reset requests, per email address and per client address."""

import logging

from flask import Flask
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from app.addresses import AddressError, normalize_email
from app.config import ConfigError

log = logging.getLogger(__name__)

EXTENSION_KEY = "reset_limiter"


class ResetRequestLimiter:
    """Counts reset requests per email address and per client address in this process.

    Limits use the ``limits`` notation ("3 per 15 minutes", several joined with ";"); an empty
    setting means no limit of that kind.
    """

    def __init__(self, per_email: str, per_client: str) -> None:
        self._limits: dict[str, tuple[str, list[RateLimitItem]]] = {
            "per-email": ("RESET_LIMIT_PER_EMAIL", _parse("RESET_LIMIT_PER_EMAIL", per_email)),
            "per-client": ("RESET_LIMIT_PER_CLIENT", _parse("RESET_LIMIT_PER_CLIENT", per_client)),
        }
        self._window = MovingWindowRateLimiter(MemoryStorage())

    def allow(self, email: str, client: str, what: str = "Password reset request") -> bool:
        """Count one request; False, with one log line naming the limit, when past a limit.

        The client is counted first, so a client that floods one address still uses up its
        own allowance too. Every kind of request that emails an address a stranger typed
        counts against the same allowance (``what`` names it in the log line), so that no
        form can be used to flood someone's inbox.
        """
        for kind, key in (("per-client", client), ("per-email", _address_key(email))):
            setting, items = self._limits[kind]
            for item in items:
                if not self._window.hit(item, kind, key):
                    log.warning(
                        "%s refused, no email sent: %s limit of %s reached (%s)",
                        what,
                        kind,
                        item,
                        setting,
                    )
                    return False
        return True


def _address_key(email: str) -> str:
    # Every spelling of one address must use up one allowance.
    try:
        return normalize_email(email.strip()).lower()
    except AddressError:
        return email.strip().lower()


def init_reset_limiter(app: Flask) -> None:
    """Give ``app`` its own limiter, built from its RESET_LIMIT_* settings."""
    app.extensions[EXTENSION_KEY] = ResetRequestLimiter(
        app.config["RESET_LIMIT_PER_EMAIL"], app.config["RESET_LIMIT_PER_CLIENT"]
    )


def reset_limiter(app: Flask) -> ResetRequestLimiter:
    """The limiter that ``init_reset_limiter`` gave ``app``."""
    return app.extensions[EXTENSION_KEY]


def _parse(setting: str, value: str) -> list[RateLimitItem]:
    if not value.strip():
        return []
    try:
        return parse_many(value)
    except ValueError:
        raise ConfigError(f'{setting} must look like "3 per 15 minutes", got {value!r}') from None
