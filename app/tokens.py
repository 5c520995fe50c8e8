"""Signed JWTs in emailed links: reset tokens bound to the user's current password, and
registration tokens that name a waiting registration, proving the address belongs to whoever
opens the link."""

import hmac
import time
from typing import Any

import jwt
from flask import current_app

from app import fingerprints
from app.extensions import db
from app.models import MAX_USER_ID, PendingRegistration, User

PURPOSE = "reset_password"
REGISTER_PURPOSE = "register"
ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["exp", "reset_password", "pwd", "purpose"]
_REGISTER_CLAIMS = ["exp", "pending", "purpose"]


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _decode(token: str, required: list[str], purpose: str) -> dict[str, Any] | None:
    try:
        payload = jwt.decode(
            token, _secret(), algorithms=[ALGORITHM], options={"require": required}
        )
    except jwt.PyJWTError:
        return None
    # One key signs both kinds: a token made for one purpose must not open the other's page.
    return payload if payload["purpose"] == purpose else None


def password_fingerprint(user: User) -> str:
    """The reset token's digest of ``user``'s password hash (see ``app.fingerprints``).

    Setting a new password changes it, which is what makes every earlier token stop working.
    """
    return fingerprints.password_fingerprint(user.password_hash, PURPOSE)


def make_reset_token(user: User) -> str:
    """A token that lets ``user`` set a new password until it expires or the password changes."""
    payload = {
        "reset_password": user.id,
        "exp": int(time.time()) + current_app.config["RESET_PASSWORD_TOKEN_TTL"],
        "pwd": password_fingerprint(user),
        "purpose": PURPOSE,
    }
    return jwt.encode(payload, _secret(), algorithm=ALGORITHM)


def verify_reset_token(token: str) -> User | None:
    """The user a valid reset token belongs to, or None for any invalid, expired or used one."""
    payload = _decode(token, _REQUIRED_CLAIMS, PURPOSE)
    if payload is None:
        return None
    user_id = payload["reset_password"]
    fingerprint = payload["pwd"]
    # bool is an int subclass, and a JSON true must not stand for user 1.
    if type(user_id) is not int or not 0 < user_id <= MAX_USER_ID:
        return None
    if not isinstance(fingerprint, str):
        return None
    user = db.session.get(User, user_id)
    if user is None:
        return None
    # Bytes, because compare_digest refuses str holding non-ASCII characters.
    if not hmac.compare_digest(fingerprint.encode(), password_fingerprint(user).encode()):
        return None
    return user


def make_registration_token(pending: PendingRegistration) -> str:
    """A token naming the waiting registration ``pending``, valid as long as it is.

    It carries the registration's random id and nothing else about it: the username, the
    address and the password hash stay in the database.
    """
    payload = {"pending": pending.id, "exp": pending.expires_at, "purpose": REGISTER_PURPOSE}
    return jwt.encode(payload, _secret(), algorithm=ALGORITHM)


def verify_registration_token(token: str) -> str | None:
    """The waiting registration's id in a valid, unexpired registration token, else None."""
    payload = _decode(token, _REGISTER_CLAIMS, REGISTER_PURPOSE)
    if payload is None or not isinstance(payload["pending"], str):
        return None
    return payload["pending"]
