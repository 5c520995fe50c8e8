"""Mailpit's send JSON becomes a real MIME message that reads back as it was asked for."""

from __future__ import annotations

import base64
from email import message_from_bytes, policy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mail_sandbox.compose import ComposeError, build_message
from mail_sandbox.mime import get_part, parse_message
from mail_sandbox.store.parse import summarize

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
REPORT = b"Quarterly numbers: 1, 2, 3\n"


def b64(data: bytes) -> str:
    """Base64 as a Mailpit client sends it."""
    return base64.b64encode(data).decode("ascii")


def request(**fields: Any) -> dict[str, Any]:
    """A minimal valid send request, with ``fields`` added or replaced."""
    return {
        "From": {"Email": "app@example.com", "Name": "The App"},
        "To": [{"Email": "ann@example.com", "Name": "Ann"}],
        "Subject": "Hello",
        "Text": "Hello Ann",
        **fields,
    }


def test_full_request_round_trips_through_the_parsers() -> None:
    raw, sender, recipients = build_message(
        request(
            From={"Email": "app@example.com", "Name": "Äpp, Inc."},
            Cc=[{"Email": "cid@example.com", "Name": "Cid"}],
            Bcc=["hidden@example.com", {"Email": "also-hidden@example.com"}],
            ReplyTo=[{"Email": "support@example.com", "Name": "Support"}],
            Subject="Grüße from the API",
            Text="Plain body https://app.example/confirm/1",
            HTML='<p>HTML body <img src="cid:logo@app"></p>',
            Headers={"X-Campaign": "spring", "References": "<a@example.com>"},
            Tags=["Signup", "release 2.0"],
            Attachments=[
                {"Content": b64(PNG), "Filename": "logo.png", "ContentID": "logo@app"},
                {
                    "Content": b64(REPORT),
                    "Filename": "report.txt",
                    "ContentType": "text/plain; charset=utf-8",
                },
            ],
        )
    )

    assert sender == "app@example.com"
    assert recipients == [
        "ann@example.com",
        "cid@example.com",
        "hidden@example.com",
        "also-hidden@example.com",
    ]
    summary = summarize(raw, sender, recipients)
    assert summary.sender.name == "Äpp, Inc."
    assert summary.sender.address == "app@example.com"
    assert [(a.name, a.address) for a in summary.to] == [("Ann", "ann@example.com")]
    assert [(a.name, a.address) for a in summary.cc] == [("Cid", "cid@example.com")]
    assert [a.address for a in summary.bcc] == ["hidden@example.com", "also-hidden@example.com"]
    assert [(a.name, a.address) for a in summary.reply_to] == [("Support", "support@example.com")]
    assert summary.subject == "Grüße from the API"
    assert summary.tags == ["Signup", "release 2.0"]
    assert summary.message_id.endswith("@example.com")
    assert summary.date is not None
    assert (summary.attachments, summary.inline) == (1, 1)

    view = parse_message(raw)
    assert view.text.strip() == "Plain body https://app.example/confirm/1"
    assert view.html.strip() == '<p>HTML body <img src="cid:logo@app"></p>'
    assert view.headers["X-Campaign"] == ["spring"]
    assert view.headers["References"] == ["<a@example.com>"]
    assert "Bcc" not in view.headers
    assert b"hidden@example.com" not in raw

    [inline] = view.inline
    assert (inline.filename, inline.content_type, inline.content_id) == (
        "logo.png",
        "image/png",
        "logo@app",
    )
    assert get_part(raw, inline.part_id) == ("image/png", "logo.png", PNG)
    [attachment] = view.attachments
    assert (attachment.filename, attachment.size) == ("report.txt", len(REPORT))
    assert get_part(raw, attachment.part_id)[2] == REPORT


def test_message_is_crlf_and_structured_as_mail_clients_expect() -> None:
    raw, _, _ = build_message(
        request(
            HTML='<img src="cid:logo">',
            Attachments=[
                {"Content": b64(PNG), "Filename": "logo.png", "ContentID": "<logo>"},
                {"Content": b64(REPORT), "Filename": "report.txt"},
            ],
        )
    )

    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")
    message = message_from_bytes(raw, policy=policy.default)
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    text, related = alternative.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, image = related.iter_parts()
    assert html.get_content_type() == "text/html"
    assert image["Content-ID"] == "<logo>"
    assert attachment.get_filename() == "report.txt"
    assert attachment.get_content_type() == "text/plain"  # guessed from the name
    assert message["MIME-Version"] == "1.0"


