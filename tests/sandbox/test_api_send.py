"""``POST /api/v1/send``: Mailpit's send request becomes a stored message, as if sent over SMTP.

Checked through the API a client reads afterwards: the message, its headers, its parts and
the envelope (Bcc, Return-Path). Bad requests are 400 (413 when too big) and store nothing.
"""

from __future__ import annotations

import base64
import email
from email import policy

import httpx
import pytest

from mail_sandbox.server import CaptureServer

PDF = b"%PDF-1.4\n" + bytes(range(256))
LOGO = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def full_request() -> dict:
    """A send request using every field Mailpit documents."""
    return {
        "From": {"Email": "app@microblog.example", "Name": "Microblog"},
        "To": [{"Email": "ann@example.com", "Name": "Ann"}],
        "Cc": [{"Email": "audit@example.com"}],
        "Bcc": ["hidden@example.com"],
        "ReplyTo": [{"Email": "support@microblog.example", "Name": "Support"}],
        "Subject": "Your invoice",
        "Text": "See the attached invoice: http://127.0.0.1:5000/invoices/1\n",
        "HTML": '<p>See the <a href="http://127.0.0.1:5000/invoices/1">invoice</a></p>'
        '<img src="cid:logo@microblog">',
        "Headers": {"X-Campaign": "billing-2026"},
        "Tags": ["Billing", "urgent"],
        "Attachments": [
            {
                "Content": base64.b64encode(PDF).decode(),
                "Filename": "invoice.pdf",
                "ContentType": "application/pdf",
            },
            {
                "Content": base64.b64encode(LOGO).decode(),
                "Filename": "logo.png",
                "ContentID": "logo@microblog",
            },
        ],
    }


@pytest.fixture
def api(capture_server: CaptureServer) -> httpx.Client:
    """An HTTP client of the capture server (1 MiB message size limit)."""
    return httpx.Client(base_url=capture_server.url, timeout=10)


def test_send_stores_a_real_message_with_every_field(
    api: httpx.Client, capture_server: CaptureServer
) -> None:
    reply = api.post("/api/v1/send", json=full_request())

    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    body = reply.json()
    assert set(body) == {"ID"}
    message_id = body["ID"]
    assert [m.id for m in capture_server.store.list().messages] == [message_id]

    message = api.get(f"/api/v1/message/{message_id}").json()
    assert message["From"] == {"Name": "Microblog", "Address": "app@microblog.example"}
    assert message["To"] == [{"Name": "Ann", "Address": "ann@example.com"}]
    assert message["Cc"] == [{"Name": "", "Address": "audit@example.com"}]
    # Bcc reached the envelope only, exactly as with SMTP.
    assert message["Bcc"] == [{"Name": "", "Address": "hidden@example.com"}]
    assert message["ReplyTo"] == [{"Name": "Support", "Address": "support@microblog.example"}]
    assert message["ReturnPath"] == "app@microblog.example"
    assert message["Subject"] == "Your invoice"
    assert message["Tags"] == ["Billing", "urgent"]
    assert message["Text"].rstrip() == "See the attached invoice: http://127.0.0.1:5000/invoices/1"
    assert 'href="http://127.0.0.1:5000/invoices/1"' in message["HTML"]
    [attachment] = message["Attachments"]
    assert (attachment["FileName"], attachment["ContentType"], attachment["Size"]) == (
        "invoice.pdf",
        "application/pdf",
        len(PDF),
    )
    [inline] = message["Inline"]
    assert (inline["FileName"], inline["ContentType"], inline["ContentID"]) == (
        "logo.png",
        "image/png",
        "logo@microblog",
    )
    assert api.get(f"/api/v1/message/{message_id}/part/{attachment['PartID']}").content == PDF
    assert api.get(f"/api/v1/message/{message_id}/part/{inline['PartID']}").content == LOGO

    headers = api.get(f"/api/v1/message/{message_id}/headers").json()
    assert headers["X-Campaign"] == ["billing-2026"]
    assert "Bcc" not in headers
    assert headers["Message-Id"][0].endswith("@microblog.example>")
    assert headers["Date"]


