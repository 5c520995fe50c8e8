"""Keyed digests of a password hash: they change whenever the password does."""

import hashlib
import hmac

from flask import current_app


def password_fingerprint(password_hash: str | None, purpose: str) -> str:
    """A short digest of ``password_hash`` keyed with SECRET_KEY, different for each ``purpose``.

    Reset tokens and login ids carry this instead of the hash, because both travel in readable
    form (a JWT payload, a signed but unencrypted cookie). The purpose goes into the digest so
    that a value shown for one use is no help in forging another.
    """
    key = current_app.config["SECRET_KEY"].encode()
    message = f"{purpose}\0{password_hash or ''}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]
