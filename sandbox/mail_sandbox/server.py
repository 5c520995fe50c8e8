"""The capture server: SMTP ingestion and the inbox web app on one event loop, over one store."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.streams import StreamReader

from mail_sandbox import defaults
from mail_sandbox.chaos import ChaosControl
from mail_sandbox.endpoints import Endpoint
from mail_sandbox.smtp import SMTPSettings, smtp_factory
from mail_sandbox.smtp_routing import MailboxRouter
from mail_sandbox.stats import RuntimeStats
from mail_sandbox.store import MessageStore
from mail_sandbox.web import Credentials, WebSettings, create_web_app

T = TypeVar("T")

log = logging.getLogger(__name__)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (markedly faster SMTP), else the standard loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class ListenError(OSError):
    """A listener that could not bind: ``service`` (``"SMTP"`` or ``"inbox"``) and its endpoint.

    Only the failing listener is named, so that a user frees or changes the right port.
    """

    def __init__(self, service: str, endpoint: Endpoint, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror)
        self.service = service
        self.endpoint = endpoint


class _UnreadBodies:
    """Connections that answered a request without reading all of its body (a 413, say).

    aiohttp then reads and discards the rest for up to ten seconds ("lingering close"), so that
    a client still sending gets to read the answer instead of a reset; a stop would wait for
    that. Stopping closes these connections at once: nobody is left to read what they send.
    """

    def __init__(self) -> None:
        self._pending: dict[object, StreamReader] = {}

    async def note(self, request: web.BaseRequest, _response: web.StreamResponse) -> None:
        self._pending = {
            protocol: body
            for protocol, body in self._pending.items()
            if not body.is_eof() and protocol.transport is not None
        }
        if not request.content.is_eof():
            self._pending[request.protocol] = request.content

    async def close(self, _app: web.Application) -> None:
        for protocol, body in self._pending.items():
            if not body.is_eof():
                protocol.force_close()
        self._pending.clear()


class CaptureServer:
    """Runs SMTP and HTTP listeners over ``store`` on the current event loop.

    ``credentials`` puts the inbox and API behind HTTP Basic auth; SMTP never asks for any.
    ``enable_chaos`` lets ``/api/v1/chaos`` (or ``self.chaos``) make SMTP refuse commands.
    ``web_settings`` holds the inbox's options; its message size limit is SMTP's.
    Every ``mailbox_expiry_interval`` seconds, mailboxes whose TTL ran out are deleted.
    """

    def __init__(
        self,
        store: MessageStore,
        *,
        smtp: Endpoint,
        http: Endpoint,
        smtp_settings: SMTPSettings | None = None,
        credentials: Credentials | None = None,
        enable_chaos: bool = False,
        web_settings: WebSettings | None = None,
        mailbox_expiry_interval: float = defaults.MAILBOX_EXPIRY_CHECK_SECONDS,
    ) -> None:
        if not mailbox_expiry_interval > 0:
            raise ValueError(
                f"the mailbox expiry interval must be above 0 s, not {mailbox_expiry_interval!r}"
            )
        self.store = store
        self._expiry_interval = mailbox_expiry_interval
        self._expiry: asyncio.Task[None] | None = None
        self._smtp_endpoint = smtp
        self._http_endpoint = http
        self._smtp_settings = smtp_settings or SMTPSettings()
        self._credentials = credentials
        self._web_settings = dataclasses.replace(
            web_settings or WebSettings(), max_message_size=self._smtp_settings.max_size
        )
        self.chaos = ChaosControl(enabled=enable_chaos)
        self.stats = RuntimeStats()
        self._router = MailboxRouter(store, auto_create=self._smtp_settings.auto_mailboxes)
        self._smtp_server: asyncio.Server | None = None
        self._runner: web.AppRunner | None = None
        self.smtp: Endpoint | None = None
        self.http: Endpoint | None = None

    def route_unnamed_mail_to(self, mailbox: MessageStore | None) -> None:
        """Deliver the mail that names no mailbox (no AUTH as one, no ``X-Mailbox`` header)
        to ``mailbox`` instead of ``default``; None goes back to ``default``. The pytest plugin
        gives each test the mail of code under test that does not log in this way (a worker
        runs one test at a time)."""
        self._router.unnamed = self.store if mailbox is None else mailbox

    async def start(self) -> None:
        """Bind both listeners; a port taken raises ``ListenError`` and leaves nothing open."""
        loop = asyncio.get_running_loop()
        app = create_web_app(
            self.store,
            credentials=self._credentials,
            chaos=self.chaos,
            stats=self.stats,
            settings=self._web_settings,
        )
        unread = _UnreadBodies()
        app.on_response_prepare.append(unread.note)
        # After the app's own shutdown handlers, which end event streams and waiters.
        app.on_shutdown.append(unread.close)
        runner = web.AppRunner(app, access_log=None, logger=_REQUEST_LOG)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._http_endpoint.host, self._http_endpoint.port)
            try:
                await site.start()
            except OSError as exc:
                raise ListenError("inbox", self._http_endpoint, exc) from exc
            try:
                self._smtp_server = await loop.create_server(
                    smtp_factory(
                        self.store,
                        self._smtp_settings,
                        chaos=self.chaos,
                        stats=self.stats,
                        router=self._router,
                    ),
                    self._smtp_endpoint.host,
                    self._smtp_endpoint.port,
                )
            except OSError as exc:
                raise ListenError("SMTP", self._smtp_endpoint, exc) from exc
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.http = Endpoint(self._http_endpoint.host, runner.addresses[0][1])
        smtp_socket = self._smtp_server.sockets[0]
        self.smtp = Endpoint(self._smtp_endpoint.host, smtp_socket.getsockname()[1])
        self._expiry = asyncio.create_task(
            expire_mailboxes_every(self.store, self._expiry_interval),
            name="mail-sandbox-mailbox-expiry",
        )

    @property
    def url(self) -> str:
        """The inbox's base URL, e.g. ``http://127.0.0.1:8026``."""
        if self.http is None:
            raise RuntimeError("the server is not started")
        return f"http://{self.http}"

    async def stop(self) -> None:
        """Stop accepting, close open SMTP sessions and the web app."""
        if self._expiry is not None:
            self._expiry.cancel()
            await asyncio.gather(self._expiry, return_exceptions=True)
            self._expiry = None
        if self._smtp_server is not None:
            self._smtp_server.close()
            # Python 3.12+ waits in wait_closed() for every open session; end them first.
            if hasattr(self._smtp_server, "close_clients"):
                self._smtp_server.close_clients()
            await self._smtp_server.wait_closed()
            self._smtp_server = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def expire_mailboxes_every(store: MessageStore, interval: float) -> None:
    """Delete the mailboxes whose TTL ran out, every ``interval`` seconds, until cancelled.

    The deleting runs in a thread, so SMTP and the inbox go on meanwhile. A failure is logged
    when it starts, not on every round, and the next round tries again: a store that is
    briefly locked or full must not end expiry for the rest of the run.
    """
    failing = False
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(store.expire_mailboxes)
        except Exception:
            if not failing:
                log.exception("mailbox expiry failed; trying again every %g s", interval)
            failing = True
        else:
            if failing:
                log.info("mailbox expiry works again")
            failing = False


class _MalformedRequestLine(logging.Filter):
    """One INFO line, no traceback, for a request aiohttp could not parse (a missing Host, a
    bad header, something that is not HTTP): the client's fault, answered with 400, and not a
    failure of the inbox to report as an ERROR."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info = record.exc_text = None
            record.msg = f"{record.msg}: %s"
            record.args = (*(record.args or ()), exc.message or type(exc).__name__)
        return True


_REQUEST_LOG = logging.getLogger("mail_sandbox.web.requests")
_REQUEST_LOG.addFilter(_MalformedRequestLine())


class LoopThread:
    """An event loop running in a background thread, for tests and for embedding the server."""

    def __init__(self) -> None:
        self._loop = new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="mail-sandbox-loop"
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run ``coro`` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self) -> None:
        """Stop the loop and join its thread."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()


def run_on_own_loop(coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
    """Run ``coro`` to completion on a fresh loop in its own thread.

    For synchronous callers whose thread may already run a loop (Playwright's sync API keeps
    one running in the main thread), where ``asyncio.run`` would refuse.
    """
    loop = LoopThread()
    try:
        return loop.run(coro, timeout)
    finally:
        loop.stop()
