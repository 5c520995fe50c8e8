"""Application settings, read from environment variables when an app is created."""

import os
from urllib.parse import urlsplit

import click

DEFAULT_ADMINS = "no-reply@microblog.example"
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
# werkzeug compares names without their port and cannot match an IPv6 literal, so "::1" is
# listed for the day it can; the app's own links and `flask run` use 127.0.0.1.
LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "::1"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class ConfigError(click.ClickException, RuntimeError):
    """A setting is missing or malformed, so the app refuses to start.

    It is a RuntimeError for code that creates the app, and a ClickException so that
    ``flask --app app run`` prints one "Error: ..." line and exits instead of a traceback.
    """


def _text(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


def _flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be one of 1/0, true/false, yes/no or on/off, got {raw!r}")


def _number(name: str, default: float, kind: type[int] | type[float]) -> int | float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return value


def _list(name: str) -> list[str]:
    raw = os.environ.get(name, "")
    return [item.strip() for item in raw.split(",") if item.strip()]


class Config:
    """Settings for ``create_app``.

    Each property reads its environment variable when the app is created (not at import), so
    the same class serves every process. Tests and other callers override a setting by
    subclassing and assigning a plain class attribute of the same name. The names are upper
    case because Flask's ``from_object`` only copies upper-case attributes.
    """

    # Flask-SQLAlchemy's default is to keep per-object change tracking nobody here uses.
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True

    @property
    def SECRET_KEY(self) -> str | None:
        """Signs sessions, CSRF tokens and reset tokens; create_app decides what absence means."""
        return _text("SECRET_KEY")

    @property
    def SQLALCHEMY_DATABASE_URI(self) -> str | None:
        """DATABASE_URL; None means the SQLite file in the instance folder."""
        return _text("DATABASE_URL")

    @property
    def MAIL_SERVER(self) -> str:
        """SMTP host; the default points at the capture server of the sandbox."""
        return _text("MAIL_SERVER", "localhost")

    @property
    def MAIL_PORT(self) -> int:
        """SMTP port, 8025 like the tutorial and the sandbox."""
        return _number("MAIL_PORT", 8025, int)

    @property
    def MAIL_USE_TLS(self) -> bool:
        """STARTTLS after connecting."""
        return _flag("MAIL_USE_TLS")

    @property
    def MAIL_USE_SSL(self) -> bool:
        """Implicit TLS from the first byte."""
        return _flag("MAIL_USE_SSL")

    @property
    def MAIL_USERNAME(self) -> str | None:
        """SMTP login name, if the server wants one."""
        return _text("MAIL_USERNAME")

    @property
    def MAIL_PASSWORD(self) -> str | None:
        """SMTP password, if the server wants one."""
        return _text("MAIL_PASSWORD")

    @property
    def ADMINS(self) -> list[str]:
        """Comma separated addresses; the first one sends the reset email."""
        return _list("ADMINS") or [DEFAULT_ADMINS]

    @property
    def MAIL_DEFAULT_SENDER(self) -> str:
        """Flask-Mail's fallback sender, kept equal to the reset email's sender."""
        return self.ADMINS[0]

    @property
    def RESET_PASSWORD_TOKEN_TTL(self) -> int:
        """Seconds a reset link stays valid."""
        return _number("RESET_PASSWORD_TOKEN_TTL", 600, int)

    @property
    def APP_BASE_URL(self) -> str:
        """Absolute base of links in emails; never taken from a request's Host header."""
        return _text("APP_BASE_URL", DEFAULT_BASE_URL).rstrip("/")

    @property
    def TRUSTED_HOSTS(self) -> list[str] | None:
        """Host names Flask accepts in requests (others get 400); None accepts any.

        By default the host of APP_BASE_URL and the loopback names: a web page whose name an
        attacker points at 127.0.0.1 (DNS rebinding) then reaches no page of a local app.
        ``*`` accepts any Host, for a proxy that forwards its own name.
        """
        names = _list("TRUSTED_HOSTS")
        if names == ["*"]:
            return None
        if names:
            return names
        base_host = urlsplit(self.APP_BASE_URL).hostname
        return list(dict.fromkeys([base_host, *LOOPBACK_HOSTS] if base_host else LOOPBACK_HOSTS))

    @property
    def REGISTRATION_TOKEN_TTL(self) -> int:
        """Seconds the link that finishes a registration stays valid, and its row is kept."""
        return _number("REGISTRATION_TOKEN_TTL", 86400, int)

    @property
    def MAIL_SEND_RETRIES(self) -> int:
        """How many times a failed send is tried again before giving up."""
        return _number("MAIL_SEND_RETRIES", 3, int)

    @property
    def MAIL_RETRY_BACKOFF(self) -> float:
        """Seconds before the first retry; each later wait doubles."""
        return _number("MAIL_RETRY_BACKOFF", 1.0, float)

    @property
    def MAIL_SEND_SYNC(self) -> bool:
        """Send in the caller's thread instead of the background (for tests)."""
        return _flag("MAIL_SEND_SYNC")

    @property
    def RESET_LIMIT_PER_EMAIL(self) -> str:
        """Reset requests allowed per email address, e.g. "3 per 15 minutes"; empty: no limit."""
        return os.environ.get("RESET_LIMIT_PER_EMAIL", "3 per 15 minutes").strip()

    @property
    def RESET_LIMIT_PER_CLIENT(self) -> str:
        """Reset requests allowed per client address, e.g. "30 per 15 minutes"; empty: no limit."""
        return os.environ.get("RESET_LIMIT_PER_CLIENT", "30 per 15 minutes").strip()
