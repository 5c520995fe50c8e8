"""Hostile messages (many parts, a huge folded header, thousands of recipients) are shown
capped in the list and the message view, while the raw bytes stay downloadable whole."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from mail_sandbox.message_limits import MAX_ADDRESSES, MAX_HEADER_VALUE, MAX_PARTS, TRUNCATED
from mail_sandbox.store import MessageStore


def get(base: str, path: str) -> bytes:
    with urllib.request.urlopen(base + path, timeout=60) as response:
        assert response.status == 200
        return response.read()


def add(store: MessageStore, raw: bytes, recipients: list[str] | None = None) -> str:
    to = recipients or ["dev@example.com"]
    return store.add(raw, "app@example.com", to).result(timeout=30)


def many_parts(count: int) -> bytes:
    lines = [
        "From: app@example.com\r\nTo: dev@example.com\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
        "Content-Type: text/plain\r\n\r\nthe text\r\n"
    ]
    lines += [
        f"--B\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Disposition: attachment; filename=f{i}.bin\r\n\r\nx{i}\r\n"
        for i in range(count)
    ]
    lines.append("--B--\r\n")
    return "".join(lines).encode()


def test_a_message_of_many_parts_lists_the_first_ones_and_keeps_its_raw_bytes(
    web_server: Any,
) -> None:
    raw = many_parts(20_000)
    message_id = add(web_server.store, raw)
    view = json.loads(get(web_server.url, f"/api/v1/message/{message_id}"))
    assert view["Text"] == "the text"
    assert len(view["Attachments"]) == MAX_PARTS - 1
    assert view["Attachments"][0]["FileName"] == "f0.bin"
    listed = json.loads(get(web_server.url, "/api/v1/messages"))["messages"][0]
    assert listed["Attachments"] == MAX_PARTS - 1
    assert get(web_server.url, f"/api/v1/message/{message_id}/raw") == raw


def test_a_huge_folded_header_is_cut_in_the_view_and_kept_in_the_raw(web_server: Any) -> None:
    folded = "".join(f" word{i} and some more text\r\n" for i in range(200_000))  # ~5.6 MB
    raw = (
        "From: app@example.com\r\nTo: dev@example.com\r\nSubject: big\r\n"
        f"X-Big: start\r\n{folded}\r\nthe body\r\n"
    ).encode()
    message_id = add(web_server.store, raw)
    view = json.loads(get(web_server.url, f"/api/v1/message/{message_id}"))
    assert view["Subject"] == "big"
    assert view["Text"].strip() == "the body"
    headers = json.loads(get(web_server.url, f"/api/v1/message/{message_id}/headers"))
    (big,) = headers["X-Big"]
    assert big.startswith("start word0 and some more text word1")
    assert big.endswith(TRUNCATED)
    assert len(big) == MAX_HEADER_VALUE + len(TRUNCATED)
    assert get(web_server.url, f"/api/v1/message/{message_id}/raw") == raw


def test_thousands_of_envelope_recipients_are_capped_in_list_and_view(web_server: Any) -> None:
    raw = b"From: app@example.com\r\nTo: dev@example.com\r\nSubject: crowd\r\n\r\nhi\r\n"
    recipients = ["dev@example.com"] + [f"r{i}@example.com" for i in range(5_000)]
    message_id = add(web_server.store, raw, recipients)
    listed = json.loads(get(web_server.url, "/api/v1/messages?limit=1"))["messages"][0]
    assert len(listed["Bcc"]) == MAX_ADDRESSES
    assert listed["Bcc"][0]["Address"] == "r0@example.com"
    view = json.loads(get(web_server.url, f"/api/v1/message/{message_id}"))
    assert len(view["Bcc"]) == MAX_ADDRESSES
    assert get(web_server.url, f"/api/v1/message/{message_id}/raw") == raw
