"""The emails of the auth blueprint: the reset link, and the two answers to a registration."""

import logging
from concurrent.futures import Future

from flask import current_app, render_template
from flask_mail import Message

from app.email import build_message, deliver, run_in_background
from app.models import User, find_user_by_email
from app.registrations import start_registration
from app.tokens import make_registration_token, make_reset_token

log = logging.getLogger(__name__)

SUBJECT = "[Microblog] Reset Your Password"
REGISTER_SUBJECT = "[Microblog] Finish Registering"
ALREADY_REGISTERED_SUBJECT = "[Microblog] Your Address Is Already Registered"


def request_password_reset(email: str) -> Future | None:
    """Email a reset link to ``email`` if an account uses that address; return at once.

    The lookup, the token and the rendering all happen in the background job, so the time the
    request takes does not tell whether the address is registered.
    """
    return run_in_background(_send_if_registered, email)


def request_registration(username: str, email: str, password_hash: str) -> Future | None:
    """Email ``email`` the next step of registering ``username``; return at once.

    A new address gets a link that creates the account with ``password_hash``, which waits
    in the database meanwhile; an address with an account gets a note saying someone tried,
    with the way to reset the password, and the hash is dropped. Both are decided and sent in
    the background job, so the page's answer and its timing are the same either way.
    """
    return run_in_background(_send_registration_email, username, email, password_hash)


def _absolute_link(endpoint: str, **values: str) -> str:
    """The absolute link to ``endpoint`` with ``values`` (a token) in its path.

    It is built on APP_BASE_URL rather than the request's Host header, which a client chooses:
    otherwise a forged Host would send the victim's token to the forger's server.
    """
    # Only the path is wanted, so the host given to bind() never shows.
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["APP_BASE_URL"] + path


def reset_link(token: str) -> str:
    """The absolute link to the reset page for ``token``."""
    return _absolute_link("auth.reset_password", token=token)


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


def _send_registration_email(username: str, email: str, password_hash: str) -> bool:
    owner = find_user_by_email(email)
    if owner is None:
        token = make_registration_token(start_registration(username, email, password_hash))
        url = _absolute_link("auth.finish_registration", token=token)
        subject, template, recipient = REGISTER_SUBJECT, "email/finish_registration", email
    else:
        # The owner's own reset page, not a link with a token: this email was asked for by
        # whoever typed the address, who must not be able to start anything in its name.
        url = _absolute_link("auth.reset_password_request")
        subject, template = ALREADY_REGISTERED_SUBJECT, "email/already_registered"
        recipient = owner.email
    return deliver(
        build_message(
            subject,
            sender=current_app.config["ADMINS"][0],
            recipients=[recipient],
            text_body=render_template(f"{template}.txt", username=username, url=url),
            html_body=render_template(f"{template}.html", username=username, url=url),
        )
    )
