"""Which mailbox an SMTP message goes to: the AUTH login's, else its ``X-Mailbox`` header's,
else ``default``.

Every method here reads the store (scrypt too, on a first password check): the SMTP side
calls them in a thread, never on the event loop.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser

from mail_sandbox.mailboxes import DEFAULT_MAILBOX, is_mailbox_name
from mail_sandbox.message_limits import MAX_HEADER_BYTES, bounded_headers
from mail_sandbox.store import MailboxExistsError, MessageStore, NoSuchMailboxError

#: The header that names a mailbox for a message sent without AUTH as one.
MAILBOX_HEADER = "X-Mailbox"
# A cheap test before the header parser runs: most mail has no such header, and parsing up to
# a megabyte of headers for nothing would cost every message.
_HEADER_LINE = re.compile(rb"^x-mailbox[ \t]*:", re.IGNORECASE | re.MULTILINE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True, slots=True)
class MailboxLogin:
    """What a successful AUTH leaves on the SMTP session (never the password): the mailbox
    its messages go to, or None for a login that names none."""

    login: str
    mailbox: str | None


class MailboxGoneError(LookupError):
    """The mailbox a session authenticated as was deleted (or expired) before its message."""

    def __init__(self, name: str) -> None:
        super().__init__(f"mailbox {name} no longer exists")
        self.name = name


class MailboxRouter:
    """Routes over ``store`` (the default mailbox); ``auto_create`` makes an AUTH login that is
    a mailbox name but names none create that mailbox (``mail-sandbox --auto-mailboxes``)."""

    def __init__(self, store: MessageStore, *, auto_create: bool = False) -> None:
        self._store = store
        self._auto_create = auto_create
        #: Where mail that names no mailbox goes: ``store`` itself unless told otherwise.
        self.unnamed: MessageStore = store

    def login(self, login: bytes, password: bytes) -> MailboxLogin | None:
        """The session's route after AUTH as ``login``, or None to refuse the password.

        A login that is no mailbox's name is accepted, routing nowhere special: apps
        configured with any user name must still send.
        """
        name = login.decode("utf-8", "replace")
        if not is_mailbox_name(name):
            return MailboxLogin(name, None)
        if name != DEFAULT_MAILBOX and not self._exists(name):
            return MailboxLogin(name, None)
        # The same decoding the store hashes passwords with, so any bytes can match.
        if not self._store.check_password(name, password.decode("utf-8", "surrogateescape")):
            return None
        return MailboxLogin(name, name)

    def target(self, login: MailboxLogin | None, raw: bytes) -> MessageStore:
        """The mailbox to store ``raw`` in; ``MailboxGoneError`` when the session's AUTH
        mailbox was deleted since (its mail must not land where its password does not
        protect it)."""
        if login is not None and login.mailbox is not None:
            try:
                return self._store.mailbox(login.mailbox)
            except NoSuchMailboxError:
                if not (self._auto_create and self._exists(login.mailbox)):
                    raise MailboxGoneError(login.mailbox) from None
                return self._store.mailbox(login.mailbox)
        name = mailbox_header(raw)
        if name is None:
            return self.unnamed
        try:
            return self._store.mailbox(name)
        except NoSuchMailboxError:
            return self.unnamed

    def _exists(self, name: str) -> bool:
        """Whether mailbox ``name`` exists, made now if ``auto_create`` says so."""
        try:
            self._store.mailbox_info(name)
        except NoSuchMailboxError:
            if not self._auto_create:
                return False
            # Another session may make it first: then it exists, which is all we need.
            with contextlib.suppress(MailboxExistsError):
                self._store.create_mailbox(name)
        return True


def has_mailbox_header(raw: bytes) -> bool:
    """Whether ``raw``'s header section may hold an ``X-Mailbox`` field (cheap, no parsing)."""
    return _HEADER_LINE.search(_header_section(raw)) is not None


def mailbox_header(raw: bytes) -> str | None:
    """The mailbox name in ``raw``'s first ``X-Mailbox`` header, or None when there is none or
    it is not a mailbox name. Reads at most ``MAX_HEADER_BYTES`` of headers."""
    head = _header_section(raw)
    if _HEADER_LINE.search(head) is None:
        return None
    value = BytesHeaderParser(policy=policy.compat32).parsebytes(head).get(MAILBOX_HEADER)
    if value is None:
        return None
    name = str(value).strip()
    return name if is_mailbox_name(name) else None


def _header_section(raw: bytes) -> bytes:
    """The top-level header lines of ``raw``, bounded as the rest of the parsing is."""
    if raw.startswith((b"\r\n", b"\n")):
        return b""  # no headers at all: the body starts at once
    end = _HEADER_END.search(raw, 0, MAX_HEADER_BYTES + 4)
    if end is not None:
        return raw[: end.start()]
    return bounded_headers(raw[: MAX_HEADER_BYTES + 4])
