"""Prepare an email's HTML for the inbox's sandboxed iframe.

The iframe and this document's own CSP stop script; this only makes the email pleasant to read:
links open in a new tab and images sent inside the message (``cid:``) are shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from mail_sandbox.mime import PartInfo

BASE_TAG = '<base target="_blank">'

_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_HTML = re.compile(r"<html\b[^>]*>", re.IGNORECASE)
_DOCTYPE = re.compile(r"<!doctype\b[^>]*>", re.IGNORECASE)


def email_document(html: str, parts: Iterable[PartInfo], part_url: Callable[[str], str]) -> str:
    """The email's HTML with ``cid:`` references pointing at its parts and links in new tabs."""
    return _with_base_target(link_embedded_images(html, parts, part_url))


def link_embedded_images(
    html: str, parts: Iterable[PartInfo], part_url: Callable[[str], str]
) -> str:
    """The email's HTML with each ``cid:`` reference to one of ``parts`` pointing at its URL."""
    for part in parts:
        if not part.content_id:
            continue
        reference = re.compile(
            r"cid:" + re.escape(part.content_id) + r"(?=[\"'\s)>]|$)", re.IGNORECASE
        )
        url = part_url(part.part_id)
        html = reference.sub(lambda _match, url=url: url, html)
    return html


def _with_base_target(html: str) -> str:
    # The first <base target> in the document wins, so ours goes as early as it validly can.
    for pattern in (_HEAD, _HTML, _DOCTYPE):
        match = pattern.search(html)
        if match:
            return html[: match.end()] + BASE_TAG + html[match.end() :]
    return BASE_TAG + html
