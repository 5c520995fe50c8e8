"""pytest fixtures: a capture server per test session, and a mailbox of its own for each test.

Registered through the ``pytest11`` entry point, so installing the package is all it takes.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator

import pytest

from mail_sandbox import defaults
from mail_sandbox.client import CapturedMessage, MailSandboxClient, MailSandboxError
from mail_sandbox.endpoints import Endpoint, parse_endpoint
from mail_sandbox.mailboxes import MAX_NAME_LENGTH
from mail_sandbox.server import CaptureServer, LoopThread
from mail_sandbox.smtp import SMTPSettings
from mail_sandbox.store import open_store
from mail_sandbox.tls import self_signed_context

__all__ = ["CapturedMessage", "MailSandbox", "mail_sandbox", "mailbox"]

#: Where to find a running server instead of starting one (``--mail-sandbox-url``).
URL_ENV = "MAIL_SANDBOX_URL"
SMTP_ENV = "MAIL_SANDBOX_SMTP"
#: A test's mailbox outlives a run that was killed before its tear-down by this long at most.
TEST_MAILBOX_TTL = 3600


class MailSandbox(MailSandboxClient):
    """A running capture server, or one mailbox of it: where to send mail, and how to read
    what arrived.

    ``smtp_username`` (None for the whole server) is what the code under test logs in to SMTP
    as, so that its mail reaches this mailbox; any password does, ``smtp_password`` too.
    """

    def __init__(
        self, smtp_host: str, smtp_port: int, url: str, mailbox: str | None = None
    ) -> None:
        super().__init__(url, mailbox)
        self.smtp_host = smtp_host
        self.smtp_port = smtp_port
        self.smtp_username = mailbox
        self.smtp_password = "" if mailbox is not None else None


class _Session:
    """The session's server: started here (``server`` set), or one that runs elsewhere."""

    def __init__(self, sandbox: MailSandbox, server: CaptureServer | None) -> None:
        self.sandbox = sandbox
        self.server = server


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mail-sandbox")
    group.addoption(
        "--mail-sandbox-url",
        default=os.environ.get(URL_ENV) or None,
        metavar="URL",
        help="use the mail-sandbox running at URL (its inbox) instead of starting one "
        f"(also ${URL_ENV}); each test still gets its own mailbox",
    )
    group.addoption(
        "--mail-sandbox-smtp",
        default=os.environ.get(SMTP_ENV) or str(defaults.SMTP_ENDPOINT),
        metavar="HOST:PORT",
        help=f"its SMTP side (also ${SMTP_ENV}; default {defaults.SMTP_ENDPOINT})",
    )


@pytest.fixture(scope="session")
def _mail_sandbox_session(request: pytest.FixtureRequest) -> Iterator[_Session]:
    url = request.config.getoption("--mail-sandbox-url")
    if url:
        try:
            smtp = parse_endpoint(request.config.getoption("--mail-sandbox-smtp"))
        except ValueError as exc:
            raise pytest.UsageError(f"--mail-sandbox-smtp: {exc}") from None
        yield _Session(MailSandbox(smtp.host, smtp.port, url), None)
        return
    store = open_store(":memory:", max_messages=0)
    server = CaptureServer(
        store,
        smtp=Endpoint("127.0.0.1", 0),
        http=Endpoint("127.0.0.1", 0),
        smtp_settings=SMTPSettings(tls_context=self_signed_context()),
        # Tests of failure paths use mailbox.chaos(...); nothing fires until one does.
        enable_chaos=True,
    )
    loop = LoopThread()
    try:
        loop.run(server.start())
        yield _Session(MailSandbox(server.smtp.host, server.smtp.port, server.url), server)
        loop.run(server.stop())
    finally:
        loop.stop()
        store.close()


@pytest.fixture(scope="session")
def mail_sandbox(_mail_sandbox_session: _Session) -> MailSandbox:
    """The session's capture server, as a whole (its ``default`` mailbox).

    Started on free loopback ports with a throwaway store, for the whole session (under
    pytest-xdist each worker gets its own), unless ``--mail-sandbox-url`` names a running one.
    Chaos is enabled on the server it starts, so ``chaos(recipient=451)`` can make SMTP fail
    for the length of a ``with`` block.
    """
    return _mail_sandbox_session.sandbox


@pytest.fixture
def mailbox(
    request: pytest.FixtureRequest, _mail_sandbox_session: _Session
) -> Iterator[MailSandbox]:
    """A mailbox of the session's server for this test alone, made before it and deleted
    after it, so that tests in parallel against one server never see each other's mail.

    Code under test that logs in to SMTP as ``mailbox.smtp_username`` delivers here. On the
    server the plugin starts, so does mail sent without logging in, while the test runs (tests
    on one worker run one at a time), and chaos triggers are all off when the test begins.
    """
    session = _mail_sandbox_session
    whole = session.sandbox
    name = mailbox_name_for(request.node.nodeid)
    whole.create_mailbox(name, ttl=TEST_MAILBOX_TTL)
    box = MailSandbox(whole.smtp_host, whole.smtp_port, whole.server_url, name)
    server = session.server
    if server is not None:
        whole.reset_chaos()
        server.route_unnamed_mail_to(server.store.mailbox(name))
    try:
        yield box
    finally:
        if server is not None:
            server.route_unnamed_mail_to(None)
        try:
            whole.delete_mailbox(name)
        except MailSandboxError as exc:
            if exc.status != 404:  # expired or deleted by the test itself: gone either way
                raise


def mailbox_name_for(nodeid: str) -> str:
    """A mailbox name for the test ``nodeid``: readable in the inbox's mailbox list, and
    unique (two runs of one test at once, on two machines, get two)."""
    suffix = "-" + secrets.token_hex(4)
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", nodeid.rpartition("::")[2] or nodeid)
    return readable.strip("-.")[: MAX_NAME_LENGTH - len(suffix)] + suffix