def test_html_only_and_empty_bodies() -> None:
    raw, _, _ = build_message(request(Text="", HTML="<b>only html</b>"))
    message = message_from_bytes(raw, policy=policy.default)
    assert message.get_content_type() == "text/html"
    assert parse_message(raw).html.strip() == "<b>only html</b>"

    raw, _, _ = build_message(request(Text=None, Subject=None))
    view = parse_message(raw)
    assert (view.text.strip(), view.html) == ("", "")
    assert summarize(raw, "", []).subject == ""


def test_data_url_and_wrapped_base64_are_accepted() -> None:
    wrapped = "\n".join(b64(PNG)[i : i + 60] for i in range(0, len(b64(PNG)), 60))
    raw, _, _ = build_message(
        request(
            Attachments=[
                {"Content": "data:image/png;base64," + b64(PNG), "Filename": "a.png"},
                {"Content": wrapped, "Filename": "b.png"},
            ]
        )
    )
    parts = parse_message(raw).attachments
    assert [(p.filename, p.content_type, p.size) for p in parts] == [
        ("a.png", "image/png", len(PNG)),
        ("b.png", "image/png", len(PNG)),
    ]


def test_an_empty_file_is_a_valid_attachment() -> None:
    raw, _, _ = build_message(request(Attachments=[{"Content": "", "Filename": "empty.txt"}]))
    [part] = parse_message(raw).attachments
    assert (part.filename, part.size) == ("empty.txt", 0)


def test_field_names_match_case_insensitively_as_mailpit_reads_them() -> None:
    raw, sender, recipients = build_message(
        {"from": {"email": "a@example.com"}, "to": [{"EMAIL": "b@example.com"}], "subject": "x"}
    )
    assert (sender, recipients) == ("a@example.com", ["b@example.com"])
    assert summarize(raw, sender, recipients).subject == "x"


def test_recipients_are_listed_once_and_bcc_alone_is_enough() -> None:
    _, _, recipients = build_message(
        request(To=[], Cc=[{"Email": "x@example.com"}], Bcc=["x@example.com", "y@example.com"])
    )
    assert recipients == ["x@example.com", "y@example.com"]


def test_tags_set_x_tags_and_headers_may_set_it_without_tags() -> None:
    raw, _, _ = build_message(request(Tags=["a", " ", "b"]))
    assert parse_message(raw).headers["X-Tags"] == ["a, b"]
    raw, _, _ = build_message(request(Headers={"X-Tags": "from-header"}))
    assert summarize(raw, "", []).tags == ["from-header"]


def test_message_id_may_be_given() -> None:
    raw, _, _ = build_message(request(Headers={"Message-ID": "<fixed@example.com>"}))
    assert summarize(raw, "", []).message_id == "fixed@example.com"
    assert parse_message(raw).headers["Message-ID"] == ["<fixed@example.com>"]


