"""What the store reads from each message: summary fields, body text, and malformed mail."""

from __future__ import annotations

from datetime import UTC, datetime
from email.header import Header
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mail_sandbox.store.contract import Address
from mail_sandbox.store.parse import SNIPPET_LENGTH, summarize


def rich_message() -> bytes:
    """Text and HTML alternatives, an inline image the HTML shows, and a CSV attachment."""
    msg = EmailMessage()
    msg["From"] = '"Alice Smith" <alice@example.com>'
    msg["To"] = "Bob <bob@example.org>, carol@example.net"
    msg["Cc"] = "dave@example.com"
    msg["Reply-To"] = "replies@example.com"
    msg["Subject"] = "Quarterly report"
    msg["Date"] = "Tue, 25 Nov 2025 09:34:18 +0100"
    msg["Message-ID"] = "<report-1@example.com>"
    msg["X-Tags"] = "finance, Urgent"
    msg.set_content("Hello Bob,\n\n  the numbers   are up.\n")
    msg.add_alternative(
        "<html><body><p>Hello <b>Bob</b></p><img src='cid:logo'></body></html>", subtype="html"
    )
    msg.get_payload()[1].add_related(b"\x89PNG\r\n\x1a\n", "image", "png", cid="<logo>")
    msg.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="numbers.csv")
    return msg.as_bytes()


def test_multipart_message_summary_has_every_field():
    parsed = summarize(
        rich_message(), "bounces@example.com", ["bob@example.org", "carol@example.net"]
    )

    assert parsed.message_id == "report-1@example.com"
    assert parsed.sender == Address("Alice Smith", "alice@example.com")
    assert parsed.to == [Address("Bob", "bob@example.org"), Address("", "carol@example.net")]
    assert parsed.cc == [Address("", "dave@example.com")]
    assert parsed.reply_to == [Address("", "replies@example.com")]
    assert parsed.return_path == "bounces@example.com"
    assert parsed.subject == "Quarterly report"
    assert parsed.date == datetime(2025, 11, 25, 8, 34, 18, tzinfo=UTC)
    assert parsed.size == len(rich_message())
    assert parsed.attachments == 1
    assert parsed.inline == 1
    assert parsed.snippet == "Hello Bob, the numbers are up."
    assert "the numbers   are up" in parsed.text
    assert "<b>" not in parsed.text
    assert parsed.tags == ["finance", "Urgent"]


def test_html_only_message_indexes_visible_text_without_markup_or_scripts():
    raw = (
        b"Subject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><title>Title</title><style>p {color: red}</style></head>"
        b"<body><p>Reset&nbsp;your <a href='https://x.test/r'>password</a> &amp; more</p>"
        b"<script>alert('x')</script></body></html>"
    )
    parsed = summarize(raw, "", [])

    assert parsed.snippet == "Reset your password & more"
    assert "alert" not in parsed.text
    assert "color" not in parsed.text
    assert "<p>" not in parsed.text


def test_snippet_collapses_whitespace_and_stops_near_250_characters():
    body = "word \r\n\t " * 200
    parsed = summarize(b"Subject: long\r\n\r\n" + body.encode(), "", [])

    assert parsed.snippet.startswith("word word word")
    assert "  " not in parsed.snippet
    assert len(parsed.snippet) <= SNIPPET_LENGTH + 3
    assert parsed.snippet.endswith("...")


def test_encoded_word_subject_and_display_names_are_decoded():
    name = Header("Jörg Müller", "utf-8").encode()
    subject = Header("Grüße aus Köln ✓", "utf-8").encode()
    raw = (
        f"From: {name} <joerg@example.de>\r\n"
        f'To: "=?iso-8859-1?q?=C9lodie?=" <elodie@example.fr>\r\n'
        f"Subject: {subject}\r\n\r\nHallo\r\n"
    ).encode("ascii")
    parsed = summarize(raw, "", [])

    assert parsed.sender == Address("Jörg Müller", "joerg@example.de")
    assert parsed.to == [Address("Élodie", "elodie@example.fr")]
    assert parsed.subject == "Grüße aus Köln ✓"


def test_smtputf8_headers_are_read_as_utf8():
    raw = (
        "From: Jörg <jörg@bücher.example>\r\n"
        "To: 山田 <yamada@例え.jp>\r\n"
        "Subject: Grüße =?utf-8?q?aus_K=C3=B6ln?=\r\n\r\nHallo\r\n"
    ).encode()
    parsed = summarize(raw, "jörg@bücher.example", ["yamada@例え.jp"])

    assert parsed.sender == Address("Jörg", "jörg@bücher.example")
    assert parsed.to == [Address("山田", "yamada@例え.jp")]
    assert parsed.subject == "Grüße aus Köln"
    assert parsed.bcc == []


