"""Build a real MIME message from Mailpit's ``POST /api/v1/send`` JSON.

The request shape is Mailpit's (``From`` {``Email``, ``Name``}, ``To``/``Cc``/``ReplyTo`` lists of
the same, ``Bcc`` a list of addresses, ``Subject``, ``Text``, ``HTML``, ``Headers``, ``Tags`` and
``Attachments``). The message is built with the standard library's ``email`` package under
``policy.SMTP`` so it is exactly what an SMTP client would have sent, CRLF line endings included,
and the store can keep it as if it had arrived over SMTP.

Everything that ends up in a header is checked for line breaks first: a JSON string is the one
place a caller could try to smuggle in an extra header (``"Subject": "hi\\r\\nBcc: ..."``), and
the answer to that is a clear error, never a second header.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email import policy
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

# Names Mailpit refuses in "Headers" because the request's own fields set them. Content-* and
# MIME-Version are ours too: at the top of a multipart message they would corrupt its structure.
_RESERVED_HEADERS = frozenset(
    {"to", "from", "cc", "bcc", "reply-to", "date", "subject", "mime-version"}
)
# Every character str.splitlines() breaks on: the email package folds headers with it, so any
# of them in a value could end up starting a new header line.
_LINE_BREAKS = re.compile("[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00]")
# RFC 5322 field names: printable ASCII except the colon.
_FIELD_NAME = re.compile(r"^[!-9;-~]+$")
_CONTENT_ID = re.compile(r"^[!-;=?-~]+$")  # printable ASCII without spaces, "<" and ">"
_FIELDS = {
    name.lower(): name
    for name in (
        "From",
        "To",
        "Cc",
        "Bcc",
        "ReplyTo",
        "Subject",
        "Text",
        "HTML",
        "Headers",
        "Tags",
        "Attachments",
    )
}
_ADDRESS_FIELDS = {"email": "Email", "name": "Name"}
_ATTACHMENT_FIELDS = {
    name.lower(): name for name in ("Content", "Filename", "ContentType", "ContentID")
}
_ADDRESS_ERRORS = (MessageError, ValueError, IndexError, TypeError)


class ComposeError(ValueError):
    """The send request cannot become a message; ``message`` says why, for a 400 answer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def build_message(payload: Any) -> tuple[bytes, str, list[str]]:
    """Turn a Mailpit send request into ``(raw bytes, envelope sender, envelope recipients)``.

    Recipients are To, Cc and Bcc in that order, each once; Bcc never appears as a header.
    Raises ``ComposeError`` for anything that is not a well-formed request.
    """
    fields = _object(payload, "the request body", _FIELDS)
    sender = _address(_object(fields.get("From"), "From", _ADDRESS_FIELDS), "From")
    if sender is None:
        raise ComposeError('From is required: {"From": {"Email": "you@example.com"}}')
    to = _address_list(fields.get("To"), "To")
    cc = _address_list(fields.get("Cc"), "Cc")
    bcc = _address_list(fields.get("Bcc"), "Bcc", plain_strings=True)
    reply_to = _address_list(fields.get("ReplyTo"), "Reply-To")
    recipients = list(dict.fromkeys(a.addr_spec for a in [*to, *cc, *bcc]))
    if not recipients:
        raise ComposeError("at least one recipient is needed in To, Cc or Bcc")

    tags = _tags(fields.get("Tags"))
    extra_headers = _headers(fields.get("Headers"), tags_given=bool(tags))
    try:
        raw = _compose(fields, sender, to, cc, reply_to, tags, extra_headers)
    except ComposeError:
        raise
    except (UnicodeError, *_ADDRESS_ERRORS) as exc:
        # JSON allows lone surrogates ("\ud800"), which no mail encoding can carry.
        raise ComposeError(f"the message could not be built: {exc}") from None
    return raw, sender.addr_spec, recipients


def _compose(
    fields: dict[str, Any],
    sender: Address,
    to: list[Address],
    cc: list[Address],
    reply_to: list[Address],
    tags: list[str],
    extra_headers: dict[str, str],
) -> bytes:
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    if to:
        message["To"] = to
    if cc:
        message["Cc"] = cc
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = _header_text(_string(fields.get("Subject"), "Subject"), "Subject")
    message["Date"] = datetime.now(UTC)
    if not any(name.lower() == "message-id" for name in extra_headers):
        message["Message-ID"] = make_msgid(domain=sender.domain)
    if tags:
        message["X-Tags"] = ", ".join(tags)
    for name, value in extra_headers.items():
        _add_header(message, name, value)

    _set_body(message, _string(fields.get("Text"), "Text"), _string(fields.get("HTML"), "HTML"))
    _attach(message, fields.get("Attachments"))
    return bytes(message)


