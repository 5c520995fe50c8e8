"""Views of the auth blueprint."""

from urllib.parse import urlsplit

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

from app.auth import bp
from app.auth.email import request_password_reset
from app.auth.forms import LoginForm, RegistrationForm, ResetPasswordForm, ResetPasswordRequestForm
from app.extensions import db
from app.models import User, find_user_by_username
from app.reset_limits import reset_limiter
from app.tokens import verify_reset_token

RESET_REQUESTED = "Check your email for the instructions to reset your password"
RESET_DONE = "Your password has been reset."
RESET_LINK_INVALID = "The password reset link is invalid or has expired."
LOGIN_FAILED = "Invalid username or password"
REGISTERED = "Congratulations, you are now a registered user!"


def _local_target(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirect via ?next=)."""
    if not target or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
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
    """Create an account."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegistrationForm()
    if form.validate_on_submit():
        user = User(username=form.username.data, email=form.email.data)
        user.set_password(form.password.data)
        db.session.add(user)
        db.session.commit()
        flash(REGISTERED)
        return redirect(url_for("auth.login"))
    return render_template("auth/register.html", title="Register", form=form)


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
        user.set_password(form.password.data)
        db.session.commit()
        flash(RESET_DONE)
        return _private(redirect(url_for("auth.login")))
    page = render_template("auth/reset_password.html", title="Reset Password", form=form)
    return _private(make_response(page))
