"""SMTP ingestion: an aiosmtpd handler that stores every message and relays nothing."""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import ssl
import types
from collections.abc import Callable
from dataclasses import dataclass
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session, syntax

from mail_sandbox import defaults
from mail_sandbox.chaos import ChaosControl
from mail_sandbox.smtp_data import read_data
from mail_sandbox.smtp_routing import (
    MailboxGoneError,
    MailboxLogin,
    MailboxRouter,
    has_mailbox_header,
)
from mail_sandbox.stats import RuntimeStats
from mail_sandbox.store import MessageStore, StoreError, StoreFullError

log = logging.getLogger(__name__)

SERVER_HOSTNAME = "mail-sandbox"

#: Longest line accepted, in DATA and (before the command length check) in commands. RFC 5321
#: allows 1,000 octets, but apps send longer lines (minified HTML, long headers) and Mailpit
#: stores them, so we do too; past this a line gets 500 and the connection stays usable. It also
#: sets how much the connection reads ahead, so the RFC's 1,001 would throttle every burst.
MAX_LINE_LENGTH = 1024 * 1024
#: RFC 5321 4.5.3.1.8's reply to one RCPT too many; the message keeps those accepted before.
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
#: aiosmtpd's reply to a refused AUTH, given to a wrong password of a mailbox.
BAD_CREDENTIALS = "535 5.7.8 Authentication credentials invalid"


@dataclass(frozen=True, slots=True)
class SMTPSettings:
    """How the SMTP side behaves (defaults from ``mail_sandbox.defaults``, as the command
    line's). ``max_recipients`` is Mailpit's default: a client that sends one
    message to many more is more likely a runaway loop than a test; 0 lifts the limit.
    ``auto_mailboxes`` lets an AUTH login that is a mailbox name but names none create it."""

    max_size: int = defaults.MAX_MESSAGE_SIZE
    idle_timeout: float = defaults.IDLE_TIMEOUT_SECONDS
    tls_context: ssl.SSLContext | None = None
    max_recipients: int = defaults.MAX_RECIPIENTS
    auto_mailboxes: bool = False


