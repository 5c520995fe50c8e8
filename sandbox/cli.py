"""``mail-sandbox``: run the capture server and inbox from the command line."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from sandbox.server import CaptureServer, Endpoint, new_event_loop
from sandbox.smtp import SMTPSettings
from sandbox.store import open_store
from sandbox.tls import self_signed_context

log = logging.getLogger("sandbox")

DEFAULT_SMTP = Endpoint("127.0.0.1", 8025)
DEFAULT_HTTP = Endpoint("127.0.0.1", 8026)


def default_db_path() -> Path:
    """Where mail is kept when ``--db`` is not given: the user's data directory."""
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "mail-sandbox" / "messages.sqlite3"


def parse_endpoint(value: str) -> Endpoint:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (host defaults to loopback); IPv6 as ``[::1]:25``."""
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "", value
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port {number} is out of range 0-65535")
    return Endpoint(host, number)


def non_negative_int(value: str) -> int:
    """An integer >= 0, with a readable error otherwise."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be 0 or more")
    return number


def build_parser() -> argparse.ArgumentParser:
    """The command line, as SPEC's Defaults table describes it."""
    parser = argparse.ArgumentParser(
        prog="mail-sandbox",
        description="Capture every email an app sends (SMTP) and show it in a web inbox. "
        "Nothing is ever relayed.",
    )
    parser.add_argument(
        "--smtp",
        type=parse_endpoint,
        default=DEFAULT_SMTP,
        metavar="HOST:PORT",
        help=f"SMTP listen address (default {DEFAULT_SMTP})",
    )
    parser.add_argument(
        "--http",
        type=parse_endpoint,
        default=DEFAULT_HTTP,
        metavar="HOST:PORT",
        help=f"inbox and API listen address (default {DEFAULT_HTTP})",
    )
    parser.add_argument(
        "--db",
        default=None,
        metavar="PATH",
        help=f"SQLite file for the mail, or :memory: (default {default_db_path()})",
    )
    parser.add_argument(
        "--max-messages",
        type=non_negative_int,
        default=10_000,
        metavar="N",
        help="keep the N newest messages, 0 for no limit (default 10000)",
    )
    parser.add_argument(
        "--max-size",
        type=non_negative_int,
        default=25 * 1024 * 1024,
        metavar="BYTES",
        help="refuse bigger messages with 552 (default 26214400, 25 MiB)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="drop SMTP connections idle this long (default 300)",
    )
    return parser


async def serve(args: argparse.Namespace) -> int:
    """Run until SIGINT or SIGTERM; returns the exit status."""
    db = args.db or str(default_db_path())
    if db != ":memory:":
        Path(db).parent.mkdir(parents=True, exist_ok=True)
    store = open_store(db, max_messages=args.max_messages)
    settings = SMTPSettings(
        max_size=args.max_size,
        idle_timeout=args.idle_timeout,
        tls_context=self_signed_context(),
    )
    server = CaptureServer(store, smtp=args.smtp, http=args.http, smtp_settings=settings)
    try:
        try:
            await server.start()
        except OSError as exc:
            print(f"mail-sandbox: {_bind_error(exc, args)}", file=sys.stderr)
            return 2
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        print(f"mail-sandbox: SMTP on {server.smtp} (STARTTLS and any AUTH accepted)", flush=True)
        print(f"mail-sandbox: inbox on {server.url}", flush=True)
        print(f"mail-sandbox: mail kept in {db}", flush=True)
        await stop.wait()
        print("mail-sandbox: stopping", flush=True)
        await server.stop()
    finally:
        await asyncio.to_thread(store.close)
    return 0


def _bind_error(exc: OSError, args: argparse.Namespace) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen: an address is already in use ({args.smtp} for SMTP or {args.http} "
            "for the inbox); is another mail-sandbox running? Choose others with --smtp/--http."
        )
    return f"cannot listen on {args.smtp} / {args.http}: {exc.strerror or exc}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mail-sandbox`` and ``python -m sandbox``."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="mail-sandbox: %(levelname)s %(message)s")
    # aiosmtpd logs every SMTP command at INFO and nags about its own deprecations at WARNING;
    # a user watching this terminal wants our lines and real errors only.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(serve(args))
