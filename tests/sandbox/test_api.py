"""The JSON API over real HTTP, checked field by field against docs/api.md's description."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from email.message import EmailMessage, Message
from typing import Any

import pytest

from mail_sandbox.store import MessageStore, open_store
from mail_sandbox.store.contract import (
    MailboxInfo,
    MailboxListener,
    NewMessagesListener,
    Page,
    StoreError,
    Summary,
)

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SUMMARY_KEYS = {
    "ID",
    "MessageID",
    "Read",
    "From",
    "To",
    "Cc",
    "Bcc",
    "ReplyTo",
    "Subject",
    "Created",
    "Tags",
    "Size",
    "Attachments",
    "Snippet",
}
LIST_KEYS = {
    "total",
    "unread",
    "count",
    "messages_count",
    "messages_unread",
    "start",
    "tags",
    "messages",
}
MESSAGE_KEYS = {
    "ID",
    "MessageID",
    "Read",
    "From",
    "To",
    "Cc",
    "Bcc",
    "ReplyTo",
    "ReturnPath",
    "Subject",
    "Date",
    "Tags",
    "Text",
    "HTML",
    "Size",
    "Inline",
    "Attachments",
}
PART_KEYS = {"PartID", "FileName", "ContentType", "ContentID", "Size", "Checksums"}
PDF = b"%PDF-1.4\n" + bytes(range(256))


class ObservedStore(MessageStore):
    """The real store, plus a signal when ``/wait`` makes its first check and a way to fail.

    The signal lets a test add a message only once the waiter is certainly registered, so the
    "arrives while waiting" path is exercised without sleeping.
    """

    def __init__(self, inner: MessageStore) -> None:
        self.inner = inner
        self.name = inner.name
        self.waiter_checked = threading.Event()
        self.list_fails_with: Exception | None = None

    def add(self, raw: bytes, envelope_from: str, envelope_to: Sequence[str]) -> Future[str]:
        return self.inner.add(raw, envelope_from, envelope_to)

    def add_listener(self, listener: NewMessagesListener) -> None:
        self.inner.add_listener(listener)

    def list(self, start: int = 0, limit: int = 50, *, after: str | None = None) -> Page:
        if self.list_fails_with is not None:
            raise self.list_fails_with
        return self.inner.list(start, limit, after=after)

    def search(
        self, query: str, start: int = 0, limit: int = 50, *, after: str | None = None
    ) -> Page:
        page = self.inner.search(query, start, limit, after=after)
        if limit == 1:
            self.waiter_checked.set()
        return page

    def summary(self, message_id: str) -> Summary | None:
        return self.inner.summary(message_id)

    def raw(self, message_id: str) -> bytes | None:
        return self.inner.raw(message_id)

    def latest_id(self) -> str | None:
        return self.inner.latest_id()

    def set_read(self, ids: Sequence[str] | None, read: bool) -> int:
        return self.inner.set_read(ids, read)

    def delete(self, ids: Sequence[str] | None) -> int:
        return self.inner.delete(ids)

    def counts(self) -> tuple[int, int]:
        return self.inner.counts()

    def all_tags(self) -> list[str]:
        return self.inner.all_tags()

    def close(self) -> None:
        self.inner.close()

    # Mailboxes are the inner store's.
    def mailbox(self, name: str) -> MessageStore:
        return self if name == self.inner.name else self.inner.mailbox(name)

    def create_mailbox(self, name: str, **options: Any) -> MailboxInfo:
        return self.inner.create_mailbox(name, **options)

    def mailboxes(self) -> list[MailboxInfo]:
        return self.inner.mailboxes()

    def mailbox_info(self, name: str) -> MailboxInfo:
        return self.inner.mailbox_info(name)

    def delete_mailbox(self, name: str) -> int:
        return self.inner.delete_mailbox(name)

    def check_password(self, name: str, password: str | None) -> bool:
        return self.inner.check_password(name, password)

    def touch_mailbox(self, name: str) -> None:
        self.inner.touch_mailbox(name)

    def expire_mailboxes(self) -> list[str]:
        return self.inner.expire_mailboxes()

    def add_mailbox_listener(self, listener: MailboxListener) -> None:
        self.inner.add_mailbox_listener(listener)


@pytest.fixture
def store() -> Iterator[ObservedStore]:
    """Overrides the conftest store: a fresh throwaway store that reports wait checks."""
    observed = ObservedStore(open_store(":memory:", max_messages=0))
    yield observed
    observed.close()


@dataclass
class Reply:
    """One HTTP response."""

    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        assert self.headers.get_content_type() == "application/json"
        return json.loads(self.body)


class Client:
    """A tiny HTTP client for the server under test (standard library only)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> Reply:
        request = urllib.request.Request(
            self.base_url + path, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Reply(error.code, error.headers, error.read())

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def send_json(self, method: str, path: str, data: object, **kwargs: Any) -> Reply:
        headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
        return self.request(method, path, json.dumps(data).encode(), headers=headers, **kwargs)


@pytest.fixture
def client(web_server: Any) -> Client:
    """HTTP client pointed at the web app."""
    return Client(web_server.url)


def make_message(
    subject: str = "Hello",
    *,
    sender: str | None = "Alice Example <alice@example.com>",
    to: str = "Bob <bob@example.com>",
    cc: str | None = None,
    reply_to: str | None = None,
    date: str | None = "Tue, 03 Mar 2026 10:15:30 +0200",
    text: str = "Plain text body",
    html: str | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> bytes:
    message = EmailMessage()
    if sender:
        message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    if date:
        message["Date"] = date
    message["Message-ID"] = f"<{abs(hash(subject))}@example.com>"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    if attachment is not None:
        name, data = attachment
        message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return message.as_bytes()


def add(store: MessageStore, raw: bytes, to: str = "bob@example.com") -> str:
    """Store a message (no SMTP) and return its ID."""
    return store.add(raw, "alice@example.com", [to]).result(timeout=5)


def ids(reply: Reply) -> list[str]:
    return [message["ID"] for message in reply.json()["messages"]]


# --- listing -------------------------------------------------------------------------------


def test_list_shape_field_by_field(client: Client, store: MessageStore) -> None:
    first = add(store, make_message("First"))
    second = add(
        store,
        make_message(
            "Second",
            cc="Carol <carol@example.com>",
            reply_to="replies@example.com",
            attachment=("a.pdf", PDF),
        ),
    )

    reply = client.get("/api/v1/messages")

    assert reply.status == 200
    body = reply.json()
    assert set(body) == LIST_KEYS
    assert body["total"] == 2
    assert body["unread"] == 2
    assert body["count"] == 2
    assert body["messages_count"] == 2
    assert body["messages_unread"] == 2
    assert body["start"] == 0
    assert body["tags"] == []
    newest, oldest = body["messages"]
    assert (newest["ID"], oldest["ID"]) == (second, first)
    for summary in body["messages"]:
        assert set(summary) == SUMMARY_KEYS
        assert isinstance(summary["ID"], str)
        assert isinstance(summary["MessageID"], str)
        assert summary["Read"] is False
        assert RFC3339_MS.match(summary["Created"]), summary["Created"]
        assert isinstance(summary["Size"], int)
        assert summary["Size"] > 0
        assert isinstance(summary["Snippet"], str)
        assert summary["Tags"] == []
        assert summary["Bcc"] == []
    assert newest["From"] == {"Name": "Alice Example", "Address": "alice@example.com"}
    assert newest["To"] == [{"Name": "Bob", "Address": "bob@example.com"}]
    assert newest["Cc"] == [{"Name": "Carol", "Address": "carol@example.com"}]
    assert newest["ReplyTo"] == [{"Name": "", "Address": "replies@example.com"}]
    assert newest["Subject"] == "Second"
    assert newest["Attachments"] == 1
    assert oldest["Cc"] == []
    assert oldest["ReplyTo"] == []
    assert oldest["Attachments"] == 0
    assert "Plain text body" in oldest["Snippet"]


def test_absent_from_is_two_empty_strings(client: Client, store: MessageStore) -> None:
    add(store, make_message("Anonymous", sender=None))

    (summary,) = client.get("/api/v1/messages").json()["messages"]

    assert summary["From"] == {"Name": "", "Address": ""}


def test_empty_mailbox_lists_nothing(client: Client) -> None:
    body = client.get("/api/v1/messages").json()

    assert body["messages"] == []
    assert (body["total"], body["count"], body["messages_count"]) == (0, 0, 0)


def test_paging_with_start_and_limit(client: Client, store: MessageStore) -> None:
    added = [add(store, make_message(f"Message {n}")) for n in range(5)]

    body = client.get("/api/v1/messages?start=1&limit=2").json()

    assert [m["ID"] for m in body["messages"]] == [added[3], added[2]]
    assert (body["start"], body["count"], body["total"]) == (1, 2, 5)


@pytest.mark.parametrize("query", ["limit=-1", "limit=abc", "start=-5", "start=1.5"])
def test_bad_paging_is_a_400_json_error(client: Client, query: str) -> None:
    reply = client.get(f"/api/v1/messages?{query}")

    assert reply.status == 400
    assert set(reply.json()) == {"Error"}


@pytest.mark.parametrize(
    ("failure", "status"),
    [(StoreError("database is locked"), 503), (RuntimeError("bug in a handler"), 500)],
)
def test_failures_are_clear_errors_never_tracebacks(
    client: Client, store: ObservedStore, failure: Exception, status: int
) -> None:
    store.list_fails_with = failure

    api = client.get("/api/v1/messages")
    page = client.get("/")

    assert api.status == status
    assert isinstance(api.json()["Error"], str)
    assert page.status == status
    assert page.headers.get_content_type() == "text/html"
    for reply in (api, page):
        assert b"Traceback" not in reply.body
        assert b"bug in a handler" not in reply.body


# --- one message ---------------------------------------------------------------------------


def test_message_shape_field_by_field(client: Client, store: MessageStore) -> None:
    message_id = add(
        store,
        make_message(
            "Report",
            cc="Carol <carol@example.com>",
            html="<p>Hello <b>HTML</b></p>",
            attachment=("report.pdf", PDF),
        ),
    )

    reply = client.get(f"/api/v1/message/{message_id}")

    assert reply.status == 200
    body = reply.json()
    assert set(body) == MESSAGE_KEYS
    assert body["ID"] == message_id
    assert body["MessageID"].endswith("@example.com")
    assert body["Read"] is True
    assert body["From"] == {"Name": "Alice Example", "Address": "alice@example.com"}
    assert body["To"] == [{"Name": "Bob", "Address": "bob@example.com"}]
    assert body["Cc"] == [{"Name": "Carol", "Address": "carol@example.com"}]
    assert body["Bcc"] == []
    assert body["ReplyTo"] == []
    assert isinstance(body["ReturnPath"], str)
    assert body["Subject"] == "Report"
    assert body["Date"] == "2026-03-03T08:15:30.000Z"
    assert body["Tags"] == []
    assert body["Text"] == "Plain text body\n"
    assert body["HTML"] == "<p>Hello <b>HTML</b></p>\n"
    assert body["Size"] == len(store.raw(message_id) or b"")
    assert body["Inline"] == []
    (part,) = body["Attachments"]
    assert set(part) == PART_KEYS
    assert part["PartID"] == "2"
    assert part["FileName"] == "report.pdf"
    assert part["ContentType"] == "application/pdf"
    assert part["ContentID"] == ""
    assert part["Size"] == len(PDF)
    assert part["Checksums"] == {
        "MD5": hashlib.md5(PDF).hexdigest(),
        "SHA1": hashlib.sha1(PDF).hexdigest(),
        "SHA256": hashlib.sha256(PDF).hexdigest(),
    }


def test_message_without_date_header_uses_received_time(
    client: Client, store: MessageStore
) -> None:
    message_id = add(store, make_message("Undated", date=None))

    body = client.get(f"/api/v1/message/{message_id}").json()
    (summary,) = client.get("/api/v1/messages").json()["messages"]

    assert RFC3339_MS.match(body["Date"])
    assert body["Date"] == summary["Created"]


def test_fetching_a_message_marks_it_read(client: Client, store: MessageStore) -> None:
    message_id = add(store, make_message("Unread until opened"))
    other = add(store, make_message("Stays unread"))

    client.get(f"/api/v1/message/{message_id}")

    body = client.get("/api/v1/messages").json()
    assert {m["ID"]: m["Read"] for m in body["messages"]} == {message_id: True, other: False}
    assert body["unread"] == 1


def test_latest_is_the_newest_message(client: Client, store: MessageStore) -> None:
    add(store, make_message("Older"))
    newest = add(store, make_message("Newest"))

    body = client.get("/api/v1/message/latest").json()

    assert (body["ID"], body["Subject"]) == (newest, "Newest")


def test_raw_is_the_exact_bytes(client: Client, store: MessageStore) -> None:
    raw = (
        b"From: a@example.com\r\nSubject: bytes \xc3\xa9 \xff\r\n\r\n"
        b"line one\r\nline two \x00 \xfe\r\n\r\n"
    )
    message_id = add(store, raw)

    reply = client.get(f"/api/v1/message/{message_id}/raw")

    assert reply.status == 200
    assert reply.headers.get_content_type() == "text/plain"
    assert reply.body == raw


def test_headers_are_sorted_lists_of_values(client: Client, store: MessageStore) -> None:
    raw = (
        b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nReceived: from one\r\nX-Test: yes\r\n"
        b"Received: from two\r\nFrom: a@example.com\r\n\r\nbody\r\n"
    )
    message_id = add(store, raw)

    headers = client.get(f"/api/v1/message/{message_id}/headers").json()

    assert list(headers) == sorted(headers)
    assert headers == {
        "From": ["a@example.com"],
        "Received": ["from one", "from two"],
        "Subject": ["Grüße"],
        "X-Test": ["yes"],
    }


def test_part_download_is_decoded_with_safe_headers(client: Client, store: MessageStore) -> None:
    message_id = add(store, make_message("With file", attachment=("../../etc/rapport é.pdf", PDF)))

    reply = client.get(f"/api/v1/message/{message_id}/part/2")

    assert reply.status == 200
    assert reply.body == PDF
    assert reply.headers.get_content_type() == "application/pdf"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    disposition = reply.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="rapport e.pdf"' in disposition
    assert "filename*=UTF-8''rapport%20%C3%A9.pdf" in disposition
    assert ".." not in disposition
    assert "/" not in disposition


def test_html_part_downloads_instead_of_rendering(client: Client, store: MessageStore) -> None:
    message_id = add(store, make_message("Page", html="<script>alert(1)</script>"))

    reply = client.get(f"/api/v1/message/{message_id}/part/2")

    assert reply.headers.get_content_type() == "text/html"
    assert reply.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in reply.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/message/{missing}",
        "/api/v1/message/{missing}/raw",
        "/api/v1/message/{missing}/headers",
        "/api/v1/message/{missing}/part/1",
        "/api/v1/message/{existing}/part/9",
        "/api/v1/no-such-endpoint",
        "/api/v2/messages",
    ],
)
def test_unknown_things_are_404_json(client: Client, store: MessageStore, path: str) -> None:
    existing = add(store, make_message("Exists"))

    reply = client.get(path.format(missing="no-such-id", existing=existing))

    assert reply.status == 404
    assert isinstance(reply.json()["Error"], str)


