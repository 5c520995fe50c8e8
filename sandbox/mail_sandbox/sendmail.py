"""``mail-sandbox sendmail``: a sendmail replacement that hands mail to the running capture server.

Scripts, cron jobs and PHP's ``mail()`` call ``sendmail`` with a message on standard input; this
command takes the same everyday options (``-f``, ``-t``, ``-i``, ``-oi``, ``-F``) and sends the
message over SMTP to mail-sandbox (``--smtp``, default 127.0.0.1:8025), which keeps it.

Exit status follows sendmail's ``sysexits.h`` codes as msmtp uses them: 0 sent, 64 bad usage,
65 no message, 69 the server refused for good (5xx), 75 a temporary failure, including "nothing
listening" (msmtp's answer when it cannot connect), so a caller may queue and retry, and 77
a mailbox that refused the password. Every error is one line on standard error.

``--mailbox NAME`` logs in (SMTP AUTH) as that mailbox, which is how the server routes mail to it.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import os
import re
import smtplib
import sys
from collections.abc import Sequence
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr
from typing import BinaryIO, NoReturn

from mail_sandbox import defaults
from mail_sandbox.endpoints import Endpoint, parse_endpoint
from mail_sandbox.mailboxes import check_name

PROG = "mail-sandbox sendmail"
#: Where ``--mailbox``'s password comes from when ``--password-env`` names no other variable.
PASSWORD_ENV = "MAIL_SANDBOX_MAILBOX_PASSWORD"  # noqa: S105 - a variable name
EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_UNAVAILABLE = 69
EX_TEMPFAIL = 75
EX_PROTOCOL = 76
EX_NOPERM = 77
_LINE_END = re.compile(rb"\r\n|\n|\r(?!\n)")


class SendmailError(Exception):
    """A failure to report in one line, with the exit status that goes with it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Parser(argparse.ArgumentParser):
    """argparse, exiting with sendmail's EX_USAGE rather than 2 on a bad command line."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EX_USAGE, f"{self.prog}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The options sendmail callers pass, and where to find the capture server."""
    parser = _Parser(
        prog=PROG,
        description="Read a message on standard input and hand it to the running mail-sandbox "
        "over SMTP, as sendmail would deliver it. Nothing is relayed anywhere else.",
    )
    parser.add_argument("recipients", nargs="*", metavar="RECIPIENT", help="envelope recipients")
    parser.add_argument(
        "-f",
        "-r",
        dest="sender",
        metavar="FROM",
        help="envelope sender (default: the message's From address)",
    )
    parser.add_argument(
        "-t",
        dest="read_recipients",
        action="store_true",
        help="also send to the To, Cc and Bcc addresses of the message (Bcc is removed)",
    )
    parser.add_argument(
        "--smtp",
        "-S",
        type=parse_endpoint,
        default=defaults.SMTP_ENDPOINT,
        metavar="HOST:PORT",
        help=f"the capture server's SMTP address (default {defaults.SMTP_ENDPOINT})",
    )
    parser.add_argument(
        "--mailbox",
        type=_mailbox_name,
        metavar="NAME",
        help="deliver into this mailbox of the server (SMTP AUTH as NAME; default: the "
        "message's X-Mailbox header, else the default mailbox)",
    )
    parser.add_argument(
        "--password-env",
        metavar="VAR",
        help=f"the --mailbox password is in environment variable VAR (default ${PASSWORD_ENV}, "
        "else no password)",
    )
    # Accepted so that existing callers work; they change nothing here. The message is always
    # read to the end of input, as with -i.
    parser.add_argument("-i", action="store_true", help="ignored (input always ends at EOF)")
    parser.add_argument("-o", metavar="OPTION", action="append", help="ignored (e.g. -oi)")
    parser.add_argument("-F", metavar="NAME", help="ignored (the message's From is kept)")
    parser.add_argument("-v", action="store_true", help="ignored")
    return parser


def _mailbox_name(value: str) -> str:
    try:
        return check_name(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: Sequence[str] | None = None, stdin: BinaryIO | None = None) -> int:
    """Run ``mail-sandbox sendmail``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.password_env is not None and args.mailbox is None:
        parser.error("--password-env is the password of a --mailbox: name the mailbox too")
    source = stdin if stdin is not None else sys.stdin.buffer
    try:
        login = None if args.mailbox is None else (args.mailbox, _password(args.password_env))
        message = source.read()
        send(message, args.recipients, args.sender, args.read_recipients, args.smtp, login)
    except SendmailError as exc:
        print(f"{PROG}: {exc.message}", file=sys.stderr)
        return exc.status
    return EX_OK


def send(
    message: bytes,
    recipients: Sequence[str],
    sender: str | None,
    read_recipients: bool,
    server: Endpoint,
    login: tuple[str, str] | None = None,
) -> None:
    """Send ``message`` as sendmail would, logged in as ``login`` (mailbox, password) if
    given; raises ``SendmailError`` with the exit status."""
    if not message.strip():
        raise SendmailError(EX_DATAERR, "no message on standard input")
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(message)
    envelope_to = [address.strip() for address in recipients if address.strip()]
    if read_recipients:
        envelope_to.extend(_header_addresses(headers, ("To", "Cc", "Bcc")))
        message = without_bcc(message)
    envelope_to = list(dict.fromkeys(envelope_to))
    if not envelope_to:
        raise SendmailError(
            EX_USAGE,
            "no recipients: name them on the command line, or use -t to read them "
            "from the message's To, Cc and Bcc",
        )
    envelope_from = sender or _from_address(headers) or f"{_user()}@localhost"
    _deliver(with_crlf(message), envelope_from, envelope_to, server, login)


def _password(variable: str | None) -> str:
    """The mailbox password from ``variable`` (which must be set), else from
    ``$MAIL_SANDBOX_MAILBOX_PASSWORD``, else none: a mailbox without one takes any."""
    if variable is None:
        return os.environ.get(PASSWORD_ENV, "")
    if variable not in os.environ:
        raise SendmailError(EX_USAGE, f"--password-env: ${variable} is not set")
    return os.environ[variable]


def with_crlf(message: bytes) -> bytes:
    """Every line ending as SMTP's CRLF: scripts write LF, and smtplib converts only text."""
    return _LINE_END.sub(b"\r\n", message)


