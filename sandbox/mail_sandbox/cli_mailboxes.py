"""``mail-sandbox mailboxes``: list, create and delete the mailboxes of a running server.

It talks to the server's HTTP API (``--url``), never to its database: the server may run on
another machine or in a container, and it alone writes the store. Every failure is one line
on standard error: 1 when the server said no or could not be reached, 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from mail_sandbox import defaults
from mail_sandbox.client import MailSandboxClient, MailSandboxError
from mail_sandbox.mailboxes import check_name

PROG = "mail-sandbox mailboxes"
#: The server's own variable for ``--ui-auth``: one setting serves both.
UI_AUTH_ENV = "MAIL_SANDBOX_UI_AUTH"
EX_FAILED = 1
EX_USAGE = 2
_COLUMNS = ("NAME", "MESSAGES", "UNREAD", "EXPIRES", "PASSWORD")


class CommandError(Exception):
    """A failure to report in one line, with the exit status that goes with it."""

    def __init__(self, message: str, status: int = EX_FAILED) -> None:
        super().__init__(message)
        self.status = status


def mailbox_name(value: str) -> str:
    """A mailbox name for the command line, with the naming rule as the error."""
    try:
        return check_name(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_int(value: str) -> int:
    """A whole number of seconds, 1 or more."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be 1 or more")
    return number


def build_parser() -> argparse.ArgumentParser:
    """``mailboxes [list]``, ``mailboxes create NAME``, ``mailboxes delete NAME``."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="List, create or delete the mailboxes of a running mail-sandbox, "
        "through its HTTP API. Without a command, lists them.",
    )
    _server_options(parser, default_url=f"http://{defaults.HTTP_ENDPOINT}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    listing = commands.add_parser("list", help="list the mailboxes (the default)")
    _server_options(listing)
    create = commands.add_parser("create", help="create a mailbox")
    create.add_argument("name", type=mailbox_name, metavar="NAME")
    create.add_argument(
        "--ttl",
        type=positive_int,
        metavar="SECONDS",
        help="delete the mailbox once it has not been used for this long (default: never)",
    )
    create.add_argument(
        "--password-env",
        metavar="VAR",
        help="protect the mailbox with the password in environment variable VAR "
        "(default: no password)",
    )
    _server_options(create)
    delete = commands.add_parser("delete", help="delete a mailbox and all its mail")
    delete.add_argument("name", type=mailbox_name, metavar="NAME")
    delete.add_argument(
        "--password-env",
        metavar="VAR",
        help="sign in with the mailbox's password, from environment variable VAR "
        "(default: --ui-auth, or nothing)",
    )
    _server_options(delete)
    return parser


def _server_options(parser: argparse.ArgumentParser, default_url: str | None = None) -> None:
    # Accepted before and after the command; a command's copy must not undo the first.
    default: Any = default_url if default_url is not None else argparse.SUPPRESS
    parser.add_argument(
        "--url",
        default=default,
        help=f"the server's inbox URL (default http://{defaults.HTTP_ENDPOINT})",
    )
    parser.add_argument(
        "--ui-auth",
        default=None if default_url is not None else argparse.SUPPRESS,
        metavar="USER:PASS",
        help=f"the server's --ui-auth user name and password (default ${UI_AUTH_ENV})",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mail-sandbox mailboxes``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        client = _client(args)
        if args.command == "create":
            _create(client, args)
        elif args.command == "delete":
            password = _password(args.password_env)
            if password is not None:
                client = client.for_mailbox(args.name, password)
            client.delete_mailbox(args.name)
            print(f"deleted mailbox {args.name} and its mail")
        else:
            print(format_table(client.mailboxes()), end="")
    except CommandError as exc:
        return _fail(str(exc), exc.status)
    except MailSandboxError as exc:
        return _fail(_server_said(exc, args))
    except urllib.error.URLError as exc:
        reason = getattr(exc.reason, "strerror", None) or exc.reason
        return _fail(
            f"cannot reach mail-sandbox at {args.url}: {reason} (is it running? point --url at it)"
        )
    except (OSError, ValueError) as exc:
        # A connection cut mid-answer, or an answer that is not the API's JSON.
        return _fail(f"no usable answer from {args.url}: {exc}")
    return 0


def format_table(mailboxes: list[dict[str, Any]]) -> str:
    """The mailboxes as aligned columns, one line each under a header line."""
    rows = [_COLUMNS] + [
        (
            str(box.get("Name", "")),
            str(box.get("Messages", "")),
            str(box.get("Unread", "")),
            _expires(box.get("Expires")),
            "yes" if box.get("HasPassword") else "no",
        )
        for box in mailboxes
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines) + "\n"


def _expires(value: object) -> str:
    if not value:
        return "never"
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def _client(args: argparse.Namespace) -> MailSandboxClient:
    auth = _ui_auth(args.ui_auth) if args.ui_auth else _ui_auth_from_env()
    try:
        return MailSandboxClient(args.url, auth=auth)
    except ValueError as exc:
        raise CommandError(f"--url: {exc}", EX_USAGE) from None


def _ui_auth(value: str, source: str = "--ui-auth") -> tuple[str, str]:
    # The server's own rule for the value; imported here, as it brings in the web app.
    from mail_sandbox.web.auth import Credentials

    try:
        credentials = Credentials.parse(value)
    except ValueError as exc:
        raise CommandError(f"{source}: {exc}", EX_USAGE) from None
    return credentials.username, credentials.password


def _ui_auth_from_env() -> tuple[str, str] | None:
    value = os.environ.get(UI_AUTH_ENV, "")
    return _ui_auth(value, f"${UI_AUTH_ENV}") if value else None


def _password(variable: str | None) -> str | None:
    """The password in environment variable ``variable``, None when none was named."""
    if variable is None:
        return None
    password = os.environ.get(variable)
    if not password:
        raise CommandError(f"--password-env: ${variable} is not set or empty", EX_USAGE)
    return password


def _create(client: MailSandboxClient, args: argparse.Namespace) -> None:
    password = _password(args.password_env)
    box = client.create_mailbox(args.name, password=password, ttl=args.ttl)
    expiry = f", deleted after {args.ttl} s unused" if args.ttl else ""
    locked = ", with a password" if box.get("HasPassword") else ""
    print(f"created mailbox {args.name}{locked}{expiry}")
    print(f"  send to it: SMTP AUTH as {args.name}, or an X-Mailbox: {args.name} header")
    print(f"  read it:    {client.url}/m/{args.name}/")


def _server_said(exc: MailSandboxError, args: argparse.Namespace) -> str:
    if exc.status == 401:
        which = (
            "the mailbox's password (--password-env VAR) or " if args.command == "delete" else ""
        )
        return (
            f"{args.url} refused the request without the right password: give {which}"
            f"the server's --ui-auth USER:PASS (or set ${UI_AUTH_ENV})"
        )
    return f"{exc.error} (HTTP {exc.status})" if exc.status else exc.error


def _fail(message: str, status: int = EX_FAILED) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return status
