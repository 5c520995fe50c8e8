"""The http(s) links of a message, as the plugin's ``links`` and the link check both read them."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'\])]+", re.IGNORECASE)
_ABSOLUTE = re.compile(r"\s*https?://", re.IGNORECASE)
# Punctuation that ends a sentence is not part of a link written in running text.
_TRAILING_PUNCTUATION = ".,;:!?"
_ANCHORS = {"a": "href", "area": "href"}
_IMAGES = {"img": "src"}


class _UrlAttributes(HTMLParser):
    """Absolute http(s) URLs in the given attribute of the given tags, in document order."""

    def __init__(self, wanted: dict[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.wanted = wanted
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attribute = self.wanted.get(tag)
        if attribute is None:
            return
        for name, value in attrs:
            if name == attribute and value and _ABSOLUTE.match(value):
                self.urls.append(value.strip())


def _urls_in_html(html: str, wanted: dict[str, str]) -> list[str]:
    collector = _UrlAttributes(wanted)
    collector.feed(html)
    collector.close()
    return collector.urls


def find_links(text: str, html: str) -> list[str]:
    """Absolute http(s) URLs in the text part, then the HTML part's links, each once, in order."""
    found = [url.rstrip(_TRAILING_PUNCTUATION) for url in _URL_IN_TEXT.findall(text or "")]
    if html:
        found.extend(_urls_in_html(html, _ANCHORS))
    return list(dict.fromkeys(found))


def image_sources(html: str) -> list[str]:
    """Absolute http(s) ``<img src>`` URLs of the HTML part, in order."""
    return _urls_in_html(html, _IMAGES) if html else []