def test_latest_of_an_empty_mailbox_is_404(client: Client) -> None:
    assert client.get("/api/v1/message/latest").status == 404


def test_wrong_method_is_405_json(client: Client) -> None:
    reply = client.request("POST", "/api/v1/messages", b"{}")

    assert reply.status == 405
    assert "Error" in reply.json()


# --- search --------------------------------------------------------------------------------


@pytest.fixture
def searchable(store: MessageStore) -> dict[str, str]:
    """Three messages with distinct subjects, senders, recipients and attachments."""
    return {
        "welcome": add(
            store,
            make_message("Welcome aboard", to="new@users.example.org"),
            to="new@users.example.org",
        ),
        "invoice": add(
            store,
            make_message(
                "Your invoice", sender="Billing <billing@shop.example>", attachment=("i.pdf", PDF)
            ),
        ),
        "reset": add(store, make_message("Reset your password", text="Click the link")),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("subject:welcome", ["welcome"]),
        ("from:billing@shop.example", ["invoice"]),
        ("to:example.org", ["welcome"]),
        ("has:attachment", ["invoice"]),
        ("-subject:welcome", ["reset", "invoice"]),
        ('"reset your"', ["reset"]),
        ("password link", ["reset"]),
    ],
)
def test_search_operators(
    client: Client, searchable: dict[str, str], query: str, expected: list[str]
) -> None:
    reply = client.get("/api/v1/search?" + urllib.parse.urlencode({"query": query}))

    assert reply.status == 200
    body = reply.json()
    assert set(body) == LIST_KEYS
    assert ids(reply) == [searchable[name] for name in expected]
    assert body["messages_count"] == len(expected)
    assert body["total"] == 3