def accept_any_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
) -> AuthResult:
    """Accept every AUTH PLAIN/LOGIN, so apps configured with a username still send; the
    login goes on to mailbox routing (``CaptureHandler.check_login``)."""
    return AuthResult(success=True, auth_data=auth_data)


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
    ``stats`` counts what was accepted and refused; ``max_recipients`` caps RCPT TO per
    message (0: no cap; by default ``SMTPSettings``'s). Each message goes to the mailbox
    ``router`` picks (by default: AUTH login, ``X-Mailbox`` header, else ``store`` itself).
    """

    def __init__(
        self,
        store: MessageStore,
        *,
        chaos: ChaosControl | None = None,
        stats: RuntimeStats | None = None,
        max_recipients: int | None = None,
        router: MailboxRouter | None = None,
    ) -> None:
        self._store = store
        self._router = router or MailboxRouter(store)
        self._chaos = chaos or ChaosControl(enabled=False)
        self._stats = stats or RuntimeStats()
        if max_recipients is None:
            max_recipients = SMTPSettings().max_recipients
        self._max_recipients = max_recipients

    async def check_login(self, login: LoginPassword) -> AuthResult:
        """The outcome of an AUTH the authenticator let through: 535 for a wrong password of
        a mailbox, else success, the session keeping where its messages go."""
        try:
            routed = await asyncio.to_thread(self._router.login, login.login, login.password)
        except Exception as exc:  # noqa: BLE001 - StoreError or a fault of the store's own
            log.error("AUTH not checked, the mail store failed: %r", exc)
            self._stats.smtp_rejected()
            return AuthResult(
                success=False, handled=False, message="454 4.7.0 Temporary authentication failure"
            )
        if routed is None:
            self._stats.smtp_rejected()
            return AuthResult(success=False, handled=False, message=BAD_CREDENTIALS)
        return AuthResult(success=True, auth_data=routed)

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
        """Accept any recipient up to the limit, unless chaos's Recipient trigger fires."""
        if self._max_recipients and len(envelope.rcpt_tos) >= self._max_recipients:
            self._stats.smtp_rejected()
            return TOO_MANY_RECIPIENTS
        refusal = self._chaos.reply("Recipient")
        if refusal is not None:
            self._stats.smtp_rejected()
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Answer 250 only once the store has committed the exact bytes received; anything
        else is a refusal the client can retry, never an unanswered DATA."""
        raw = envelope.original_content or b""
        login = session.auth_data if isinstance(session.auth_data, MailboxLogin) else None
        try:
            if (login is None or login.mailbox is None) and not has_mailbox_header(raw):
                mailbox = self._router.unnamed  # most mail: no store read, no thread
            else:
                mailbox = await asyncio.to_thread(self._router.target, login, raw)
            message_id = await asyncio.wrap_future(
                mailbox.add(raw, envelope.mail_from or "", list(envelope.rcpt_tos))
            )
        except MailboxGoneError as exc:
            log.info("message from %s not stored: %s", session.peer, exc)
            self._stats.smtp_rejected()
            return f"550 5.1.1 {exc}: message not stored"
        except StoreFullError as exc:
            log.error("message from %s not stored, store is full: %s", session.peer, exc)
            self._stats.smtp_rejected()
            return "452 4.3.1 Insufficient storage: message not stored"
        except Exception as exc:  # noqa: BLE001 - StoreError or a fault of the store's own
            reason = exc if isinstance(exc, StoreError) else repr(exc)
            log.error("message from %s not stored: %s", session.peer, reason)
            self._stats.smtp_rejected()
            return "451 4.3.0 Temporary failure: message not stored"
        self._stats.smtp_accepted(len(raw))
        return f"250 2.0.0 Ok: stored as {message_id}"


class CaptureSMTP(SMTP):
    """aiosmtpd's ``SMTP`` with long lines allowed, each session's own command limits, and
    less work per command: replies grouped into one write, addresses parsed once."""

    line_length_limit = MAX_LINE_LENGTH

    def __init__(self, handler: CaptureHandler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        # aiosmtpd keeps these limits in one dict on the class, clears it for every new
        # connection and raises MAIL's limit in it on EHLO: a client connecting meanwhile cut
        # another session's limit back, refusing its MAIL FROM as "too long".
        self.command_size_limits = collections.defaultdict(lambda: self.command_size_limit)
        self._held: list[bytes] = []
        # What a clone shares with this instance as it is (see ``clone``), found on first use.
        self._plain: dict[str, Any] | None = None

    def clone(self) -> CaptureSMTP:
        """A new, unconnected protocol set up exactly like this one, made without aiosmtpd's
        ``__init__``.

        That constructor looks up its command and AUTH methods by reflection
        (``inspect.getmembers``), about 190 us per connection: a fifth of a busy server's time
        when every message comes on a connection of its own. A clone copies this instance's
        settings, binds its own methods where this one has them bound, copies every mutable
        container, and starts its own stream state (tests/sandbox/test_smtp_clone.py holds it
        to a freshly constructed instance, attribute by attribute).
        """
        if self._plain is None:
            plain = {n: v for n, v in vars(self).items() if _rebind(v, self, self) is v}
            self._plain = {n: v for n, v in plain.items() if not isinstance(v, types.MethodType)}
        clone = object.__new__(type(self))
        state = dict(self._plain)
        for name, value in vars(self).items():
            if name not in state:
                state[name] = _rebind(value, self, clone)
        clone.__dict__.update(state)
        reader = asyncio.StreamReader(loop=self.loop, limit=self.line_length_limit)
        asyncio.StreamReaderProtocol.__init__(
            clone, reader, client_connected_cb=clone._cb_client_connected, loop=self.loop
        )
        clone.command_size_limits = collections.defaultdict(lambda: clone.command_size_limit)
        return clone

    async def push(self, status: AnyStr) -> None:
        """Send a reply line, or hold it to go out in one write with the lines that follow.

        Held: the lines of a multi-line reply before its last (EHLO's are one write, not
        eight), and a 250 while the client's next command is already here (a pipelined
        MAIL, RCPT, DATA get their three replies in one write, as RFC 2920 section 4 allows).
        Every other reply, and every reply that makes the client wait, goes out at once.
        """
        if isinstance(status, str):
            status = status.encode("utf-8" if self.enable_SMTPUTF8 else "ascii")
        self._held += (status, b"\r\n")
        if status[3:4] == b"-" or (status[:3] == b"250" and self._command_waiting()):
            return
        self._writer.write(b"".join(self._held))
        self._held.clear()
        await self._writer.drain()

    def _command_waiting(self) -> bool:
        """Whether a whole command line from the client is already buffered, unread."""
        # StreamReader has no public way to peek; without its buffer, never hold a reply.
        buffered = getattr(self._reader, "_buffer", None)
        return buffered is not None and b"\n" in buffered

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's address parsing for MAIL and RCPT, remembered for repeated arguments.

        aiosmtpd's own builds a class on every call, which cost a tenth of a busy server's
        time; the parsing itself (the ``email`` package's) is the same.
        """
        if not arg:
            return "", ""
        address, rest = _parse_address(arg)
        if address is None:
            return None, None
        local_part = address.rpartition("@")[0]
        if self.local_part_limit and len(local_part) > self.local_part_limit:
            return None, None
        return address, rest

    async def auth_PLAIN(self, _: SMTP, args: list[str]) -> AuthResult:
        """aiosmtpd's AUTH PLAIN, then the mailbox check (``CaptureHandler.check_login``)."""
        return await self._check_login(await super().auth_PLAIN(_, args))

    async def auth_LOGIN(self, _: SMTP, args: list[str]) -> AuthResult:
        """aiosmtpd's AUTH LOGIN, then the mailbox check (``CaptureHandler.check_login``)."""
        return await self._check_login(await super().auth_LOGIN(_, args))

    async def _check_login(self, result: AuthResult) -> AuthResult:
        # aiosmtpd's authenticator callback is synchronous and the check reads the store, so
        # it runs here, awaited, once the authenticator (chaos) has let the login through.
        if result.success and isinstance(result.auth_data, LoginPassword):
            return await self.event_handler.check_login(result.auth_data)
        return result

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """DATA as aiosmtpd answers it, with the payload read in chunks (mail_sandbox.smtp_data)."""
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


