"""Database models."""

import hmac
import re

from flask_login import UserMixin
from sqlalchemy import String, func, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db, login
from app.fingerprints import password_fingerprint

# SQLite (and most databases) store ids as signed 64-bit integers; a bigger number from outside
# must mean "no such user", not an overflow error.
MAX_USER_ID = 2**63 - 1
LOGIN_PURPOSE = "login"
_LOGIN_ID = re.compile(r"([1-9][0-9]{0,18}):([0-9a-f]{32})", re.ASCII)


class User(UserMixin, db.Model):
    """A registered account."""

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    email: Mapped[str] = mapped_column(String(120), unique=True, index=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))

    def set_password(self, password: str) -> None:
        """Store a salted hash of ``password``, never the password itself."""
        self.password_hash = generate_password_hash(password)

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


def find_user_by_email(email: str) -> User | None:
    """The user registered with ``email``; the comparison ignores case, as mail servers do."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


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
