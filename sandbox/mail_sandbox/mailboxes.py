"""What makes a mailbox name, and how a mailbox's password is kept.

The SMTP side (an AUTH username, an ``X-Mailbox`` header), the web (``/m/{name}/``), the CLI
and the store all take names by this one rule, so a name that one accepts the others do too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from mail_sandbox.defaults import DEFAULT_MAILBOX, MAX_MAILBOX_TTL_SECONDS

__all__ = [
    "DEFAULT_MAILBOX",
    "MAX_NAME_LENGTH",
    "check_name",
    "check_ttl",
    "hash_password",
    "is_mailbox_name",
    "password_matches",
]

MAX_NAME_LENGTH = 64
_NAME = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_NAME_LENGTH}}}")
# scrypt at these costs takes some 20 ms: cheap for one request, dear for guessing.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def is_mailbox_name(name: object) -> bool:
    """Whether ``name`` is a usable mailbox name: letters, digits, ``-``, ``_`` and ``.``, 1
    to 64 characters, not ``.`` or ``..`` (they would read as a path in ``/m/{name}/``)."""
    return isinstance(name, str) and _NAME.fullmatch(name) is not None and name not in (".", "..")


def check_name(name: object) -> str:
    """``name`` when it is a mailbox name, else ``ValueError`` saying what one is."""
    if not is_mailbox_name(name):
        raise ValueError(
            "a mailbox name is 1 to 64 letters, digits, '-', '_' or '.' "
            f"(not '.' or '..'), not {name!r}"
        )
    assert isinstance(name, str)
    return name


def check_ttl(ttl: object) -> int | None:
    """``ttl`` when it is a mailbox TTL (None, or whole seconds from 1 to ten years), else
    ``ValueError`` saying what one is."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= MAX_MAILBOX_TTL_SECONDS:
        raise ValueError(
            f"a TTL is a whole number of seconds from 1 to {MAX_MAILBOX_TTL_SECONDS}, not {ttl!r}"
        )
    return ttl


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``, as kept in the store."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8", "surrogateescape"), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def password_matches(kept: str, password: str) -> bool:
    """Whether ``password`` is the one ``kept`` (a ``hash_password`` result) was made from."""
    try:
        scheme, salt, digest = kept.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8", "surrogateescape"), salt=base64.b64decode(salt), **_SCRYPT
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
