"""Store summaries and parsed messages as Mailpit's ``/api/v1`` JSON shapes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from mail_sandbox.mime import MessageView, PartInfo
from mail_sandbox.store.contract import Address, MailboxInfo, Page, Summary

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# RFC 7230 token characters: the only names Go's CanonicalMIMEHeaderKey changes.
_HEADER_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def rfc3339(moment: datetime | None) -> str:
    """``2026-11-25T08:34:18.123Z``: UTC with milliseconds; naive times are taken as UTC."""
    if moment is None:
        moment = _EPOCH
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def address_json(address: Address | None) -> dict[str, str]:
    """``{"Name", "Address"}``; an absent address is two empty strings, never null."""
    if address is None:
        return {"Name": "", "Address": ""}
    return {"Name": address.name, "Address": address.address}


def addresses_json(addresses: list[Address] | None) -> list[dict[str, str]]:
    """A list of addresses; absent is ``[]``."""
    return [address_json(address) for address in addresses or []]


def summary_json(summary: Summary) -> dict[str, Any]:
    """One entry of ``messages`` in a listing or search, and the body of ``/wait``."""
    return {
        "ID": summary.id,
        "MessageID": summary.message_id,
        "Read": summary.read,
        "From": address_json(summary.sender),
        "To": addresses_json(summary.to),
        "Cc": addresses_json(summary.cc),
        "Bcc": addresses_json(summary.bcc),
        "ReplyTo": addresses_json(summary.reply_to),
        "Subject": summary.subject,
        "Created": rfc3339(summary.created),
        "Tags": list(summary.tags or []),
        "Size": summary.size,
        "Attachments": summary.attachments,
        "Snippet": summary.snippet,
    }


def page_json(page: Page, tags: list[str]) -> dict[str, Any]:
    """The body of ``GET /api/v1/messages`` and ``GET /api/v1/search``."""
    return {
        "total": page.total,
        "unread": page.unread,
        "count": len(page.messages),
        "messages_count": page.matched,
        "messages_unread": page.matched_unread,
        "start": page.start,
        "tags": list(tags),
        "messages": [summary_json(summary) for summary in page.messages],
    }


def part_json(part: PartInfo) -> dict[str, Any]:
    """One entry of ``Inline`` or ``Attachments``."""
    return {
        "PartID": part.part_id,
        "FileName": part.filename,
        "ContentType": part.content_type,
        "ContentID": part.content_id,
        "Size": part.size,
        "Checksums": {"MD5": part.md5, "SHA1": part.sha1, "SHA256": part.sha256},
    }


def message_json(summary: Summary, view: MessageView) -> dict[str, Any]:
    """The body of ``GET /api/v1/message/{ID}``.

    ``Date`` falls back to the received time when the message has no readable Date header,
    as Mailpit does, so it is always a timestamp.
    """
    return {
        "ID": summary.id,
        "MessageID": summary.message_id,
        "Read": summary.read,
        "From": address_json(summary.sender),
        "To": addresses_json(summary.to),
        "Cc": addresses_json(summary.cc),
        "Bcc": addresses_json(summary.bcc),
        "ReplyTo": addresses_json(summary.reply_to),
        "ReturnPath": summary.return_path,
        "Subject": summary.subject,
        "Date": rfc3339(view.date or summary.date or summary.created),
        "Tags": list(summary.tags or []),
        "Text": view.text,
        "HTML": view.html,
        "Size": summary.size,
        "Inline": [part_json(part) for part in view.inline],
        "Attachments": [part_json(part) for part in view.attachments],
    }


def mailbox_json(info: MailboxInfo) -> dict[str, Any]:
    """One mailbox, as ``/api/v1/mailboxes`` lists it."""
    return {
        "Name": info.name,
        "Messages": info.messages,
        "Unread": info.unread,
        "Created": rfc3339(info.created),
        "Expires": None if info.expires is None else rfc3339(info.expires),
        "TTL": info.ttl,
        "HasPassword": info.has_password,
    }


def canonical_header_key(name: str) -> str:
    """A header name as Go's ``textproto.CanonicalMIMEHeaderKey`` spells it (``Message-Id``).

    Mailpit's ``/headers`` uses these names and its clients look them up so; a name with
    characters outside an HTTP token is left as it is, as Go leaves it.
    """
    if not _HEADER_TOKEN.match(name):
        return name
    return "-".join(word[:1].upper() + word[1:].lower() for word in name.split("-"))


def headers_json(headers: dict[str, list[str]], order: Iterable[str] = ()) -> dict[str, list[str]]:
    """The body of ``/headers``: canonical names, sorted, each with its values.

    Names that differ only in case (``Message-ID`` and ``Message-Id``) become one entry, its
    values in the order they appear in the message when ``order`` lists the header names as
    they appear there, one per field.
    """
    remaining = {name: list(values) for name, values in headers.items()}
    merged: dict[str, list[str]] = {}
    for name in order:
        values = remaining.get(name)
        if values:
            merged.setdefault(canonical_header_key(name), []).append(values.pop(0))
    for name, values in remaining.items():
        if values:
            merged.setdefault(canonical_header_key(name), []).extend(values)
    return {name: merged[name] for name in sorted(merged)}
