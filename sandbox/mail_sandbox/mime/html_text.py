"""The words an HTML body shows, for the search index and the snippet of HTML-only mail."""

from __future__ import annotations

from html.parser import HTMLParser

from mail_sandbox.mime.headers import MALFORMED


class _TextExtractor(HTMLParser):
    """Collects the text a reader would see, skipping scripts and styles."""

    # Not "head": its end tag is optional, and hiding it could hide the whole document.
    _HIDDEN = frozenset({"script", "style", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth += 1
        elif tag in ("br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6"):
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN and self._hidden_depth:
            self._hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.chunks.append(data)


def visible_text(markup: str) -> str:
    """The visible text of an HTML document; on broken markup, the text read so far."""
    if not markup:
        return ""
    extractor = _TextExtractor()
    try:
        extractor.feed(markup)
        extractor.close()
    except (AssertionError, *MALFORMED):
        # html.parser signals some malformed declarations (``<![foo``) with AssertionError.
        pass
    return "".join(extractor.chunks)
