"""Database models."""

import hmac
import re
import secrets

from flask_login import UserMixin
from sqlalchemy import String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from app.addresses import AddressError, normalize_email
from app.extensions import db, login
from app.fingerprints import password_fingerprint

# SQLite (and most databases) store ids as signed 64-bit integers; a bigger number from outside
# must mean "no such user", not an overflow error.
MAX_USER_ID = 2**63 - 1
LOGIN_PURPOSE = "login"
_LOGIN_ID = re.compile(r"([1-9][0-9]{0,18}):([0-9a-f]{32})", re.ASCII)


def hash_password(password: str) -> str:
    """The salted hash an account keeps of ``password``, never the password itself."""
    return generate_password_hash(password)


class User(UserMixin, db.Model):
    """A registered account."""

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    email: Mapped[str] = mapped_column(String(120), unique=True, index=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))

    def set_password(self, password: str) -> None:
        """Store a salted hash of ``password``, never the password itself."""
        self.password_hash = hash_password(password)

    def replace_password(self, password: str) -> bool:
        """Set ``password`` only if the stored hash is still the one this object holds.

        A reset link is valid for one hash; two tabs submitting the same link at once both
        pass that check, so the change itself is conditional: the database decides which
        one wins. True if this call won and committed, False if the hash had changed.
        """
        new_hash = hash_password(password)
        result = db.session.execute(
            update(User)
            .where(User.id == self.id, User.password_hash == self.password_hash)
            .values(password_hash=new_hash)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return result.rowcount == 1

    def check_password(self, password: str) -> bool:
        """Whether ``password`` is this user's password."""
        if not self.password_hash:
            return False
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        """Flask-Login's id for sessions and remember-me cookies: ``"<id>:<fingerprint>"``.

        The fingerprint comes from the password hash, so setting a new password makes every
        session and remember-me cookie issued before it stop logging anyone in.
        """
        return f"{self.id}:{password_fingerprint(self.password_hash, LOGIN_PURPOSE)}"

    def __repr__(self) -> str:
        return f"<User {self.username}>"


def _pending_id() -> str:
    return secrets.token_urlsafe(24)


class PendingRegistration(db.Model):
    """A registration waiting for its emailed link to be opened.

    The chosen password's hash waits here rather than in the link, so that neither the email
    nor the token carries anything derived from the password. The id is random, not a
    sequence: a deleted row's id is never given to another registration, so an old link can
    never finish someone else's.
    """

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=_pending_id)
    username: Mapped[str] = mapped_column(String(64))
    # Normalised by ``normalize_email``, as User.email is.
    email: Mapped[str] = mapped_column(String(120), index=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    # Seconds since the epoch; rows past it are deleted by ``app.registrations``.
    expires_at: Mapped[int] = mapped_column(index=True)


def find_user_by_email(email: str) -> User | None:
    """The user registered with ``email`` in any spelling ``normalize_email`` accepts.

    Letter case is ignored, as mail servers do; an address no account could have is nobody's.
    """
    try:
        normalized = normalize_email(email.strip())
    except AddressError:
        return None
    return db.session.scalar(select(User).where(func.lower(User.email) == normalized.lower()))


def find_user_by_username(username: str) -> User | None:
    """The user called exactly ``username``."""
    return db.session.scalar(select(User).where(User.username == username))


@login.user_loader
def load_user(login_id: str) -> User | None:
    """Flask-Login's hook: the user a session's id names, if the password is still the same."""
    match = _LOGIN_ID.fullmatch(login_id)
    if match is None or int(match[1]) > MAX_USER_ID:
        return None
    user = db.session.get(User, int(match[1]))
    if user is None or not hmac.compare_digest(user.get_id(), login_id):
        return None
    return user
