"""Views of the main blueprint."""

from flask import render_template
from flask_login import login_required

from app.main import bp


@bp.route("/")
@bp.route("/index")
@login_required
def index() -> str:
    """The home page, greeting the logged-in user."""
    return render_template("index.html", title="Home")
