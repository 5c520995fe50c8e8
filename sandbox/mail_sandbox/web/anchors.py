"""Make every link of an email's HTML open in a new tab without telling the target who sent it.

Each ``<a>`` and ``<area>`` start tag is found with the standard library's HTML parser and
rewritten in place, with ``target="_blank" rel="noreferrer noopener"``; the rest of the
document is left byte for byte as the sender wrote it.
"""

from __future__ import annotations

import html as html_escape
from html.parser import HTMLParser

NEW_TAB = (("target", "_blank"), ("rel", "noreferrer noopener"))
_LINK_TAGS = frozenset({"a", "area"})
_REPLACED = frozenset(name for name, _ in NEW_TAB)


class _LinkTags(HTMLParser):
    """Collects each link start tag: where it is, what it says and its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.found: list[tuple[int, int, str, list[tuple[str, str | None]], bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._record(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._record(tag, attrs, closed=True)

    def _record(self, tag: str, attrs: list[tuple[str, str | None]], *, closed: bool) -> None:
        text = self.get_starttag_text()
        if tag in _LINK_TAGS and text is not None:
            line, column = self.getpos()
            self.found.append((line, column, text, attrs, closed))


def open_links_in_new_tab(document: str) -> str:
    """``document`` with ``target="_blank" rel="noreferrer noopener"`` on every link."""
    parser = _LinkTags()
    try:
        parser.feed(document)
        parser.close()
    except AssertionError:
        # Older html.parser versions assert on some malformed markup; the links found before
        # that point are still rewritten, and the page's <base target> covers the rest.
        pass
    line_starts = [0]
    for index, character in enumerate(document):
        if character == "\n":
            line_starts.append(index + 1)
    pieces: list[str] = []
    done = 0
    for line, column, text, attrs, closed in parser.found:
        start = line_starts[line - 1] + column
        if start < done or document[start : start + len(text)] != text:
            continue  # not where the parser said; leave it rather than guess
        pieces.append(document[done:start])
        pieces.append(_start_tag(text, attrs, closed))
        done = start + len(text)
    pieces.append(document[done:])
    return "".join(pieces)


def _start_tag(text: str, attrs: list[tuple[str, str | None]], closed: bool) -> str:
    name = text[1:].split(None, 1)[0].rstrip("/>")
    kept = [(key, value) for key, value in attrs if key not in _REPLACED]
    rendered = "".join(
        f" {key}" if value is None else f' {key}="{html_escape.escape(value, quote=True)}"'
        for key, value in [*kept, *NEW_TAB]
    )
    return f"<{name}{rendered}{' /' if closed else ''}>"