def without_bcc(message: bytes) -> bytes:
    """The message without its Bcc header fields (and their folded lines); the body untouched."""
    lines = message.splitlines(keepends=True)
    kept: list[bytes] = []
    dropping = False
    for index, line in enumerate(lines):
        if line in (b"\r\n", b"\n"):
            kept.extend(lines[index:])  # the body starts here
            break
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = line.split(b":", 1)[0].strip().lower() == b"bcc"
        if not dropping:
            kept.append(line)
    return b"".join(kept)


def _header_addresses(headers: Message, names: Sequence[str]) -> list[str]:
    values: list[str] = []
    for name in names:
        values.extend(str(value) for value in headers.get_all(name, []))
    return [address for _, address in getaddresses(values) if address]


def _from_address(headers: Message) -> str:
    value = headers.get("From")
    return parseaddr(str(value))[1] if value else ""


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "nobody"


def _deliver(
    message: bytes,
    sender: str,
    recipients: list[str],
    server: Endpoint,
    login: tuple[str, str] | None,
) -> None:
    where = str(server)
    try:
        with smtplib.SMTP(
            server.host, server.port, timeout=defaults.SENDMAIL_TIMEOUT_SECONDS
        ) as smtp:
            smtp.ehlo_or_helo_if_needed()
            if login is not None:
                _log_in(smtp, *login, where)
            options = []
            if smtp.has_extn("8bitmime") and any(byte > 127 for byte in message):
                options.append("BODY=8BITMIME")
            if smtp.has_extn("smtputf8") and not all(
                address.isascii() for address in [sender, *recipients]
            ):
                options.append("SMTPUTF8")
            refused = smtp.sendmail(sender, recipients, message, mail_options=options)
    except ConnectionRefusedError:
        raise SendmailError(
            EX_TEMPFAIL,
            f"cannot connect to the capture server at {where}: connection refused "
            "(is mail-sandbox running? start it, or point --smtp at it)",
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise _refusal("every recipient was refused", exc.recipients) from None
    except smtplib.SMTPSenderRefused as exc:
        what = f"the sender {sender} was refused"
        raise _reply_error(what, exc.smtp_code, exc.smtp_error) from None
    except smtplib.SMTPResponseException as exc:
        what = "the server refused the message"
        raise _reply_error(what, exc.smtp_code, exc.smtp_error) from None
    except (smtplib.SMTPServerDisconnected, TimeoutError) as exc:
        raise SendmailError(
            EX_TEMPFAIL, f"the capture server at {where} stopped answering: {exc or 'timeout'}"
        ) from None
    except smtplib.SMTPException as exc:
        raise SendmailError(EX_PROTOCOL, f"SMTP error talking to {where}: {exc}") from None
    except OSError as exc:
        raise SendmailError(
            EX_TEMPFAIL, f"cannot reach the capture server at {where}: {exc.strerror or exc}"
        ) from None
    if refused:
        raise _refusal("the message was sent, but some recipients were refused", refused)


def _log_in(smtp: smtplib.SMTP, mailbox: str, password: str, where: str) -> None:
    """AUTH PLAIN as ``mailbox``; by hand, as smtplib's login only sends ASCII passwords."""
    if not smtp.has_extn("auth") or "PLAIN" not in smtp.esmtp_features["auth"].upper().split():
        raise SendmailError(EX_UNAVAILABLE, f"the server at {where} offers no AUTH PLAIN")
    token = base64.b64encode(b"\0".join([b"", mailbox.encode(), password.encode()]))
    code, reply = smtp.docmd("AUTH", "PLAIN " + token.decode("ascii"))
    if code == 235:
        return
    if code == 535:
        what = f"mailbox {mailbox} refused the password" + (
            "" if password else f" (none was given: use --password-env or ${PASSWORD_ENV})"
        )
        raise SendmailError(EX_NOPERM, f"{what}: {code} {_text(reply)}")
    raise _reply_error(f"logging in as {mailbox} failed", code, reply)


def _refusal(what: str, refused: dict[str, tuple[int, bytes]]) -> SendmailError:
    details = "; ".join(
        f"{address}: {code} {_text(reply)}" for address, (code, reply) in refused.items()
    )
    codes = [code for code, _ in refused.values()]
    status = EX_TEMPFAIL if all(400 <= code < 500 for code in codes) else EX_UNAVAILABLE
    return SendmailError(status, f"{what} ({details})")


def _reply_error(what: str, code: int, reply: bytes | str) -> SendmailError:
    status = EX_TEMPFAIL if 400 <= code < 500 else EX_UNAVAILABLE
    return SendmailError(status, f"{what}: {code} {_text(reply)}")


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())