def test_sent_message_is_valid_mime_with_crlf_line_endings(
    api: httpx.Client, capture_server: CaptureServer
) -> None:
    message_id = api.post("/api/v1/send", json=full_request()).json()["ID"]

    raw = capture_server.store.raw(message_id)
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert not parsed.defects
    assert parsed.get_content_type() == "multipart/mixed"
    assert parsed["X-Tags"] == "Billing, urgent"


def test_the_new_message_is_found_by_search_and_tag(api: httpx.Client) -> None:
    message_id = api.post("/api/v1/send", json=full_request()).json()["ID"]

    by_tag = api.get("/api/v1/search", params={"query": "tag:Billing"}).json()
    by_recipient = api.get("/api/v1/search", params={"query": "bcc:hidden@example.com"}).json()

    assert [m["ID"] for m in by_tag["messages"]] == [message_id]
    assert [m["ID"] for m in by_recipient["messages"]] == [message_id]


def test_minimal_request_needs_only_from_and_a_recipient(api: httpx.Client) -> None:
    request = {"From": {"Email": "app@example.com"}, "Bcc": ["only-bcc@example.com"]}

    message_id = api.post("/api/v1/send", json=request).json()["ID"]

    message = api.get(f"/api/v1/message/{message_id}").json()
    assert message["To"] == []
    assert message["Bcc"] == [{"Name": "", "Address": "only-bcc@example.com"}]
    assert message["Subject"] == ""


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[]", "JSON object"),
        (b'"hello"', "JSON object"),
        (b"\xff\xfe\xfd", "not valid JSON"),
    ],
)
def test_unreadable_body_is_400_and_stores_nothing(
    api: httpx.Client, capture_server: CaptureServer, body: bytes, complaint: str
) -> None:
    reply = api.post("/api/v1/send", content=body, headers={"Content-Type": "application/json"})

    assert reply.status_code == 400
    assert complaint in reply.json()["Error"]
    assert capture_server.store.counts() == (0, 0)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"To": [], "Cc": [], "Bcc": []}, "recipient"),
        ({"From": None}, "From is required"),
        ({"From": {"Email": "not an address"}}, "From"),
        ({"Attachments": [{"Content": "***not base64***", "Filename": "a.bin"}]}, "base64"),
        ({"Subject": "Hi\r\nBcc: victim@example.com"}, "Subject"),
        ({"Headers": {"Subject": "twice"}}, "cannot overwrite header"),
        ({"Colour": "blue"}, "unknown field 'Colour'"),
    ],
    ids=[
        "no-recipient",
        "no-sender",
        "bad-sender",
        "bad-base64",
        "header-injection",
        "reserved-header",
        "unknown-field",
    ],
)
def test_bad_request_is_400_with_a_reason_and_stores_nothing(
    api: httpx.Client, capture_server: CaptureServer, change: dict, complaint: str
) -> None:
    request = {**full_request(), **change}

    reply = api.post("/api/v1/send", json=request)

    assert reply.status_code == 400
    assert complaint in reply.json()["Error"]
    assert capture_server.store.counts() == (0, 0)


def test_message_over_the_size_limit_is_413_and_not_stored(
    api: httpx.Client, capture_server: CaptureServer
) -> None:
    # The fixture's SMTP limit is 1 MiB; this attachment alone is bigger once encoded.
    big = {"Content": base64.b64encode(b"x" * (900 * 1024)).decode(), "Filename": "big.bin"}
    request = {**full_request(), "Attachments": [big]}

    reply = api.post("/api/v1/send", json=request)

    assert reply.status_code == 413
    assert "limit of 1048576 bytes" in reply.json()["Error"]
    assert capture_server.store.counts() == (0, 0)


def test_body_far_over_the_limit_is_refused_before_it_is_read(
    api: httpx.Client, capture_server: CaptureServer
) -> None:
    body = b'{"Text": "' + b"x" * (4 * 1024 * 1024) + b'"}'

    reply = api.post("/api/v1/send", content=body, headers={"Content-Type": "application/json"})

    assert reply.status_code == 413
    assert "request body is larger than the limit" in reply.json()["Error"]
    assert capture_server.store.counts() == (0, 0)


def test_send_from_another_site_is_refused(
    api: httpx.Client, capture_server: CaptureServer
) -> None:
    reply = api.post("/api/v1/send", json=full_request(), headers={"Origin": "http://evil.example"})

    assert reply.status_code == 403
    assert capture_server.store.counts() == (0, 0)
