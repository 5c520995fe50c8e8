"""Database models."""

from flask_login import UserMixin
from sqlalchemy import String, func, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db, login


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

    def __repr__(self) -> str:
        return f"<User {self.username}>"


def find_user_by_email(email: str) -> User | None:
    """The user registered with ``email``; the comparison ignores case, as mail servers do."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def find_user_by_username(username: str) -> User | None:
    """The user called exactly ``username``."""
    return db.session.scalar(select(User).where(User.username == username))


@login.user_loader
def load_user(user_id: str) -> User | None:
    """Flask-Login's hook: the user whose id is stored in the session, if it still exists."""
    try:
        return db.session.get(User, int(user_id))
    except ValueError:
        return None