def test_search_is_unread(client: Client, searchable: dict[str, str]) -> None:
    client.get(f"/api/v1/message/{searchable['invoice']}")

    reply = client.get("/api/v1/search?query=is:unread")

    assert ids(reply) == [searchable["reset"], searchable["welcome"]]
    assert reply.json()["messages_unread"] == 2


@pytest.mark.parametrize("query", ["larger:lots", "is:whatever", "", "   "])
def test_bad_search_is_400_json(client: Client, searchable: dict[str, str], query: str) -> None:
    reply = client.get("/api/v1/search?" + urllib.parse.urlencode({"query": query}))

    assert reply.status == 400
    assert reply.json()["Error"]


# --- changing state ------------------------------------------------------------------------


def read_flags(client: Client) -> dict[str, bool]:
    return {m["ID"]: m["Read"] for m in client.get("/api/v1/messages").json()["messages"]}


def test_mark_read_and_unread_by_ids(client: Client, store: MessageStore) -> None:
    a, b = add(store, make_message("A")), add(store, make_message("B"))

    reply = client.send_json("PUT", "/api/v1/messages", {"IDs": [a], "Read": True})
    assert (reply.status, reply.body) == (200, b"ok")
    assert read_flags(client) == {a: True, b: False}

    client.send_json("PUT", "/api/v1/messages", {"IDs": [a], "Read": False})
    assert read_flags(client) == {a: False, b: False}


