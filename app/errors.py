"""Error pages: short plain pages instead of tracebacks."""

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.extensions import db


def register_error_handlers(app: Flask) -> None:
    """Render 400 (including a missing or bad CSRF token), 404 and 500 as simple pages."""
    app.register_error_handler(CSRFError, _bad_request)
    app.register_error_handler(400, _bad_request)
    app.register_error_handler(404, _not_found)
    app.register_error_handler(500, _server_error)


def _bad_request(error: HTTPException) -> tuple[str, int]:
    return render_template("errors/400.html", reason=error.description), 400


def _not_found(error: HTTPException) -> tuple[str, int]:
    return render_template("errors/404.html"), 404


def _server_error(error: Exception) -> tuple[str, int]:
    # The failed request may have left the session mid-transaction; the page must not reuse it.
    db.session.rollback()
    return render_template("errors/500.html"), 500