def _rebind(value: Any, old: object, new: object) -> Any:
    """``value`` as ``new`` should hold it: methods bound to ``old`` bound to ``new`` instead,
    containers copied (their entries likewise), anything else shared."""
    if isinstance(value, types.MethodType):
        return types.MethodType(value.__func__, new) if value.__self__ is old else value
    if isinstance(value, dict):
        copied = value.copy()  # a defaultdict keeps its factory
        for key, item in value.items():
            copied[key] = _rebind(item, old, new)
        return copied
    if isinstance(value, tuple) and hasattr(type(value), "_fields"):
        # A named tuple (aiosmtpd's AUTH method entries).
        return tuple.__new__(type(value), [_rebind(item, old, new) for item in value])
    if isinstance(value, _CONTAINERS):
        return value.copy()
    return value


_CONTAINERS = (list, set, collections.deque, bytearray)


@functools.lru_cache(maxsize=4096)
def _parse_address(arg: str) -> tuple[str | None, str | None]:
    """``(address, rest of the argument)`` of a MAIL/RCPT argument, or ``(None, None)``."""
    try:
        if arg.lstrip().startswith("<"):
            address, rest = get_angle_addr(arg)
        else:
            address, rest = get_addr_spec(arg)
    except HeaderParseError:
        return None, None
    return address.addr_spec, rest


def smtp_factory(
    store: MessageStore,
    settings: SMTPSettings,
    *,
    chaos: ChaosControl | None = None,
    stats: RuntimeStats | None = None,
    router: MailboxRouter | None = None,
) -> Callable[[], SMTP]:
    """A protocol factory for ``loop.create_server``: one aiosmtpd ``SMTP`` per connection;
    ``router`` picks each message's mailbox (by default one for ``store`` and ``settings``)."""
    chaos = chaos or ChaosControl(enabled=False)
    stats = stats or RuntimeStats()
    handler = CaptureHandler(
        store,
        chaos=chaos,
        stats=stats,
        max_recipients=settings.max_recipients,
        router=router or MailboxRouter(store, auto_create=settings.auto_mailboxes),
    )
    authenticator = chaos_authenticator(chaos, stats)

    def configured() -> CaptureSMTP:
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
            # cut off a client that keeps one connection for a long run; recipients per
            # message have their own limit (CaptureHandler).
            command_call_limit=None,
        )

    # Built on the first connection, on the loop that serves them all (aiosmtpd takes the
    # running loop at construction); every connection gets a clone of it.
    template: CaptureSMTP | None = None

    def make_protocol() -> SMTP:
        nonlocal template
        if template is None or template.loop is not asyncio.get_running_loop():
            template = configured()
        return template.clone()

    return make_protocol
