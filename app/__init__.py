"""Microblog: a small Flask app whose password can be reset by email."""

import logging
import os
import secrets

from flask import Flask

from app import cli, email, errors, models  # noqa: F401 - models registers the tables
from app.auth import bp as auth_bp
from app.config import Config, ConfigError
from app.extensions import csrf, db, login, mail
from app.log_masking import install_token_masking
from app.main import bp as main_bp
from app.reset_limits import init_reset_limiter

log = logging.getLogger(__name__)

UNSET_KEY_MESSAGE = (
    "SECRET_KEY is not set: export SECRET_KEY=... "
    "(or run with --debug / MICROBLOG_ENV=development for local use)"
)


def create_app(config_class: type[Config] = Config) -> Flask:
    """Build the Microblog app with the settings of ``config_class`` (see ``app.config``)."""
    app = Flask(__name__)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.config.from_object(config_class())
    install_token_masking(app)
    # Flask sets up its logger on first use; doing it now makes the app's INFO lines (mail sent,
    # no such account) visible in debug mode from the first request on.
    app.logger.info("Links in emails start with %s", app.config["APP_BASE_URL"])
    _ensure_secret_key(app)
    _ensure_database_uri(app)

    db.init_app(app)
    login.init_app(app)
    mail.init_app(app)
    csrf.init_app(app)
    app.extensions[email.EXECUTOR_KEY] = email.make_executor()
    init_reset_limiter(app)

    app.register_blueprint(auth_bp)
    app.register_blueprint(main_bp)
    errors.register_error_handlers(app)
    cli.register_commands(app)

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # So that `flask run` works on a fresh checkout; other databases are set up on purpose.
        with app.app_context():
            db.create_all()
    return app


def _ensure_secret_key(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    if app.debug or app.testing or os.environ.get("MICROBLOG_ENV") == "development":
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        log.warning(
            "SECRET_KEY is not set: using a random key for this process only; sessions and "
            "reset links stop working when it restarts"
        )
        return
    raise ConfigError(UNSET_KEY_MESSAGE)


def _ensure_database_uri(app: Flask) -> None:
    if app.config.get("SQLALCHEMY_DATABASE_URI"):
        return
    os.makedirs(app.instance_path, exist_ok=True)
    path = os.path.join(app.instance_path, "microblog.db")
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