def test_mark_all_read_and_unread(client: Client, store: MessageStore) -> None:
    a, b = add(store, make_message("A")), add(store, make_message("B"))

    assert client.send_json("PUT", "/api/v1/messages", {"Read": True}).status == 200
    assert read_flags(client) == {a: True, b: True}

    assert client.send_json("PUT", "/api/v1/messages", {"IDs": [], "Read": False}).status == 200
    assert read_flags(client) == {a: False, b: False}


def test_mark_read_from_a_form_body(client: Client, store: MessageStore) -> None:
    a, b = add(store, make_message("A")), add(store, make_message("B"))
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    reply = client.request("PUT", "/api/v1/messages", f"ids={a}&Read=true".encode(), headers=form)

    assert (reply.status, reply.body) == (200, b"ok")
    assert read_flags(client) == {a: True, b: False}


def test_mark_read_without_read_flag_is_400(client: Client, store: MessageStore) -> None:
    a = add(store, make_message("A"))

    reply = client.send_json("PUT", "/api/v1/messages", {"IDs": [a]})

    assert reply.status == 400
    assert read_flags(client) == {a: False}


def test_delete_by_ids(client: Client, store: MessageStore) -> None:
    a, b, c = (add(store, make_message(name)) for name in "ABC")

    reply = client.send_json("DELETE", "/api/v1/messages", {"IDs": [a, c]})

    assert (reply.status, reply.body) == (200, b"ok")
    assert ids(client.get("/api/v1/messages")) == [b]


