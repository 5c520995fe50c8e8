"""The full view of one message: Mailpit PartIDs, bodies, parts, checksums, broken mail."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mail_sandbox.mime import MessageView, get_part, parse_message
from mail_sandbox.store.parse import summarize

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
PDF = b"%PDF-1.4\n" + b"\x00\xff" * 100


def rich_message() -> bytes:
    """mixed[ alternative[ text, related[ html, image ] ], pdf, attached email ]."""
    message = EmailMessage()
    message["From"] = "Alice <alice@example.com>"
    message["To"] = "bob@example.com"
    message["Subject"] = "Report"
    message["Date"] = "Tue, 03 Mar 2026 10:15:30 +0200"
    message.set_content("Plain body\n")
    message.add_alternative('<p>HTML body <img src="cid:logo@example.com"></p>\n', subtype="html")
    html_part = message.get_payload()[1]
    html_part.add_related(PNG, "image", "png", cid="<logo@example.com>", disposition="inline")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="report.pdf")
    attached = EmailMessage()
    attached["Subject"] = "Forwarded"
    attached.set_content("inner text\n")
    message.add_attachment(attached)
    return message.as_bytes()


def test_parts_are_numbered_as_mailpit_numbers_them() -> None:
    view = parse_message(rich_message())

    assert [part.part_id for part in view.attachments] == ["2", "3"]
    assert [part.part_id for part in view.inline] == ["1.2.2"]


def test_attachments_and_inline_parts_are_described() -> None:
    view = parse_message(rich_message())

    pdf, forwarded = view.attachments
    assert (pdf.filename, pdf.content_type, pdf.content_id, pdf.size) == (
        "report.pdf",
        "application/pdf",
        "",
        len(PDF),
    )
    assert forwarded.content_type == "message/rfc822"
    (logo,) = view.inline
    assert (logo.content_type, logo.content_id, logo.size) == (
        "image/png",
        "logo@example.com",
        len(PNG),
    )


def test_checksums_are_of_the_decoded_bytes() -> None:
    (logo,) = parse_message(rich_message()).inline

    assert logo.md5 == hashlib.md5(PNG).hexdigest()
    assert logo.sha1 == hashlib.sha1(PNG).hexdigest()
    assert logo.sha256 == hashlib.sha256(PNG).hexdigest()


def test_get_part_returns_the_decoded_part_by_part_id() -> None:
    raw = rich_message()

    assert get_part(raw, "2") == ("application/pdf", "report.pdf", PDF)
    assert get_part(raw, "1.2.2") == ("image/png", "", PNG)
    content_type, _, data = get_part(raw, "1.1") or ("", "", b"")
    assert (content_type, data) == ("text/plain; charset=utf-8", b"Plain body\n")
    _, _, forwarded = get_part(raw, "3") or ("", "", b"")
    assert b"Subject: Forwarded" in forwarded
    assert b"inner text" in forwarded


@pytest.mark.parametrize("part_id", ["0", "1", "1.2", "4", "9.9", "", "x", "../1"])
def test_get_part_is_none_for_ids_that_name_no_leaf(part_id: str) -> None:
    assert get_part(rich_message(), part_id) is None


def test_text_and_html_bodies_are_extracted() -> None:
    view = parse_message(rich_message())

    assert view.text == "Plain body\n"
    assert view.html == '<p>HTML body <img src="cid:logo@example.com"></p>\n'


def test_alternative_text_is_the_first_plain_part_only() -> None:
    raw = (
        b"Content-Type: multipart/alternative; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--b--\r\n"
    )

    assert parse_message(raw).text == "first"


def test_mixed_text_parts_are_joined_in_document_order() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\none\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\ntwo\r\n--b--\r\n"
    )

    assert parse_message(raw).text == "one\n--\ntwo"


def test_single_part_attachment_is_part_zero() -> None:
    raw = (
        b"Subject: just a file\r\nContent-Type: application/pdf; name=a.pdf\r\n"
        b"Content-Disposition: attachment; filename=a.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n"
    )

    view = parse_message(raw)

    assert [(part.part_id, part.filename) for part in view.attachments] == [("0", "a.pdf")]
    assert get_part(raw, "0") == ("application/pdf", "a.pdf", b"%PDF-1.4")


def test_text_is_decoded_from_its_charset_and_transfer_encoding() -> None:
    raw = (
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 cr=E8me\r\n"
    )

    assert parse_message(raw).text == "café crème\r\n"


def test_headers_are_decoded_grouped_and_sorted() -> None:
    raw = (
        b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
        b"Received: from a\r\nReceived: from b\r\n"
        b"X-Custom: one\r\n\tfolded\r\n"
        b"From: x@example.com\r\n\r\nbody\r\n"
    )

    headers = parse_message(raw).headers

    assert list(headers) == sorted(headers)
    assert headers["Received"] == ["from a", "from b"]
    assert headers["Subject"] == ["Grüße"]
    assert headers["X-Custom"] == ["one folded"]


def test_date_is_converted_to_utc() -> None:
    view = parse_message(rich_message())

    assert view.date == datetime(2026, 3, 3, 8, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "date_header", [b"", b"Date: yesterday-ish\r\n", b"Date: Mon, 99 Foo 2026 99:99:99 +9999\r\n"]
)
def test_missing_or_unreadable_date_is_none(date_header: bytes) -> None:
    assert parse_message(date_header + b"Subject: x\r\n\r\nbody").date is None


def nested(depth: int) -> bytes:
    """A message nested ``depth`` multiparts deep with a text part at the bottom."""
    opening = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (level, level)
        for level in range(depth)
    )
    return opening + b"Content-Type: text/plain\r\n\r\ndeep down\r\n"


MALFORMED = {
    "empty": b"",
    "nul bytes": b"Subject: a\x00b\r\n\r\nbody\x00with\x00nuls",
    "only nuls": b"\x00" * 64,
    "no closing boundary": (
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n"
        b"--x\r\nContent-Type: text/plain\r\n\r\nunfinished"
    ),
    "boundary never used": (
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\njust text, no parts\r\n"
    ),
    "multipart without boundary": b"Content-Type: multipart/mixed\r\n\r\nbody text\r\n",
    "bad base64": (
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"
        b"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=f.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!@@@not*base64===\r\n--x--\r\n"
    ),
    "invalid utf-8 headers": (
        b"Subject: caf\xc3 \xff\xfe\r\nFrom: \xff <x@\xfe>\r\n"
        b"Content-Disposition: attachment; filename=\xff.txt\r\n\r\nbody"
    ),
    "unknown charset": b"Content-Type: text/plain; charset=no-such-charset\r\n\r\nbody \xe9",
    "unknown transfer encoding": (
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: x-unheard-of\r\n\r\nbody"
    ),
    "broken content type": b"Content-Type: ;;;===/\r\n\r\nbody",
    "header without body separator": b"Subject: nothing else",
    "binary garbage": bytes(range(256)) * 8,
    "50 levels of nesting": nested(50),
    "5000 levels of nesting": nested(5000),
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_mail_never_raises(raw: bytes) -> None:
    view = parse_message(raw)

    assert isinstance(view, MessageView)
    for part in [*view.attachments, *view.inline]:
        assert get_part(raw, part.part_id) is not None


def test_fifty_levels_deep_the_text_is_still_found() -> None:
    assert parse_message(nested(50)).text.rstrip() == "deep down"


def test_undecodable_header_bytes_become_replacement_characters() -> None:
    headers = parse_message(MALFORMED["invalid utf-8 headers"]).headers

    assert "\ufffd" in headers["Subject"][0]
    # Output must be encodable: no lone surrogates left behind.
    for values in headers.values():
        for value in values:
            value.encode("utf-8")


def test_bad_base64_still_lists_the_attachment() -> None:
    view = parse_message(MALFORMED["bad base64"])

    assert [part.filename for part in view.attachments] == ["f.pdf"]


def test_unknown_charset_falls_back_to_utf8_with_replacements() -> None:
    assert parse_message(MALFORMED["unknown charset"]).text == "body \ufffd"


@settings(max_examples=300, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    view = parse_message(raw)
    for part in [*view.attachments, *view.inline]:
        get_part(raw, part.part_id)


@settings(max_examples=200, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_corrupted_real_messages_never_raise(data: st.DataObject) -> None:
    raw = bytearray(rich_message())
    for _ in range(data.draw(st.integers(1, 20))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))

    view = parse_message(bytes(raw[:cut]))
    for part in [*view.attachments, *view.inline]:
        get_part(bytes(raw[:cut]), part.part_id)


def multipart(subtype: str, *parts: bytes, boundary: str = "") -> bytes:
    """A multipart entity of ``parts`` (each headers, blank line, body)."""
    boundary = boundary or f"{subtype}-{len(parts)}-{sum(map(len, parts))}"
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    return (
        f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()
        + body
        + b"--"
        + boundary.encode()
        + b"--"
    )


def leaf(headers: str, body: bytes = b"data") -> bytes:
    return headers.replace("\n", "\r\n").encode() + b"\r\n\r\n" + body


TEXT = leaf("Content-Type: text/plain", b"hello")
HTML = leaf("Content-Type: text/html", b'<img src="cid:a@x">')
IMAGE_WITH_CID = leaf("Content-Type: image/png\nContent-ID: <a@x>", PNG)
IMAGE_WITHOUT_CID = leaf("Content-Type: image/png", PNG)
IMAGE_SAID_INLINE = leaf("Content-Type: image/png\nContent-Disposition: inline", PNG)
UNNAMED_DOWNLOAD = leaf("Content-Type: application/octet-stream")
UNNAMED_ATTACHMENT = leaf("Content-Type: application/pdf\nContent-Disposition: attachment")
FORWARDED = leaf(
    "Content-Type: message/rfc822",
    multipart("mixed", TEXT, leaf("Content-Type: application/pdf; name=inner.pdf")),
)


def deep(levels: int, bottom: bytes) -> bytes:
    for level in range(levels):
        bottom = multipart("mixed", bottom, boundary=f"level{level}")
    return bottom


# (attachments, inline) the list must count and the view must show for each message.
LIST_AND_VIEW = {
    "the rich message": (rich_message(), (2, 1)),
    "inline images with and without Content-ID": (
        multipart("related", HTML, IMAGE_WITH_CID, IMAGE_WITHOUT_CID, IMAGE_SAID_INLINE),
        (1, 2),
    ),
    "attachments without a file name": (
        multipart("mixed", TEXT, UNNAMED_DOWNLOAD, UNNAMED_ATTACHMENT),
        (2, 0),
    ),
    "an attached message, whose own parts are its own": (
        multipart("mixed", TEXT, FORWARDED),
        (1, 0),
    ),
    "nested multiparts": (
        multipart(
            "mixed",
            multipart("alternative", TEXT, multipart("related", HTML, IMAGE_WITH_CID)),
            multipart("mixed", UNNAMED_ATTACHMENT, multipart("mixed", IMAGE_WITHOUT_CID)),
        ),
        (2, 1),
    ),
    "an empty Content-ID": (
        multipart("related", HTML, leaf("Content-Type: image/png\nContent-ID: <>", PNG)),
        (1, 0),
    ),
    "a text part named only by its type": (
        multipart(
            "mixed",
            TEXT,
            leaf('Content-Type: text/plain; name=n.txt\nContent-Disposition: inline; filename=""'),
        ),
        (0, 1),
    ),
    "a damaged top-level type": (
        b"Content-Type: multipart/mixed\xfd boundary=b\r\n\r\n--b\r\n" + UNNAMED_ATTACHMENT,
        (1, 0),
    ),
    "an attachment nested past what is unpacked": (deep(150, UNNAMED_ATTACHMENT), (0, 0)),
    "an attachment nested 50 deep": (deep(50, UNNAMED_ATTACHMENT), (1, 0)),
    "no closing boundary": (MALFORMED["no closing boundary"], (0, 0)),
    "bad base64": (MALFORMED["bad base64"], (1, 0)),
}


@pytest.mark.parametrize(("raw", "counts"), LIST_AND_VIEW.values(), ids=LIST_AND_VIEW.keys())
def test_the_list_counts_the_attachments_and_inline_parts_the_view_shows(
    raw: bytes, counts: tuple[int, int]
) -> None:
    listed = summarize(raw, "", [])
    view = parse_message(raw)

    assert (listed.attachments, listed.inline) == counts
    assert (len(view.attachments), len(view.inline)) == counts


@settings(max_examples=200, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([raw for raw, _ in LIST_AND_VIEW.values()]), st.data())
def test_damaged_messages_are_counted_as_they_are_shown(raw: bytes, data: st.DataObject) -> None:
    damaged = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 10))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    damaged = damaged[: data.draw(st.integers(0, len(damaged)))]

    listed = summarize(bytes(damaged), "", [])
    view = parse_message(bytes(damaged))

    assert (listed.attachments, listed.inline) == (len(view.attachments), len(view.inline))
