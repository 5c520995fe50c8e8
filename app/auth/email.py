"""The password reset email."""

import logging
from concurrent.futures import Future

from flask import current_app, render_template
from flask_mail import Message

from app.email import build_message, deliver, run_in_background
from app.models import User, find_user_by_email
from app.tokens import make_reset_token

log = logging.getLogger(__name__)

SUBJECT = "[Microblog] Reset Your Password"


def request_password_reset(email: str) -> Future | None:
    """Email a reset link to ``email`` if an account uses that address; return at once.

    The lookup, the token and the rendering all happen in the background job, so the time the
    request takes does not tell whether the address is registered.
    """
    return run_in_background(_send_if_registered, email)


def reset_link(token: str) -> str:
    """The absolute link to the reset page for ``token``.

    It is built on APP_BASE_URL rather than the request's Host header, which a client chooses:
    otherwise a forged Host would send the victim's token to the forger's server.
    """
    # Only the path is wanted, so the host given to bind() never shows.
    path = current_app.url_map.bind("localhost").build("auth.reset_password", {"token": token})
    return current_app.config["APP_BASE_URL"] + path


def password_reset_message(user: User) -> Message:
    """The reset email for ``user``, holding a fresh token in its text and HTML parts."""
    url = reset_link(make_reset_token(user))
    return build_message(
        SUBJECT,
        sender=current_app.config["ADMINS"][0],
        recipients=[user.email],
        text_body=render_template("email/reset_password.txt", user=user, reset_url=url),
        html_body=render_template("email/reset_password.html", user=user, reset_url=url),
    )


def send_password_reset_email(user: User) -> bool:
    """Send ``user`` a reset email now, in this thread; True once the server accepted it."""
    return deliver(password_reset_message(user))


def _send_if_registered(email: str) -> bool:
    user = find_user_by_email(email)
    if user is None:
        log.info("No account uses %r, so no reset email was sent", email)
        return False
    return send_password_reset_email(user)
