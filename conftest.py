"""Fixtures shared by every suite: the browser to launch, and the app served live over HTTP,
sending its mail to the pytest plugin's capture server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app import create_app
from app.config import Config
from app.email import EXECUTOR_KEY
from app.extensions import db
from app.models import User
from tools.browser import NoBrowserError, chromium_executable

LIVE_APP_SECRET = "live-app-test-secret-" + "5f3c" * 12


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Playwright's own Chromium when installed, else the system's or CHROMIUM_PATH."""
    try:
        executable = chromium_executable()
    except NoBrowserError as exc:
        pytest.fail(str(exc), pytrace=False)
    if executable is None:
        return browser_type_launch_args
    return {**browser_type_launch_args, "executable_path": str(executable)}


class TrackingExecutor(futures.ThreadPoolExecutor):
    """The app's mail thread pool, remembering its jobs so a test can wait for them all."""

    def __init__(self) -> None:
        super().__init__(max_workers=2, thread_name_prefix="live-app-mail")
        self.jobs: list[futures.Future] = []

    def submit(self, fn, /, *args, **kwargs) -> futures.Future:
        """Schedule ``fn`` as ThreadPoolExecutor does, and keep its future."""
        future = super().submit(fn, *args, **kwargs)
        self.jobs.append(future)
        return future


@dataclass(frozen=True)
class Account:
    """A registered user's credentials."""

    username: str
    email: str
    password: str


@dataclass
class LiveApp:
    """The Microblog app served over real HTTP on a free loopback port."""

    url: str
    app: Flask

    def create_user(self, username: str, email: str, password: str) -> Account:
        """Register a user directly in the app's database."""
        with self.app.app_context():
            user = User(username=username, email=email)
            user.set_password(password)
            db.session.add(user)
            db.session.commit()
        return Account(username, email, password)

    def wait_for_mail_jobs(self, timeout: float = 30) -> None:
        """Wait until every background mail job started so far has finished (sent or not)."""
        executor: TrackingExecutor = self.app.extensions[EXECUTOR_KEY]
        _, pending = futures.wait(list(executor.jobs), timeout=timeout)
        assert not pending, f"{len(pending)} mail jobs still running after {timeout} s"

    def password_works(self, username: str, password: str) -> bool:
        """Whether ``password`` is now ``username``'s password."""
        with self.app.app_context():
            user = db.session.scalar(db.select(User).filter_by(username=username))
            return user is not None and user.check_password(password)


LiveAppFactory = Callable[..., LiveApp]


@pytest.fixture
def live_app_factory(mail_sandbox, tmp_path) -> Iterator[LiveAppFactory]:
    """Start the app live, ``live_app_factory(SETTING=value, ...)`` overriding settings.

    Each app gets its own throwaway SQLite database, sends its mail to the session's capture
    server (``mail_sandbox``) in the background as in production, keeps CSRF on, and puts its
    own address in the links it emails. Rate limits are off unless a setting turns them on, so
    repeated runs (``--count 20``) never trip them.
    """
    servers: list[tuple[Any, threading.Thread, Flask]] = []

    def start(**settings: Any) -> LiveApp:
        defaults = {
            "TESTING": False,
            "SECRET_KEY": LIVE_APP_SECRET,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / f'app{len(servers)}.db'}",
            "MAIL_SERVER": mail_sandbox.smtp_host,
            "MAIL_PORT": mail_sandbox.smtp_port,
            "MAIL_RETRY_BACKOFF": 0.05,
            "RESET_LIMIT_PER_EMAIL": "",
            "RESET_LIMIT_PER_CLIENT": "",
            "TRUSTED_HOSTS": None,
        }
        config = type("LiveAppConfig", (Config,), {**defaults, **settings})
        app = create_app(config)
        app.extensions[EXECUTOR_KEY].shutdown()
        app.extensions[EXECUTOR_KEY] = TrackingExecutor()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        url = f"http://127.0.0.1:{server.server_port}"
        # The port is known only once bound; links in emails must name it.
        app.config["APP_BASE_URL"] = url
        thread = threading.Thread(target=server.serve_forever, daemon=True, name="live-app")
        thread.start()
        servers.append((server, thread, app))
        return LiveApp(url, app)

    yield start
    for server, thread, app in servers:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions[EXECUTOR_KEY].shutdown(wait=True)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def live_app(live_app_factory: LiveAppFactory) -> LiveApp:
    """The app live with the default test settings."""
    return live_app_factory()


@pytest.fixture
def susan(live_app: LiveApp) -> Account:
    """The demo user, registered in ``live_app``."""
    return live_app.create_user("susan", "susan@example.com", "cat-on-keyboard-1")
