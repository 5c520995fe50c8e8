"""Password reset tokens: signed JWTs bound to the user's current password."""

import hmac
import time

import jwt
from flask import current_app

from app import fingerprints
from app.extensions import db
from app.models import MAX_USER_ID, User

PURPOSE = "reset_password"
ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["exp", "reset_password", "pwd", "purpose"]


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


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
    try:
        payload = jwt.decode(
            token, _secret(), algorithms=[ALGORITHM], options={"require": _REQUIRED_CLAIMS}
        )
    except jwt.PyJWTError:
        return None
    user_id = payload["reset_password"]
    fingerprint = payload["pwd"]
    # bool is an int subclass, and a JSON true must not stand for user 1.
    if type(user_id) is not int or not 0 < user_id <= MAX_USER_ID:
        return None
    if payload["purpose"] != PURPOSE or not isinstance(fingerprint, str):
        return None
    user = db.session.get(User, user_id)
    if user is None:
        return None
    # Bytes, because compare_digest refuses str holding non-ASCII characters.
    if not hmac.compare_digest(fingerprint.encode(), password_fingerprint(user).encode()):
        return None
    return user
