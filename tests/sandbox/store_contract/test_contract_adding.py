"""What ``add`` promises: exact bytes, a full summary, and an ID only once the mail is durable."""

from __future__ import annotations

import string
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from contract_mail import WITHIN, add, found, message, page_ids, subjects

from mail_sandbox.store import Address, Summary

RAW_SAMPLES = {
    "CRLF": b"Subject: crlf\r\n\r\nline one\r\nline two\r\n",
    "bare LF": b"Subject: lf\n\nline one\nline two\n",
    "8-bit": "Subject: Grüße\r\n\r\nK\u00f6ln \u2713\r\n".encode() + b"\xff\xfe latin \xe9",
    "NUL bytes": b"Subject: nul\r\n\r\n\x00body\x00\r\n\x00",
    "no final newline": b"Subject: end\r\n\r\nno newline",
    "empty": b"",
    "every byte": bytes(range(256)) * 4,
}


@pytest.mark.parametrize("raw", RAW_SAMPLES.values(), ids=RAW_SAMPLES.keys())
def test_raw_bytes_come_back_exactly(store, raw):
    message_id = add(store, raw)

    assert store.raw(message_id) == raw
    assert store.summary(message_id).size == len(raw)


def report() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "=?utf-8?q?J=C3=B6rg?= <joerg@example.de>"
    msg["To"] = "Bob <bob@example.org>"
    msg["Cc"] = "carol@example.net"
    msg["Reply-To"] = "replies@example.com"
    msg["Subject"] = "Quarterly report"
    msg["Date"] = "Tue, 25 Nov 2025 09:34:18 +0100"
    msg["Message-ID"] = "<report-1@example.com>"
    msg["X-Tags"] = "urgent, Finance"
    msg.set_content("The numbers are up.")
    msg.add_alternative("<p>The numbers are up. <img src='cid:logo'></p>", subtype="html")
    msg.get_payload()[1].add_related(b"GIF89a", "image", "gif", cid="<logo>")
    msg.add_attachment(b"1,2", maintype="text", subtype="csv", filename="n.csv")
    return msg


def test_summary_holds_what_the_list_shows(store):
    raw = report().as_bytes()
    now = datetime.now(UTC)
    # The received time is kept to the millisecond at least.
    before = now.replace(microsecond=now.microsecond // 1000 * 1000)
    message_id = store.add(
        raw, "bounce@example.de", ["bob@example.org", "secret@example.com"]
    ).result(timeout=WITHIN)
    after = datetime.now(UTC)
    listed = store.list().messages[0]

    assert before <= listed.created <= after
    assert listed == Summary(
        id=message_id,
        message_id="report-1@example.com",
        read=False,
        sender=Address("Jörg", "joerg@example.de"),
        to=[Address("Bob", "bob@example.org")],
        cc=[Address("", "carol@example.net")],
        bcc=[Address("", "secret@example.com")],
        reply_to=[Address("", "replies@example.com")],
        return_path="bounce@example.de",
        subject="Quarterly report",
        created=listed.created,
        date=datetime(2025, 11, 25, 8, 34, 18, tzinfo=UTC),
        size=len(raw),
        attachments=1,
        inline=1,
        snippet="The numbers are up.",
        tags=["Finance", "urgent"],
    )
    assert store.summary(message_id) == listed


MALFORMED = {
    "empty": (b"", ""),
    "no headers": (b"only a body\r\n", ""),
    "NUL in subject": (b"Subject: a\x00b\r\n\r\nx", "a\x00b"),
    "invalid UTF-8": (b"Subject: caf\xe9\r\nFrom: \xff\xfe\r\n\r\n\xff", "caf\ufffd"),
    "bad encoded-word": (b"Subject: =?utf-8?b?***?= =?nope?q?ok?=\r\n\r\n", "ok"),
    "broken boundary": (
        b"Subject: parts\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--y\r\nhi\r\n",
        "parts",
    ),
    "bad base64": (b"Subject: b64\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@", "b64"),
}


def test_malformed_messages_are_stored_and_listed_with_what_could_be_read(store):
    stored = {name: add(store, raw) for name, (raw, _subject) in MALFORMED.items()}
    listed = {s.id: s for s in store.list().messages}

    for name, (raw, subject) in MALFORMED.items():
        assert listed[stored[name]].subject == subject, name
        assert store.raw(stored[name]) == raw, name
    assert store.counts() == (len(MALFORMED), len(MALFORMED))


def test_ids_are_unique_url_safe_strings(store):
    futures = [store.add(message(f"m{i}"), "a@example.com", ["b@example.com"]) for i in range(50)]
    given = [f.result(timeout=WITHIN) for f in futures]

    assert len(set(given)) == 50
    allowed = set(string.ascii_letters + string.digits + "-_")
    assert all(given_id and set(given_id) <= allowed for given_id in given)


def test_an_acknowledged_message_is_found_everywhere_at_once(store):
    for i in range(20):
        message_id = add(store, message(f"arrival{i:02d} now", body=f"body{i:02d} text"))

        assert store.summary(message_id).subject == f"arrival{i:02d} now"
        assert store.raw(message_id) == message(f"arrival{i:02d} now", body=f"body{i:02d} text")
        assert store.latest_id() == message_id
        assert page_ids(store.list(limit=1)) == [message_id]
        assert found(store, f"arrival{i:02d}") == [message_id]
        assert found(store, f"body{i:02d}") == [message_id]
        assert store.counts() == (i + 1, i + 1)


def test_an_acknowledged_message_is_there_for_another_store_on_the_mailbox(persistent):
    first = persistent()
    message_id = add(first, message("durable", body="kept on disk"))

    # The first store is still open: the message was committed before its ID was given out.
    second = persistent()
    assert second.raw(message_id) == message("durable", body="kept on disk")
    assert second.summary(message_id).subject == "durable"
    assert page_ids(second.list()) == [message_id]
    assert found(second, "disk") == [message_id]


def test_reopening_keeps_the_mailbox(persistent):
    store = persistent()
    first = add(store, message("kept one", body="searchable body"))
    second = add(store, message("kept two"))
    store.set_read([first], True)

    store = persistent.reopen(store)
    assert subjects(store) == ["kept two", "kept one"]
    assert store.summary(first).read is True
    assert store.raw(second) == message("kept two")
    assert found(store, "searchable") == [first]
    third = add(store, message("kept three"))
    assert page_ids(store.list()) == [third, second, first]


def test_close_answers_every_queued_message(store):
    futures = [store.add(message(f"m{i}"), "a@x.test", ["b@x.test"]) for i in range(200)]
    store.close()

    assert all(f.done() and f.exception() is None for f in futures)
    assert len({f.result() for f in futures}) == 200


def test_close_commits_everything_queued(persistent):
    store = persistent()
    futures = [store.add(message(f"m{i}"), "a@x.test", ["b@x.test"]) for i in range(200)]

    store = persistent.reopen(store)
    assert store.counts() == (200, 200)
    assert subjects(store)[:2] == ["m199", "m198"]
    assert {s.id for s in store.list(limit=1000).messages} == {f.result() for f in futures}
