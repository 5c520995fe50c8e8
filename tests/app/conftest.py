"""Fixtures for the Microblog app's tests: an app per test on its own SQLite file, a logged-out
test client, a registered user, the outbox of sent mail and an in-process SMTP server."""

import asyncio
import threading
from collections.abc import Callable, Iterator

import pytest
from aiosmtpd.controller import Controller
from app_helpers import BASE_URL, EMAIL, PASSWORD, SENDER, USERNAME
from flask import Flask
from flask.testing import FlaskClient
from flask_mail import Message

from app import create_app
from app.config import Config
from app.email import EXECUTOR_KEY
from app.extensions import db, mail
from app.models import User

AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(tmp_path, monkeypatch) -> Iterator[AppFactory]:
    """Build apps for this test: ``make_app(SETTING=value, ...)`` overrides test settings.

    Every app of one test shares a fresh SQLite file given through DATABASE_URL, sends mail
    synchronously to nowhere (Flask-Mail's testing mode) and has CSRF checks off unless a
    setting turns them back on. Background mail threads are stopped after the test.
    """
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'microblog.db'}")
    apps: list[Flask] = []

    def factory(**settings: object) -> Flask:
        defaults = {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-" + "0123456789abcdef" * 4,
            "WTF_CSRF_ENABLED": False,
            "MAIL_SEND_SYNC": True,
            "MAIL_RETRY_BACKOFF": 0.0,
            "MAIL_SERVER": "127.0.0.1",
            "ADMINS": [SENDER, "second@microblog.test"],
            "MAIL_DEFAULT_SENDER": SENDER,
            "APP_BASE_URL": BASE_URL,
            "TRUSTED_HOSTS": None,
            "RESET_LIMIT_PER_EMAIL": "",
            "RESET_LIMIT_PER_CLIENT": "",
        }
        config = type("TestConfig", (Config,), {**defaults, **settings})
        app = create_app(config)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.extensions[EXECUTOR_KEY].shutdown(wait=True)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    """The app with the default test settings."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of ``app`` that is not logged in."""
    return app.test_client()


@pytest.fixture
def user(app: Flask) -> User:
    """A registered user, susan / susan@example.com, whose password is PASSWORD."""
    with app.app_context():
        account = User(username=USERNAME, email=EMAIL)
        account.set_password(PASSWORD)
        db.session.add(account)
        db.session.commit()
        db.session.refresh(account)
        db.session.expunge(account)
    return account


@pytest.fixture
def outbox(app: Flask) -> Iterator[list[Message]]:
    """Every message the app sends during the test (Flask-Mail's record_messages)."""
    with mail.record_messages() as messages:
        yield messages


class _FreePortController(Controller):
    """aiosmtpd's Controller on a port the OS picks: it is given port 0 and learns the real
    port before its start-up check connects to it."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class RecordingHandler:
    """An aiosmtpd handler that keeps what it accepts and signals each arrival.

    ``refuse_first`` DATA commands are answered with a temporary failure (451), while
    ``gate`` is not set every DATA waits for it, so that tests can hold a delivery open, and
    ``delay`` seconds pass before each answer, as with a distant server.
    """

    def __init__(self) -> None:
        self.envelopes: list = []
        self.attempts = 0
        self.refuse_first = 0
        self.delay = 0.0
        self.gate = threading.Event()
        self.gate.set()
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd hook
        """Count the attempt, then refuse it, hold it or keep it."""
        self.attempts += 1
        if self.attempts <= self.refuse_first:
            return "451 4.3.0 Try again later"
        await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, 10)
        await asyncio.sleep(self.delay)
        self.envelopes.append(envelope)
        self.received.set()
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[RecordingHandler, int]]:
    """An in-process SMTP server on 127.0.0.1 and a free port: (handler, port)."""
    handler = RecordingHandler()
    controller = _FreePortController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        handler.gate.set()
        controller.stop()
