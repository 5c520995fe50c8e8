"""SMTP ingestion: an aiosmtpd handler that stores every message and relays nothing."""

from __future__ import annotations

import asyncio
import collections
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session, syntax

from sandbox.chaos import ChaosControl
from sandbox.smtp_data import read_data
from sandbox.stats import RuntimeStats
from sandbox.store import MessageStore, StoreError, StoreFullError

log = logging.getLogger(__name__)

SERVER_HOSTNAME = "mail-sandbox"

#: Longest line accepted, in DATA and (before the command length check) in commands. RFC 5321
#: allows 1,000 octets, but apps send longer lines (minified HTML, long headers) and Mailpit
#: stores them, so we do too; past this a line gets 500 and the connection stays usable. It also
#: sets how much the connection reads ahead, so the RFC's 1,001 would throttle every burst.
MAX_LINE_LENGTH = 1024 * 1024


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


def chaos_authenticator(chaos: ChaosControl, stats: RuntimeStats) -> Callable[..., AuthResult]:
    """Like ``accept_any_login``, except when chaos's Authentication trigger fires."""

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        refusal = chaos.reply("Authentication")
        if refusal is not None:
            stats.smtp_rejected()
            # handled=False: aiosmtpd then sends ``message`` as the reply.
            return AuthResult(success=False, handled=False, message=refusal)
        return accept_any_login(server, session, envelope, mechanism, auth_data)

    return authenticate


class CaptureHandler:
    """Stores each message durably before answering 250 to DATA; never relays anything.

    ``chaos`` may refuse MAIL FROM and RCPT TO with an error code instead (fault injection);
    ``stats`` counts what was accepted and refused.
    """

    def __init__(
        self,
        store: MessageStore,
        *,
        chaos: ChaosControl | None = None,
        stats: RuntimeStats | None = None,
    ) -> None:
        self._store = store
        self._chaos = chaos or ChaosControl(enabled=False)
        self._stats = stats or RuntimeStats()

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        """Accept any sender, unless chaos's Sender trigger fires."""
        refusal = self._chaos.reply("Sender")
        if refusal is not None:
            self._stats.smtp_rejected()
            return refusal
        # What aiosmtpd does itself when a handler has no MAIL hook.
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        """Accept any recipient, unless chaos's Recipient trigger fires."""
        refusal = self._chaos.reply("Recipient")
        if refusal is not None:
            self._stats.smtp_rejected()
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Answer 250 only once the store has committed the exact bytes received."""
        raw = envelope.original_content or b""
        try:
            message_id = await asyncio.wrap_future(
                self._store.add(raw, envelope.mail_from or "", list(envelope.rcpt_tos))
            )
        except StoreFullError as exc:
            log.error("message from %s not stored, store is full: %s", session.peer, exc)
            self._stats.smtp_rejected()
            return "452 4.3.1 Insufficient storage: message not stored"
        except StoreError as exc:
            log.error("message from %s not stored: %s", session.peer, exc)
            self._stats.smtp_rejected()
            return "451 4.3.0 Temporary failure: message not stored"
        self._stats.smtp_accepted(len(raw))
        return f"250 2.0.0 Ok: stored as {message_id}"


class CaptureSMTP(SMTP):
    """aiosmtpd's ``SMTP`` with long lines allowed and each session's own command limits."""

    line_length_limit = MAX_LINE_LENGTH

    def __init__(self, handler: CaptureHandler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        # aiosmtpd keeps these limits in one dict on the class, clears it for every new
        # connection and raises MAIL's limit in it on EHLO: a client connecting meanwhile cut
        # another session's limit back, refusing its MAIL FROM as "too long".
        self.command_size_limits = collections.defaultdict(lambda: self.command_size_limit)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """DATA as aiosmtpd answers it, with the payload read in chunks (sandbox.smtp_data)."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            result = await read_data(
                self._reader, size_limit=self.data_size_limit, line_limit=self.line_length_limit
            )
        except asyncio.IncompleteReadError:
            # The client hung up mid-DATA: nothing was acknowledged, so nothing is kept.
            self._writer.close()
            return
        if result.too_big or result.line_too_long:
            self._set_post_data_state()
            await self.push(
                "552 Error: Too much mail data"
                if result.too_big
                else "500 Line too long (see RFC5321 4.5.3.1.6)"
            )
            return
        self.envelope.content = self.envelope.original_content = result.content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push(status)


def smtp_factory(
    store: MessageStore,
    settings: SMTPSettings,
    *,
    chaos: ChaosControl | None = None,
    stats: RuntimeStats | None = None,
) -> Callable[[], SMTP]:
    """A protocol factory for ``loop.create_server``: one aiosmtpd ``SMTP`` per connection."""
    chaos = chaos or ChaosControl(enabled=False)
    stats = stats or RuntimeStats()
    handler = CaptureHandler(store, chaos=chaos, stats=stats)
    authenticator = chaos_authenticator(chaos, stats)

    def make_protocol() -> SMTP:
        return CaptureSMTP(
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
            authenticator=authenticator,
            # No cap on commands: aiosmtpd counts them over a whole connection, so a cap would
            # cut off a client that keeps one connection for a long run, and one message may
            # have any number of recipients (10,000 are tested).
            command_call_limit=None,
        )

    return make_protocol