def _object(value: Any, what: str, known: Mapping[str, str]) -> dict[str, Any]:
    """A JSON object's fields by their canonical names (matched case-insensitively, as Go does).

    An unknown field is refused: a misspelt "Atachments" silently dropped would be a surprise.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ComposeError(f"{what} must be a JSON object")
    fields: dict[str, Any] = {}
    for key, item in value.items():
        canonical = known.get(str(key).lower())
        if canonical is None:
            expected = ", ".join(known.values())
            raise ComposeError(f"{what} has an unknown field {key!r} (expected {expected})")
        fields[canonical] = item
    return fields


def _string(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ComposeError(f"{what} must be a string")
    return value


def _header_text(value: str, what: str) -> str:
    if _LINE_BREAKS.search(value):
        raise ComposeError(f"{what} must not contain line breaks")
    return value


def _address(fields: dict[str, Any], what: str) -> Address | None:
    """The mailbox in ``{"Email", "Name"}``, or None when the object is empty."""
    email = _header_text(_string(fields.get("Email"), f"{what} Email"), f"{what} Email").strip()
    name = _header_text(_string(fields.get("Name"), f"{what} Name"), f"{what} Name").strip()
    if not email:
        if name:
            raise ComposeError(f"{what} has a Name but no Email")
        return None
    return _mailbox(email, name, what)


def _mailbox(email: str, name: str, what: str) -> Address:
    local, _, domain = email.rpartition("@")
    try:
        # The message is written as plain ASCII, so an international domain travels as IDNA.
        ascii_domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
        address = Address(display_name=name, addr_spec=f"{local}@{ascii_domain}")
    except (*_ADDRESS_ERRORS, UnicodeError):
        raise ComposeError(f"invalid {what} address: {email}") from None
    if not local or not address.username or not address.domain:
        raise ComposeError(f"invalid {what} address: {email}")
    return address


def _address_list(value: Any, what: str, *, plain_strings: bool = False) -> list[Address]:
    """A list of ``{"Email", "Name"}`` objects; Bcc may also be plain strings, as Mailpit has it."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ComposeError(f"{what} must be a list")
    addresses = []
    for item in value:
        if plain_strings and isinstance(item, str):
            found = _mailbox(_header_text(item, what).strip(), "", what) if item.strip() else None
        else:
            found = _address(_object(item, f"each {what} entry", _ADDRESS_FIELDS), what)
        if found is None:
            raise ComposeError(f"each {what} entry needs an Email")
        addresses.append(found)
    return addresses


def _tags(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ComposeError("Tags must be a list of strings")
    return [_header_text(tag, "Tags").strip() for tag in value if tag.strip()]


def _headers(value: Any, *, tags_given: bool) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ComposeError('Headers must be a JSON object: {"X-Name": "value"}')
    headers: dict[str, str] = {}
    for name, header_value in value.items():
        if not _FIELD_NAME.match(name):
            raise ComposeError(f"header name {name!r} is not valid")
        lowered = name.lower()
        if (
            lowered in _RESERVED_HEADERS
            or lowered.startswith("content-")
            or (tags_given and lowered == "x-tags")
        ):
            raise ComposeError(f'cannot overwrite header: "{name}"')
        if not isinstance(header_value, str):
            raise ComposeError(f"header {name} must have a string value")
        headers[name] = _header_text(header_value, f"header {name}")
    return headers


def _add_header(message: EmailMessage, name: str, value: str) -> None:
    """Add one of the caller's headers; one the email package cannot read as written is refused.

    Headers such as Resent-Date or Sender are parsed by type, and a value that does not parse
    would otherwise be stored empty or rewritten rather than as the caller wrote it.
    """
    try:
        message[name] = value
    except _ADDRESS_ERRORS as exc:
        raise ComposeError(f"header {name} could not be set: {exc}") from None
    defects = message.get_all(name)[-1].defects
    if defects:
        raise ComposeError(f"header {name} is not valid: {defects[0]}")


def _set_body(message: EmailMessage, text: str, html: str) -> None:
    """Text and HTML as a multipart/alternative; either alone as a single part."""
    if html and not text:
        message.set_content(html, subtype="html")
        return
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")


def _attach(message: EmailMessage, value: Any) -> None:
    """Attachments, and inline parts (those with a ContentID) in a multipart/related."""
    if value is None:
        return
    if not isinstance(value, list):
        raise ComposeError("Attachments must be a list")
    for item in value:
        fields = _object(item, "each Attachments entry", _ATTACHMENT_FIELDS)
        filename = _header_text(_string(fields.get("Filename"), "Filename"), "Filename").strip()
        data = _decode_content(fields.get("Content"), filename)
        maintype, subtype, params = _content_type(fields.get("ContentType"), filename)
        content_id = _content_id(fields.get("ContentID"))
        options: dict[str, Any] = {"params": params}
        if filename:
            options["filename"] = filename
        if content_id:
            # Inline images belong next to the HTML that refers to them.
            body = message.get_body(("related", "html", "plain")) or message
            body.add_related(
                data, maintype, subtype, cid=f"<{content_id}>", disposition="inline", **options
            )
        else:
            message.add_attachment(data, maintype, subtype, **options)


def _decode_content(value: Any, filename: str) -> bytes:
    if not isinstance(value, str):
        raise ComposeError(f'attachment "{filename}" needs its Content as a base64 string')
    # Browsers' readAsDataURL() gives "data:image/png;base64,<data>"; Mailpit accepts that.
    encoded = re.sub(r"\s+", "", value.rsplit(",", 1)[-1])
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ComposeError(f'error decoding base64 attachment "{filename}": {exc}') from None


def _content_type(value: Any, filename: str) -> tuple[str, str, dict[str, str]]:
    """``(maintype, subtype, params)`` from ContentType, else guessed from the file name."""
    given = _header_text(_string(value, "ContentType"), "ContentType").strip()
    if not given:
        given = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    header = policy.default.header_factory("content-type", given)
    if header.defects or not header.maintype or not header.subtype:
        raise ComposeError(f"ContentType {given!r} is not a media type like image/png")
    if header.maintype == "multipart":
        raise ComposeError("an attachment's ContentType cannot be multipart")
    return header.maintype, header.subtype, dict(header.params)


def _content_id(value: Any) -> str:
    content_id = _string(value, "ContentID").strip().removeprefix("<").removesuffix(">")
    if content_id and not _CONTENT_ID.match(content_id):
        raise ComposeError(f"ContentID {content_id!r} must be printable ASCII without spaces")
    return content_id
