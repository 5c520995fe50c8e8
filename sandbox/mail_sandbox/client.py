"""A small client of the capture server's JSON API, and the message object tests work with."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from mail_sandbox import defaults
from mail_sandbox.links import find_links
from mail_sandbox.mailboxes import check_name


class MailSandboxError(RuntimeError):
    """The capture server answered with an error: ``status`` is the HTTP status (None when
    there was no answer to have one), ``error`` the server's own words for it."""

    def __init__(self, message: str, *, status: int | None = None, error: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error = error or message


@dataclass
class CapturedMessage:
    """One captured email, as a test sees it."""

    id: str
    subject: str
    sender: str
    to: list[str]
    text: str
    html: str
    headers: dict[str, list[str]]
    raw: bytes
    attachments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def links(self) -> list[str]:
        """Absolute URLs found in the text and HTML parts, in order, each once."""
        return find_links(self.text, self.html)


class MailSandboxClient:
    """Talks to a running capture server's ``/api/v1`` over HTTP.

    With ``mailbox``, every message call reads and changes that mailbox only (the server's
    ``/m/{mailbox}/api/v1/...``), signing in as it with ``password`` when one is given. ``auth``
    is a ``(user, password)`` pair for a server started with ``--ui-auth``, which opens every
    mailbox. The mailbox calls (``create_mailbox``, ``mailboxes``...) act on the whole server.
    """

    def __init__(
        self,
        url: str,
        mailbox: str | None = None,
        password: str | None = None,
        *,
        auth: tuple[str, str] | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the capture server's URL must be http(s), not {url!r}")
        if password is not None and mailbox is None:
            raise ValueError("a password is a mailbox's: name the mailbox too")
        if password is not None and auth is not None:
            raise ValueError("give the mailbox's password or the server's auth, not both")
        self.server_url = url.rstrip("/")
        self.mailbox = None if mailbox is None else check_name(mailbox)
        self._prefix = "" if mailbox is None else f"/m/{mailbox}"
        self._auth = auth
        credentials = (mailbox, password) if password is not None else auth
        self._authorization = None if credentials is None else _basic(*credentials)
        # IDs handed out by wait_for, so each call returns a message the test has not seen yet.
        self._seen: set[str] = set()

    @property
    def url(self) -> str:
        """The inbox of this client's mailbox (the server's own with no mailbox): open it in a
        browser, or put ``/api/v1/...`` after it."""
        return self.server_url + self._prefix

    def for_mailbox(self, name: str, password: str | None = None) -> MailSandboxClient:
        """A client of the same server for mailbox ``name`` (with this one's ``auth`` when no
        ``password`` is given)."""
        auth = self._auth if password is None else None
        return MailSandboxClient(self.server_url, name, password, auth=auth)

    def _request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        *,
        scoped: bool = True,
    ) -> tuple[int, bytes]:
        url = self.server_url + (self._prefix if scoped else "") + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self._authorization is not None:
            request.add_header("Authorization", self._authorization)
        try:
            with urllib.request.urlopen(request, timeout=330) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        status, body = self._request(method, path, **kwargs)
        _check(method, path, status, body)
        return json.loads(body)

    def create_mailbox(
        self, name: str, *, password: str | None = None, ttl: int | None = None
    ) -> dict[str, Any]:
        """Create mailbox ``name`` (see ``/api/v1/mailboxes``); returns it as the API shows it.

        ``ttl`` (seconds) deletes it once unused that long. A name that is taken raises
        ``MailSandboxError`` with ``status`` 409.
        """
        body: dict[str, Any] = {"Name": check_name(name)}
        if password is not None:
            body["Password"] = password
        if ttl is not None:
            body["TTL"] = ttl
        return self._json("POST", "/api/v1/mailboxes", body=body, scoped=False)

    def mailboxes(self) -> list[dict[str, Any]]:
        """The server's mailboxes, ``default`` first (those with a password only with
        ``auth``)."""
        return self._json("GET", "/api/v1/mailboxes", scoped=False)["Mailboxes"]

    def mailbox_info(self, name: str) -> dict[str, Any]:
        """One mailbox as the API shows it; ``MailSandboxError`` (404) when there is none."""
        return self._json("GET", f"/api/v1/mailboxes/{check_name(name)}", scoped=False)

    def delete_mailbox(self, name: str) -> None:
        """Delete mailbox ``name`` with all its mail."""
        path = f"/api/v1/mailboxes/{check_name(name)}"
        status, body = self._request("DELETE", path, scoped=False)
        _check("DELETE", path, status, body)

    def summaries(
        self, query: str = "", limit: int = defaults.MAX_PAGE_SIZE
    ) -> list[dict[str, Any]]:
        """Summaries of the stored messages (matching ``query``), newest first."""
        if query:
            page = self._json("GET", "/api/v1/search", params={"query": query, "limit": limit})
        else:
            page = self._json("GET", "/api/v1/messages", params={"limit": limit})
        return page["messages"]

    def message(self, message_id: str) -> CapturedMessage:
        """The full message with that ID (marks it read, as Mailpit does)."""
        data = self._json("GET", f"/api/v1/message/{message_id}")
        headers = self._json("GET", f"/api/v1/message/{message_id}/headers")
        status, raw = self._request("GET", f"/api/v1/message/{message_id}/raw")
        if status != 200:
            raise MailSandboxError(f"raw of {message_id}: {status}", status=status)
        sender = data["From"]["Address"] if data.get("From") else ""
        return CapturedMessage(
            id=data["ID"],
            subject=data["Subject"],
            sender=sender,
            to=[addr["Address"] for addr in data["To"]],
            text=data["Text"],
            html=data["HTML"],
            headers=headers,
            raw=raw,
            attachments=data["Attachments"],
        )

    def messages(self) -> list[CapturedMessage]:
        """Every stored message, oldest first (the order they were sent in)."""
        return [self.message(s["ID"]) for s in reversed(self.summaries())]

    def info(self) -> dict[str, Any]:
        """``/api/v1/info``: message counts, tags and the server's runtime counters."""
        return self._json("GET", "/api/v1/info")

    @contextmanager
    def chaos(
        self,
        *,
        sender: int | None = None,
        recipient: int | None = None,
        authentication: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Make SMTP refuse MAIL FROM, RCPT TO or AUTH with these codes, every time, in a block.

        ``with mailbox.chaos(recipient=451): ...`` tests how the code under test copes with a
        server that says "try again later"; every trigger is reset when the block ends. The
        server must have chaos enabled (the pytest plugin's has; ``mail-sandbox
        --enable-chaos``). Yields the triggers the server now has.
        """
        codes = {"Sender": sender, "Recipient": recipient, "Authentication": authentication}
        triggers = {
            name: {"ErrorCode": code, "Probability": 100}
            for name, code in codes.items()
            if code is not None
        }
        if not triggers:
            raise TypeError("name a trigger and its code, e.g. chaos(recipient=451)")
        active = self._json("PUT", "/api/v1/chaos", body=triggers)
        try:
            yield active
        finally:
            self.reset_chaos()

    def reset_chaos(self) -> None:
        """Turn every chaos trigger off."""
        self._json("PUT", "/api/v1/chaos", body={})

    def clear(self) -> None:
        """Delete every stored message."""
        status, body = self._request("DELETE", "/api/v1/messages", body={})
        _check("DELETE", "/api/v1/messages", status, body)
        self._seen.clear()

    def wait_for(
        self,
        to: str | None = None,
        subject: str | None = None,
        query: str | None = None,
        timeout: float = 10,
    ) -> CapturedMessage:
        """Return the oldest matching message not yet returned, waiting for one to arrive.

        Waits on the server's ``/api/v1/wait`` (no polling), and raises ``TimeoutError`` naming
        what was awaited when nothing matches within ``timeout`` seconds.
        """
        terms = [query] if query else []
        if to:
            terms.append(f'to:"{to}"')
        if subject:
            terms.append(f'subject:"{subject}"')
        search = " ".join(terms)
        deadline = time.monotonic() + timeout
        while True:
            matches = self.summaries(search)
            unseen = [s for s in matches if s["ID"] not in self._seen]
            if unseen:
                found = unseen[-1]["ID"]
                self._seen.add(found)
                return self.message(found)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no email matching {search or 'anything'!r} in {timeout} s")
            # Anything newer than the newest match (or any message at all) wakes us; there is
            # no gap between the search above and the wait below in which mail could slip by.
            since = matches[0]["ID"] if matches else ""
            params = {"query": search, "timeout": f"{remaining:.3f}", "since": since}
            status, body = self._request("GET", "/api/v1/wait", params=params)
            if status == 408:
                raise TimeoutError(f"no email matching {search or 'anything'!r} in {timeout} s")
            _check("GET", "/api/v1/wait", status, body)


def _check(method: str, path: str, status: int, body: bytes) -> None:
    """Raise ``MailSandboxError`` unless ``status`` is 200, with the server's ``Error`` text."""
    if status == 200:
        return
    try:
        error = json.loads(body)["Error"]
    except (ValueError, TypeError, KeyError):
        error = body[:200].decode("utf-8", "replace").strip()
    if not isinstance(error, str):
        error = str(error)
    raise MailSandboxError(f"{method} {path}: {status} {error}", status=status, error=error)


def _basic(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"
