"""pytest fixtures: a capture server per test session, and a mailbox emptied for each test.

Registered through the ``pytest11`` entry point, so installing the package is all it takes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mail_sandbox.client import CapturedMessage, MailSandboxClient
from mail_sandbox.endpoints import Endpoint
from mail_sandbox.server import CaptureServer, LoopThread
from mail_sandbox.smtp import SMTPSettings
from mail_sandbox.store import open_store
from mail_sandbox.tls import self_signed_context

__all__ = ["CapturedMessage", "MailSandbox", "mail_sandbox", "mailbox"]


class MailSandbox(MailSandboxClient):
    """A running capture server: where to send mail, and how to read what arrived."""

    def __init__(self, smtp_host: str, smtp_port: int, url: str) -> None:
        super().__init__(url)
        self.smtp_host = smtp_host
        self.smtp_port = smtp_port


@pytest.fixture(scope="session")
def mail_sandbox() -> Iterator[MailSandbox]:
    """A capture server on free loopback ports with a throwaway store, for the whole session.

    Under pytest-xdist each worker gets its own. Send mail to ``smtp_host:smtp_port``; read it
    with ``messages()`` or ``wait_for(...)``; the inbox UI is at ``url``. Chaos is enabled, so
    ``chaos(recipient=451)`` can make SMTP fail for the length of a ``with`` block.
    """
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
        yield MailSandbox(server.smtp.host, server.smtp.port, server.url)
        loop.run(server.stop())
    finally:
        loop.stop()
        store.close()


@pytest.fixture
def mailbox(mail_sandbox: MailSandbox) -> MailSandbox:
    """The session's capture server, emptied and with no chaos trigger set, before this test."""
    mail_sandbox.clear()
    mail_sandbox.reset_chaos()
    return mail_sandbox