def test_international_domain_travels_as_idna() -> None:
    raw, sender, recipients = build_message(
        request(To=[{"Email": "ann@bücher.example"}], From={"Email": "a@example.com"})
    )
    assert recipients == ["ann@xn--bcher-kva.example"]
    assert [a.address for a in summarize(raw, sender, recipients).to] == [
        "ann@xn--bcher-kva.example"
    ]


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ([], "the request body must be a JSON object"),
        ("text", "the request body must be a JSON object"),
        (request(Atachments=[]), "unknown field 'Atachments'"),
        ({"To": [{"Email": "b@example.com"}]}, "From is required"),
        (request(From={"Email": ""}), "From is required"),
        (request(From={"Name": "No Address"}), "From has a Name but no Email"),
        (request(From="app@example.com"), "From must be a JSON object"),
        (request(From={"Email": "not-an-address"}), "invalid From address: not-an-address"),
        (request(From={"Email": 5}), "From Email must be a string"),
        (request(To=[]), "at least one recipient is needed"),
        (request(To=None), "at least one recipient is needed"),
        (request(To={"Email": "b@example.com"}), "To must be a list"),
        (request(To=[{"Email": "b@example.com, c@example.com"}]), "invalid To address"),
        (request(To=[{"Email": "a b@example.com"}]), "invalid To address"),
        (request(To=[{"Email": "b@"}]), "invalid To address"),
        (request(To=[{"Name": "Nobody"}]), "To has a Name but no Email"),
        (request(To=[{}]), "each To entry needs an Email"),
        (request(To=["b@example.com"]), "each To entry must be a JSON object"),
        (request(Cc=[{"Email": "@example.com"}]), "invalid Cc address"),
        (request(Bcc=["nope"]), "invalid Bcc address: nope"),
        (request(Bcc=[5]), "each Bcc entry must be a JSON object"),
        (request(ReplyTo=[{"Email": "x"}]), "invalid Reply-To address"),
        (request(Subject=["x"]), "Subject must be a string"),
        (request(Text=1), "Text must be a string"),
        (request(HTML=True), "HTML must be a string"),
        (request(Tags="a,b"), "Tags must be a list of strings"),
        (request(Tags=[1]), "Tags must be a list of strings"),
        (request(Headers=["X-A: 1"]), "Headers must be a JSON object"),
        (request(Headers={"X-A": 1}), "header X-A must have a string value"),
        (request(Headers={"Bad Name": "1"}), "header name 'Bad Name' is not valid"),
        (request(Headers={"X-A:": "1"}), "is not valid"),
        (request(Headers={"": "1"}), "is not valid"),
        (request(Headers={"Subject": "other"}), 'cannot overwrite header: "Subject"'),
        (request(Headers={"bcc": "x@example.com"}), 'cannot overwrite header: "bcc"'),
        (request(Headers={"Content-Type": "text/html"}), "cannot overwrite header"),
        (request(Headers={"Content-Transfer-Encoding": "8bit"}), "cannot overwrite header"),
        (request(Tags=["a"], Headers={"X-Tags": "b"}), 'cannot overwrite header: "X-Tags"'),
        (request(Headers={"Resent-Date": "not a date"}), "header Resent-Date is not valid"),
        (request(Attachments={"Content": "aGk="}), "Attachments must be a list"),
        (request(Attachments=[{"Filename": "a.txt"}]), 'attachment "a.txt" needs its Content'),
        (request(Attachments=[{"Content": 5, "Filename": "a"}]), "needs its Content"),
        (
            request(Attachments=[{"Content": "not base64!", "Filename": "a.bin"}]),
            'error decoding base64 attachment "a.bin"',
        ),
        (request(Attachments=[{"Content": "aGk", "Filename": "a.bin"}]), "error decoding base64"),
        (
            request(Attachments=[{"Content": "aGk=", "ContentType": "nonsense"}]),
            "ContentType 'nonsense' is not a media type",
        ),
        (
            request(Attachments=[{"Content": "aGk=", "ContentType": "multipart/mixed"}]),
            "cannot be multipart",
        ),
        (
            request(Attachments=[{"Content": "aGk=", "ContentID": "has space"}]),
            "ContentID 'has space' must be printable ASCII",
        ),
        (request(Attachments=[{"Content": "aGk=", "Size": 2}]), "unknown field 'Size'"),
    ],
)
def test_bad_requests_are_refused_with_a_clear_reason(payload: Any, error: str) -> None:
    with pytest.raises(ComposeError) as caught:
        build_message(payload)
    assert error in caught.value.message


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r", "\u2028", "\x85", "\x00"])
@pytest.mark.parametrize(
    "where",
    [
        "Subject",
        "From Name",
        "From Email",
        "To Name",
        "To Email",
        "Bcc",
        "Tags",
        "header value",
        "header name",
        "Filename",
        "ContentType",
        "ContentID",
    ],
)
def test_line_breaks_in_anything_that_becomes_a_header_are_refused(
    newline: str, where: str
) -> None:
    injected = f"x{newline}Bcc: victim@example.net"
    payloads = {
        "Subject": request(Subject=injected),
        "From Name": request(From={"Email": "a@example.com", "Name": injected}),
        "From Email": request(From={"Email": "a@example.com" + injected}),
        "To Name": request(To=[{"Email": "b@example.com", "Name": injected}]),
        "To Email": request(To=[{"Email": "b@example.com" + injected}]),
        "Bcc": request(Bcc=["b@example.com" + injected]),
        "Tags": request(Tags=[injected]),
        "header value": request(Headers={"X-Note": injected}),
        "header name": request(Headers={injected: "1"}),
        "Filename": request(Attachments=[{"Content": "aGk=", "Filename": injected}]),
        "ContentType": request(Attachments=[{"Content": "aGk=", "ContentType": injected}]),
        "ContentID": request(Attachments=[{"Content": "aGk=", "ContentID": injected}]),
    }
    with pytest.raises(ComposeError):
        build_message(payloads[where])