@pytest.mark.parametrize("body", [None, b"", b"{}", b'{"IDs": []}'])
def test_delete_without_ids_deletes_all(
    client: Client, store: MessageStore, body: bytes | None
) -> None:
    for name in "AB":
        add(store, make_message(name))

    reply = client.request("DELETE", "/api/v1/messages", body)

    assert (reply.status, reply.body) == (200, b"ok")
    assert client.get("/api/v1/messages").json()["total"] == 0


def test_delete_from_a_form_body(client: Client, store: MessageStore) -> None:
    a, b, c = (add(store, make_message(name)) for name in "ABC")
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    reply = client.request("DELETE", "/api/v1/messages", f"ids={a}&ids={b}".encode(), headers=form)

    assert (reply.status, reply.body) == (200, b"ok")
    assert ids(client.get("/api/v1/messages")) == [c]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"this is not json or a form", "text/plain"),
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"everything"', "application/json"),
        (b'{"IDs": "abc"}', "application/json"),
        (b'{"Search": "subject:x"}', "application/json"),
        (b"unknown=field", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00", "application/octet-stream"),
    ],
)
def test_unreadable_delete_body_is_400_and_deletes_nothing(
    client: Client, store: MessageStore, body: bytes, content_type: str
) -> None:
    a = add(store, make_message("Keep me"))

    reply = client.request(
        "DELETE", "/api/v1/messages", body, headers={"Content-Type": content_type}
    )

    assert reply.status == 400
    assert reply.json()["Error"]
    assert ids(client.get("/api/v1/messages")) == [a]


# --- cross-site protection -----------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:1"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
    ids=["other-host", "opaque-origin", "other-port", "sec-fetch-site"],
)
def test_cross_site_state_change_is_403(
    client: Client, store: MessageStore, headers: dict[str, str]
) -> None:
    a = add(store, make_message("Keep me"))

    deleting = client.request("DELETE", "/api/v1/messages", headers=headers)
    marking = client.send_json("PUT", "/api/v1/messages", {"Read": True}, headers=headers)

    assert deleting.status == 403
    assert marking.status == 403
    assert deleting.json()["Error"]
    assert read_flags(client) == {a: False}


