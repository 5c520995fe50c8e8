"""Views of the auth blueprint."""

import re
from urllib.parse import unquote

from flask import (
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from wtforms.validators import ValidationError

from app.auth import bp
from app.auth.email import request_password_reset, request_registration
from app.auth.forms import (
    FinishRegistrationForm,
    LoginForm,
    RegistrationForm,
    ResetPasswordForm,
    ResetPasswordRequestForm,
    check_username,
)
from app.models import find_user_by_email, find_user_by_username, hash_password
from app.registrations import create_account, find_pending
from app.reset_limits import reset_limiter
from app.tokens import verify_registration_token, verify_reset_token

RESET_REQUESTED = "Check your email for the instructions to reset your password"
RESET_DONE = "Your password has been reset."
RESET_LINK_INVALID = "The password reset link is invalid or has expired."
LOGIN_FAILED = "Invalid username or password"
REGISTERED = "Congratulations, you are now a registered user!"
REGISTRATION_SENT = "Check your email to finish registering."
REGISTRATION_LINK_INVALID = "The registration link is invalid or has expired."

# One slash, then no second slash or backslash, then printable ASCII without spaces or
# backslashes: browsers read "//host", "/\\host", "////host" and such paths with tabs or line
# breaks in them as another site. Paths this app builds are plain ASCII (url_for escapes).
_SITE_PATH = re.compile(r"/(?![/\\])[\x21-\x5b\x5d-\x7e]*")
# What a decoded form must not start with: browsers drop tabs and line breaks anywhere.
_ANOTHER_HOST = re.compile(r"/[\t\n\r]*[/\\]")
_UNQUOTE_ROUNDS = 3


def _local_target(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirect via ?next=).

    Its percent-decoded forms must not name another host either ("/%2F/host"), for whatever
    decodes it once more on the way.
    """
    if not target or not _SITE_PATH.fullmatch(target):
        return None
    decoded = target
    for _ in range(_UNQUOTE_ROUNDS):
        decoded = unquote(decoded)
        if _ANOTHER_HOST.match(decoded):
            return None
    return target


def _private(response: Response) -> Response:
    # The reset URL holds the token: keep it out of Referer headers and out of caches.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    """Log in with username and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = find_user_by_username(form.username.data)
        if user is None or not user.check_password(form.password.data):
            flash(LOGIN_FAILED)
            return redirect(url_for("auth.login"))
        login_user(user, remember=form.remember_me.data)
        return redirect(_local_target(request.args.get("next")) or url_for("main.index"))
    return render_template("auth/login.html", title="Sign In", form=form)


@bp.route("/logout")
def logout() -> Response:
    """Log out and go back to the start."""
    logout_user()
    return redirect(url_for("main.index"))


@bp.route("/register", methods=["GET", "POST"])
def register() -> Response | str:
    """Start an account: the emailed link finishes it (see ``request_registration``)."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegistrationForm()
    if form.validate_on_submit():
        email, client = form.email.data, request.remote_addr or "unknown"
        # Hashed for taken addresses too, so that the answer takes as long for both.
        password_hash = hash_password(form.password.data)
        if reset_limiter(current_app).allow(email, client, "Registration"):
            request_registration(form.username.data, email, password_hash)
        flash(REGISTRATION_SENT)
        return redirect(url_for("auth.login"))
    return render_template("auth/register.html", title="Register", form=form)


@bp.route("/register/<token>", methods=["GET", "POST"])
def finish_registration(token: str) -> Response:
    """Create the account of an emailed registration link once its button is pressed."""
    if current_user.is_authenticated:
        return _private(redirect(url_for("main.index")))
    pending_id = verify_registration_token(token)
    pending = find_pending(pending_id) if pending_id is not None else None
    # An account with the address means the link was used already (or another link won).
    if pending is None or find_user_by_email(pending.email) is not None:
        flash(REGISTRATION_LINK_INVALID)
        return _private(redirect(url_for("auth.register")))
    try:
        check_username(pending.username)
    except ValidationError as exc:
        # Taken since the link was sent: the address's owner may know, and can start again.
        flash(str(exc))
        return _private(redirect(url_for("auth.register")))
    form = FinishRegistrationForm()
    if form.validate_on_submit():
        if create_account(pending) is None:
            flash(REGISTRATION_LINK_INVALID)
            return _private(redirect(url_for("auth.register")))
        flash(REGISTERED)
        return _private(redirect(url_for("auth.login")))
    page = render_template(
        "auth/finish_registration.html",
        title="Finish Registering",
        form=form,
        username=pending.username,
    )
    return _private(make_response(page))


@bp.route("/reset_password_request", methods=["GET", "POST"])
def reset_password_request() -> Response | str:
    """Ask for a reset link; the answer is the same whether or not the address is known."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = ResetPasswordRequestForm()
    if form.validate_on_submit():
        email = form.email.data
        if reset_limiter(current_app).allow(email, request.remote_addr or "unknown"):
            request_password_reset(email)
        flash(RESET_REQUESTED)
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password_request.html", title="Reset Password", form=form)


@bp.route("/reset_password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response:
    """Set a new password with the token from the emailed link."""
    if current_user.is_authenticated:
        return _private(redirect(url_for("main.index")))
    user = verify_reset_token(token)
    if user is None:
        flash(RESET_LINK_INVALID)
        return _private(redirect(url_for("auth.reset_password_request")))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        if not user.replace_password(form.password.data):
            # The same link was used at the same moment elsewhere, and that use won.
            flash(RESET_LINK_INVALID)
            return _private(redirect(url_for("auth.reset_password_request")))
        flash(RESET_DONE)
        return _private(redirect(url_for("auth.login")))
    page = render_template("auth/reset_password.html", title="Reset Password", form=form)
    return _private(make_response(page))