def test_lone_surrogates_are_refused() -> None:
    # JSON may carry "\\ud800", which no mail encoding can carry.
    for payload in (
        request(Text="\ud800"),
        request(From={"Email": "a@example.com", "Name": "\ud800"}),
        request(Headers={"X-A": "\ud800"}),
        request(Attachments=[{"Content": "aGk=", "Filename": "\ud800.txt"}]),
    ):
        with pytest.raises(ComposeError):
            build_message(payload)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_FIELDS = ["From", "To", "Cc", "Bcc", "ReplyTo", "Subject", "Text", "HTML", "Headers", "Tags"]


@settings(
    max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(replaced=st.dictionaries(st.sampled_from([*_FIELDS, "Attachments"]), _JSON, min_size=1))
def test_any_json_in_any_field_builds_or_is_refused_cleanly(replaced: dict[str, Any]) -> None:
    try:
        raw, sender, recipients = build_message(request(**replaced))
    except ComposeError as exc:
        assert exc.message
        return
    assert summarize(raw, sender, recipients).sender.address == sender


# Text a header can carry: no control characters, line breaks or lone surrogates.
_LINE = st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30)
_BODY = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)
_EMAIL = st.from_regex(r"\A[a-z0-9]{1,8}([.+_-][a-z0-9]{1,8})?@[a-z0-9]{1,10}\.example\Z")
_ADDRESS = st.fixed_dictionaries({"Email": _EMAIL}, optional={"Name": _LINE})


@settings(
    max_examples=100, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    sender=_ADDRESS,
    to=st.lists(_ADDRESS, min_size=1, max_size=3),
    bcc=st.lists(_EMAIL, max_size=2),
    subject=_LINE,
    text=_BODY,
    html=_BODY,
    headers=st.dictionaries(st.from_regex(r"\AX-[A-Za-z]{1,8}\Z"), _LINE, max_size=3),
    tags=st.lists(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9 ._-]{0,10}[A-Za-z0-9]\Z"), max_size=3),
    attachments=st.lists(st.binary(max_size=300), max_size=2),
)
def test_any_well_formed_request_reads_back_as_sent(
    sender: dict[str, str],
    to: list[dict[str, str]],
    bcc: list[str],
    subject: str,
    text: str,
    html: str,
    headers: dict[str, str],
    tags: list[str],
    attachments: list[bytes],
) -> None:
    raw, envelope_from, recipients = build_message(
        {
            "From": sender,
            "To": to,
            "Bcc": bcc,
            "Subject": subject,
            "Text": text,
            "HTML": html,
            "Headers": headers,
            "Tags": tags,
            "Attachments": [
                {"Content": b64(data), "Filename": f"file{i}.bin"}
                for i, data in enumerate(attachments)
            ],
        }
    )
    assert envelope_from == sender["Email"]
    assert recipients == list(dict.fromkeys([a["Email"] for a in to] + bcc))
    summary = summarize(raw, envelope_from, recipients)
    assert summary.subject == subject.strip()
    assert summary.sender.address == sender["Email"]
    assert [a.address for a in summary.to] == [a["Email"] for a in to]
    assert summary.attachments == len(attachments)
    view = parse_message(raw)
    assert [get_part(raw, part.part_id)[2] for part in view.attachments] == attachments
    for name, value in headers.items():
        assert view.headers[name][-1].strip() == value.strip()