def test_bcc_is_the_envelope_recipients_missing_from_to_and_cc():
    raw = b"To: Bob <BOB@example.org>\r\nCc: carol@example.net\r\nSubject: x\r\n\r\nx"
    envelope = ["bob@example.org", "carol@example.net", "hidden@example.com", "HIDDEN@example.com"]
    parsed = summarize(raw, "a@example.com", envelope)

    assert parsed.bcc == [Address("", "hidden@example.com")]


def test_tags_are_cleaned_and_deduplicated():
    raw = b"X-Tags: urgent, a!b<c>,  two   words , URGENT,,\r\nX-Tags: extra.tag_1\r\n\r\n"
    assert summarize(raw, "", []).tags == ["urgent", "abc", "two words", "extra.tag_1"]


def test_date_without_zone_is_read_as_utc_and_bad_date_as_none():
    no_zone = summarize(b"Date: Tue, 25 Nov 2025 09:34:18 -0000\r\n\r\n", "", [])
    bad = summarize(b"Date: someday soon\r\n\r\n", "", [])

    assert no_zone.date == datetime(2025, 11, 25, 9, 34, 18, tzinfo=UTC)
    assert bad.date is None


def test_counts_attached_message_as_attachment_and_ignores_its_text():
    inner = b"Subject: inner\r\n\r\ninner secret text\r\n"
    raw = (
        b'Subject: fwd\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\nContent-Disposition: inline\r\n\r\nsee attached\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"--b--\r\n"
    )
    parsed = summarize(raw, "", [])

    assert parsed.attachments == 1
    assert parsed.inline == 0
    assert "see attached" in parsed.text
    assert "inner secret" not in parsed.text


def nested(depth: int) -> bytes:
    """A message whose text part sits ``depth`` multiparts deep."""
    layers = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        for i in range(depth)
    )
    return b"Subject: deep\r\n" + layers + b"Content-Type: text/plain\r\n\r\ndeep text\r\n"


MALFORMED = {
    "empty": (b"", "", ""),
    "no headers": (b"just a body line\r\n", "", "just a body line"),
    "NUL bytes": (b"Subject: a\x00b\r\n\r\nbody\x00text", "a\x00b", "body\x00text"),
    "invalid UTF-8 header": (b"Subject: caf\xe9 ok\r\n\r\nbody", "caf\ufffd ok", "body"),
    "bad encoded-words": (b"Subject: =?utf-8?b?!!!?= =?x-unknown?q?abc?=\r\n\r\nb", "abc", "b"),
    "broken boundary": (
        b'Subject: broken\r\nContent-Type: multipart/mixed; boundary="nope"\r\n\r\n'
        b"--other\r\nContent-Type: text/plain\r\n\r\nhello there\r\n--other--\r\n",
        "broken",
        "hello there",
    ),
    "bad base64": (
        b"Subject: b64\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not*base64@@@\r\n",
        "b64",
        "",
    ),
    "unknown charset": (
        b'Subject: cs\r\nContent-Type: text/plain; charset="x-nope"\r\n\r\nK\xc3\xb6ln\r\n',
        "cs",
        "Köln",
    ),
    "50 levels of nesting": (nested(50), "deep", "deep text"),
    "1000 levels of nesting": (nested(1000), "deep", ""),
    "garbage addresses": (b'From:\r\nTo: <<<>>>, "open\r\nSubject: s\r\n\r\n', "s", ""),
}


@pytest.mark.parametrize(("raw", "subject", "text"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_input_yields_what_could_be_read(raw, subject, text):
    parsed = summarize(raw, "sender@example.com", ["rcpt@example.com"])

    assert parsed.subject == subject
    assert text in parsed.text
    assert parsed.size == len(raw)
    assert parsed.bcc == [Address("", "rcpt@example.com")]


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(raw):
    assert summarize(raw, "a@example.com", ["b@example.com"]).size == len(raw)


@settings(
    derandomize=True,
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.data())
def test_damaged_real_messages_never_raise(data):
    raw = rich_message()
    start = data.draw(st.integers(0, len(raw)))
    end = data.draw(st.integers(start, min(len(raw), start + 200)))
    damaged = raw[:start] + data.draw(st.binary(max_size=50)) + raw[end:]
    assert summarize(damaged, "", []).size == len(damaged)
