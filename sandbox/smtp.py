"""SMTP ingestion: an aiosmtpd handler that stores every message and relays nothing."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from sandbox.store import MessageStore, StoreError, StoreFullError

log = logging.getLogger(__name__)

SERVER_HOSTNAME = "mail-sandbox"


@dataclass(frozen=True, slots=True)
class SMTPSettings:
    """How the SMTP side behaves; the defaults are SPEC's."""

    max_size: int = 25 * 1024 * 1024
    idle_timeout: float = 300.0
    tls_context: ssl.SSLContext | None = None


def accept_any_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
) -> AuthResult:
    """Accept every AUTH PLAIN/LOGIN, so apps configured with a username still send."""
    return AuthResult(success=True)


class CaptureHandler:
    """Stores each message durably before answering 250 to DATA; never relays anything."""

    def __init__(self, store: MessageStore) -> None:
        self._store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Answer 250 only once the store has committed the exact bytes received."""
        raw = envelope.original_content or b""
        try:
            message_id = await asyncio.wrap_future(
                self._store.add(raw, envelope.mail_from or "", list(envelope.rcpt_tos))
            )
        except StoreFullError as exc:
            log.error("message from %s not stored, store is full: %s", session.peer, exc)
            return "452 4.3.1 Insufficient storage: message not stored"
        except StoreError as exc:
            log.error("message from %s not stored: %s", session.peer, exc)
            return "451 4.3.0 Temporary failure: message not stored"
        return f"250 2.0.0 Ok: stored as {message_id}"


def smtp_factory(store: MessageStore, settings: SMTPSettings) -> Callable[[], SMTP]:
    """A protocol factory for ``loop.create_server``: one aiosmtpd ``SMTP`` per connection."""
    handler = CaptureHandler(store)

    def make_protocol() -> SMTP:
        return SMTP(
            handler,
            data_size_limit=settings.max_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            # A fixed name: aiosmtpd's default asks DNS for our FQDN, which stalls offline.
            hostname=SERVER_HOSTNAME,
            ident="mail-sandbox ESMTP (captures mail, never relays)",
            tls_context=settings.tls_context,
            require_starttls=False,
            timeout=settings.idle_timeout,
            auth_required=False,
            auth_require_tls=False,
            authenticator=accept_any_login,
        )

    return make_protocol
