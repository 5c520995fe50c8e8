"""Registrations that wait for their emailed link: kept in the database, never in the link."""

import time

from flask import current_app
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import PendingRegistration, User, find_user_by_email


def _now() -> int:
    return int(time.time())


def delete_expired() -> None:
    """Forget every registration whose link has expired (its password hash included)."""
    db.session.execute(delete(PendingRegistration).where(PendingRegistration.expires_at <= _now()))


def start_registration(username: str, email: str, password_hash: str) -> PendingRegistration:
    """Keep ``username`` with ``password_hash`` for ``email`` until REGISTRATION_TOKEN_TTL ends.

    Expired ones are deleted on the way, so that the table holds no more than the links that
    still work.
    """
    delete_expired()
    pending = PendingRegistration(
        username=username,
        email=email,
        password_hash=password_hash,
        expires_at=_now() + current_app.config["REGISTRATION_TOKEN_TTL"],
    )
    db.session.add(pending)
    db.session.commit()
    return pending


def find_pending(pending_id: str) -> PendingRegistration | None:
    """The unexpired registration ``pending_id`` names, or None."""
    pending = db.session.get(PendingRegistration, pending_id)
    if pending is None or pending.expires_at <= _now():
        return None
    return pending


def create_account(pending: PendingRegistration) -> User | None:
    """Create the account ``pending`` describes; None if its address got an account first.

    Every other waiting registration of the address goes too: their links can no longer
    create anything.
    """
    if find_user_by_email(pending.email) is not None:
        return None
    user = User(username=pending.username, email=pending.email, password_hash=pending.password_hash)
    db.session.add(user)
    db.session.execute(
        delete(PendingRegistration).where(PendingRegistration.email == pending.email)
    )
    try:
        db.session.commit()
    except IntegrityError:
        # The same link in two tabs at once: the unique columns let one of them win.
        db.session.rollback()
        return None
    return user
