"""Accounts: register, log in and out, and reset a forgotten password by email."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.auth import routes  # noqa: E402, F401 - registers the views on bp