def test_null_origin_vouched_for_by_fetch_metadata_is_served(
    client: Client, store: MessageStore
) -> None:
    # What a browser sends for the inbox's own forms under "Referrer-Policy: no-referrer".
    a = add(store, make_message("A"))
    headers = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}

    reply = client.send_json("PUT", "/api/v1/messages", {"Read": True}, headers=headers)

    assert reply.status == 200
    assert read_flags(client) == {a: True}


def test_same_origin_and_no_origin_are_served(client: Client, store: MessageStore) -> None:
    add(store, make_message("A"))
    same_origin = {"Origin": client.base_url, "Sec-Fetch-Site": "same-origin"}

    marking = client.send_json("PUT", "/api/v1/messages", {"Read": True}, headers=same_origin)
    deleting = client.request("DELETE", "/api/v1/messages")

    assert (marking.status, deleting.status) == (200, 200)
    assert client.get("/api/v1/messages").json()["total"] == 0


# --- wait ----------------------------------------------------------------------------------


def test_wait_returns_a_message_that_arrives_while_waiting(
    client: Client, store: ObservedStore
) -> None:
    add(store, make_message("Already here, also about arrival"))
    replies: list[Reply] = []
    waiter = threading.Thread(
        target=lambda: replies.append(
            client.get("/api/v1/wait?query=subject:arrival&timeout=30", timeout=40)
        )
    )
    waiter.start()
    assert store.waiter_checked.wait(timeout=10)

    arrived = add(store, make_message("The arrival"))
    waiter.join(timeout=40)

    (reply,) = replies
    assert reply.status == 200
    body = reply.json()
    assert set(body) == SUMMARY_KEYS
    assert (body["ID"], body["Subject"]) == (arrived, "The arrival")


def test_wait_ignores_messages_from_before_the_call(client: Client, store: MessageStore) -> None:
    add(store, make_message("Old news"))

    reply = client.get("/api/v1/wait?timeout=0.2")

    assert reply.status == 408
    assert reply.json()["Error"]


def test_wait_times_out_with_408(client: Client) -> None:
    reply = client.get("/api/v1/wait?query=subject:never&timeout=0.05")

    assert reply.status == 408
    assert "Error" in reply.json()


def test_wait_since_finds_an_existing_message(client: Client, store: MessageStore) -> None:
    marker = add(store, make_message("Marker"))
    add(store, make_message("Not it"))
    wanted = add(store, make_message("Wanted one"))
    add(store, make_message("Not it either"))

    reply = client.get(f"/api/v1/wait?since={marker}&query=subject:wanted&timeout=5")

    assert reply.status == 200
    assert reply.json()["ID"] == wanted


def test_wait_since_unknown_id_is_404(client: Client) -> None:
    reply = client.get("/api/v1/wait?since=no-such-id&timeout=1")

    assert reply.status == 404
    assert reply.json()["Error"]


@pytest.mark.parametrize("timeout", ["soon", "-1", "nan", "inf"])
def test_wait_bad_timeout_is_400(client: Client, timeout: str) -> None:
    reply = client.get(f"/api/v1/wait?timeout={timeout}")

    assert reply.status == 400
    assert reply.json()["Error"]


def test_wait_bad_query_is_400(client: Client) -> None:
    reply = client.get("/api/v1/wait?query=larger:lots&timeout=5")

    assert reply.status == 400


# --- live events ---------------------------------------------------------------------------


def test_event_stream_announces_new_messages(client: Client, store: MessageStore) -> None:
    request = urllib.request.Request(client.base_url + "/api/events")
    with urllib.request.urlopen(request, timeout=10) as stream:
        assert stream.headers.get_content_type() == "text/event-stream"
        # The subscription exists once the headers are in, so this message is announced.
        message_id = add(store, make_message("Live"))
        lines = []
        for line in stream:
            lines.append(line.decode().strip())
            if lines[-1].startswith("data:"):
                break

    assert "event: new" in lines
    assert json.loads(lines[-1].removeprefix("data:")) == {"IDs": [message_id]}


def test_wait_with_empty_since_finds_a_message_already_stored(
    client: Client, store: MessageStore
) -> None:
    # The pytest plugin's wait_for right after clearing: mail that came before the call counts.
    stored = add(store, make_message("Arrived before the wait"))

    reply = client.get("/api/v1/wait?since=&query=subject:before&timeout=5")

    assert reply.status == 200
    assert reply.json()["ID"] == stored
