"""``mail-sandbox`` without ``sendmail``: run the capture server and inbox."""

from __future__ import annotations

import argparse
import asyncio
import errno
import ipaddress
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from mail_sandbox import __version__, defaults
from mail_sandbox.endpoints import Endpoint, parse_endpoint
from mail_sandbox.server import CaptureServer, ListenError, new_event_loop
from mail_sandbox.smtp import SMTPSettings
from mail_sandbox.store import StoreError, open_store
from mail_sandbox.store.location import is_database_url, shown
from mail_sandbox.tls import self_signed_context
from mail_sandbox.web import Credentials, WebSettings
from mail_sandbox.web.hosts import parse_allowed_host

log = logging.getLogger("mail_sandbox")

UI_AUTH_ENV = "MAIL_SANDBOX_UI_AUTH"
DB_ENV = "MAIL_SANDBOX_DB"
#: Where the SMTP flags' defaults come from.
_SMTP_DEFAULTS = SMTPSettings()


def default_db_path() -> Path:
    """Where mail is kept when ``--db`` is not given: the user's data directory."""
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "mail-sandbox" / "messages.sqlite3"


def non_negative_int(value: str) -> int:
    """An integer >= 0, with a readable error otherwise."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be 0 or more")
    return number


def credentials(value: str) -> Credentials:
    """``USER:PASS`` for ``--ui-auth``; the error never repeats the value (it is a password)."""
    try:
        return Credentials.parse(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def allowed_host(value: str) -> str:
    """A host name or IP for ``--allow-host``, or ``*``."""
    try:
        return parse_allowed_host(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host`` (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        # Any other name may resolve to a public address; warning costs nothing.
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def exposure_warnings(smtp: Endpoint, http: Endpoint, ui_auth: Credentials | None) -> list[str]:
    """One line per listener that other machines can reach, saying what that exposes."""
    warnings = []
    if not is_loopback(http.host):
        if ui_auth is None:
            warnings.append(
                f"warning: the inbox and API on {http} can be reached from other machines and "
                "show every captured message, reset links included; protect them with "
                "--ui-auth USER:PASS or listen on 127.0.0.1"
            )
        else:
            warnings.append(
                f"warning: the inbox and API on {http} can be reached from other machines; "
                "they ask for the --ui-auth password, which plain HTTP sends unencrypted"
            )
    if not is_loopback(smtp.host):
        warnings.append(
            f"warning: SMTP on {smtp} accepts mail from other machines (it still relays nothing)"
        )
    return warnings


def build_parser() -> argparse.ArgumentParser:
    """The command line; each default comes from the settings it configures."""
    parser = argparse.ArgumentParser(
        prog="mail-sandbox",
        description="Capture every email an app sends (SMTP) and show it in a web inbox. "
        "Nothing is ever relayed.",
        epilog="mail-sandbox sendmail [-f FROM] [-t] [RECIPIENT ...] hands a message on "
        "standard input to a running mail-sandbox (see mail-sandbox sendmail --help); "
        "mail-sandbox mailboxes [create NAME | delete NAME] lists or changes its mailboxes "
        "(see mail-sandbox mailboxes --help).",
    )
    parser.add_argument("--version", action="version", version=f"mail-sandbox {__version__}")
    parser.add_argument(
        "--smtp",
        type=parse_endpoint,
        default=defaults.SMTP_ENDPOINT,
        metavar="HOST:PORT",
        help=f"SMTP listen address (default {defaults.SMTP_ENDPOINT})",
    )
    parser.add_argument(
        "--http",
        type=parse_endpoint,
        default=defaults.HTTP_ENDPOINT,
        metavar="HOST:PORT",
        help=f"inbox and API listen address (default {defaults.HTTP_ENDPOINT})",
    )
    parser.add_argument(
        "--db",
        default=None,
        metavar="PATH",
        help="SQLite file for the mail, :memory:, or a postgresql://USER:PASS@HOST:PORT/DB URL "
        f"that several servers share (also ${DB_ENV}; default {default_db_path()})",
    )
    parser.add_argument(
        "--max-messages",
        type=non_negative_int,
        default=defaults.MAX_MESSAGES,
        metavar="N",
        help="keep the N newest messages, 0 for no limit (default %(default)s)",
    )
    parser.add_argument(
        "--max-size",
        type=non_negative_int,
        default=_SMTP_DEFAULTS.max_size,
        metavar="BYTES",
        help="refuse bigger messages with 552 (default %(default)s, 25 MiB)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=_SMTP_DEFAULTS.idle_timeout,
        metavar="SECONDS",
        help="drop SMTP connections idle this long (default %(default)g)",
    )
    parser.add_argument(
        "--max-recipients",
        type=non_negative_int,
        default=_SMTP_DEFAULTS.max_recipients,
        metavar="N",
        help="accept at most N recipients per message; more get 452, 0 for no limit "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--ui-auth",
        type=credentials,
        default=None,
        metavar="USER:PASS",
        help="ask for this user name and password (HTTP Basic) on the inbox and API; "
        f"also read from ${UI_AUTH_ENV} (default: no password, loopback only)",
    )
    parser.add_argument(
        "--enable-chaos",
        action="store_true",
        help="allow SMTP fault injection: PUT /api/v1/chaos sets triggers that make MAIL FROM, "
        "RCPT TO or AUTH fail with an error code (default: off)",
    )
    parser.add_argument(
        "--auto-mailboxes",
        action="store_true",
        help="SMTP AUTH with a user name that is a valid mailbox name but names none creates "
        "that mailbox, so each CI job gets its own by logging in as it (default: such mail "
        "goes to the default mailbox)",
    )
    parser.add_argument(
        "--link-check-host",
        dest="link_check_hosts",
        action="append",
        default=[],
        metavar="HOST",
        help="a host the link check may contact besides loopback ones; repeat for more "
        "(default: loopback only)",
    )
    parser.add_argument(
        "--allow-host",
        dest="allowed_hosts",
        type=allowed_host,
        action="append",
        default=[],
        metavar="NAME",
        help="a host name the inbox and API answer to besides loopback names and the --http "
        "address; repeat for more, or * for any (behind a proxy); other Host headers get 421",
    )
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, with ``--ui-auth`` taken from the environment when not given."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from_env = os.environ.get(UI_AUTH_ENV, "")
    if args.ui_auth is None and from_env:
        try:
            args.ui_auth = Credentials.parse(from_env)
        except ValueError as exc:
            parser.error(f"${UI_AUTH_ENV}: {exc}")
    return args


async def serve(args: argparse.Namespace) -> int:
    """Run until SIGINT or SIGTERM; returns the exit status."""
    db = args.db or os.environ.get(DB_ENV) or str(default_db_path())
    try:
        if db != ":memory:" and not is_database_url(db):
            Path(db).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"mail-sandbox: cannot create the folder for {db}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        store = open_store(db, max_messages=args.max_messages)
    except (StoreError, OSError) as exc:
        print(f"mail-sandbox: {exc}", file=sys.stderr)
        return 2
    settings = SMTPSettings(
        max_size=args.max_size,
        idle_timeout=args.idle_timeout,
        tls_context=self_signed_context(),
        max_recipients=args.max_recipients,
        auto_mailboxes=args.auto_mailboxes,
    )
    server = CaptureServer(
        store,
        smtp=args.smtp,
        http=args.http,
        smtp_settings=settings,
        credentials=args.ui_auth,
        enable_chaos=args.enable_chaos,
        web_settings=WebSettings(
            link_check_hosts=frozenset(args.link_check_hosts),
            allowed_hosts=frozenset([*args.allowed_hosts, args.http.host]),
        ),
    )
    for warning in exposure_warnings(args.smtp, args.http, args.ui_auth):
        print(f"mail-sandbox: {warning}", file=sys.stderr, flush=True)
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
        auth = "AUTH as a mailbox's name routes to it" + (
            ", or creates it" if args.auto_mailboxes else ""
        )
        print(f"mail-sandbox: SMTP on {server.smtp} (STARTTLS; {auth})", flush=True)
        login = " (sign in with the --ui-auth user name and password)" if args.ui_auth else ""
        print(f"mail-sandbox: inbox on {server.url}{login}", flush=True)
        print(f"mail-sandbox: mail kept in {shown(db)}", flush=True)
        if args.enable_chaos:
            chaos_url = f"{server.url}/api/v1/chaos"
            print(
                f"mail-sandbox: chaos enabled; set SMTP failures with PUT {chaos_url}", flush=True
            )
        await stop.wait()
        print("mail-sandbox: stopping", flush=True)
        await server.stop()
    finally:
        await asyncio.to_thread(store.close)
    return 0


def _bind_error(exc: OSError, args: argparse.Namespace) -> str:
    if not isinstance(exc, ListenError):
        return f"cannot listen on {args.smtp} / {args.http}: {exc.strerror or exc}"
    flag = "--smtp" if exc.service == "SMTP" else "--http"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {exc.endpoint} for {exc.service}: the address is already in use; "
            f"is another mail-sandbox running? Choose another with {flag}."
        )
    return f"cannot listen on {exc.endpoint} for {exc.service}: {exc.strerror or exc}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the capture server with ``argv``'s options until SIGINT or SIGTERM."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="mail-sandbox: %(levelname)s %(message)s")
    # aiosmtpd logs every SMTP command at INFO and nags about its own deprecations at WARNING;
    # a user watching this terminal wants our lines and real errors only.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    # psycopg's pool warns at every attempt to reach a PostgreSQL store that is away; the
    # store says once that it is away, and once that it is back.
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(serve(args))
