"""Reading the project's Markdown the way its tests need: sections, tables, code and links.

Only what the README and docs/ use is understood: ATX headings, pipe tables, fenced code
blocks and inline code spans. Headings and tables inside fenced code are not headings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"

_HEADING = re.compile(r"^(#{1,6}) +(.+?) *$")
_FENCE = re.compile(r"^```(\w*)")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")


@dataclass(frozen=True)
class Section:
    """A heading and everything under it up to the next heading of its level or above."""

    level: int
    title: str
    body: str
    #: The body up to its first subsection.
    lead: str

    def subsection(self, title: str) -> Section:
        """The one subsection called ``title``; fails the test when there is none."""
        return find_section(self.body, title, self.title)


def doc(name: str) -> str:
    """The text of ``docs/<name>``."""
    return (DOCS / name).read_text(encoding="utf-8")


def _outside_code(text: str) -> Iterator[tuple[str, bool]]:
    """Each line with whether it is prose (not inside a fenced code block)."""
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            yield line, False
            continue
        yield line, not fenced


def sections(text: str) -> list[Section]:
    """Every section of ``text``, in order; a section's body holds its subsections."""
    lines = list(_outside_code(text))
    headings = []
    for index, (line, prose) in enumerate(lines):
        match = _HEADING.match(line) if prose else None
        if match:
            headings.append((index, len(match.group(1)), match.group(2)))
    found = []
    for position, (index, level, title) in enumerate(headings):
        end = len(lines)
        for later_index, later_level, _ in headings[position + 1 :]:
            if later_level <= level:
                end = later_index
                break
        first_sub = next((i for i, _, _ in headings[position + 1 :] if i < end), end)
        body = "\n".join(line for line, _ in lines[index + 1 : end])
        lead = "\n".join(line for line, _ in lines[index + 1 : first_sub])
        found.append(Section(level, title, body, lead))
    return found


def find_section(text: str, title: str, where: str = "the document") -> Section:
    """The one section of ``text`` whose heading is ``title``."""
    matches = [section for section in sections(text) if section.title == title]
    assert len(matches) == 1, f"{where} needs exactly one section {title!r}, has {len(matches)}"
    return matches[0]


def table_rows(text: str) -> list[list[str]]:
    """The cells of every pipe-table row in ``text``, header rows included, separators not."""
    rows = []
    for line, prose in _outside_code(text):
        stripped = line.strip()
        if not (prose and stripped.startswith("|") and stripped.endswith("|")):
            continue
        cells = [cell.strip() for cell in stripped[1:-1].split("|")]
        if all(set(cell) <= set("-: ") for cell in cells):
            continue
        rows.append(cells)
    return rows


def code_spans(text: str) -> list[str]:
    """The contents of the inline code spans in the prose of ``text``."""
    prose = "\n".join(line for line, is_prose in _outside_code(text) if is_prose)
    return _CODE_SPAN.findall(prose)


def names_in_code(text: str, name: str) -> bool:
    """Whether ``name`` appears as a whole word inside one of the code spans of ``text``."""
    word = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")
    return any(word.search(span) for span in code_spans(text))


def code_blocks(text: str, language: str) -> list[str]:
    """The contents of every fenced code block in ``language``."""
    blocks = []
    current: list[str] | None = None
    current_language = ""
    for line in text.splitlines():
        fence = _FENCE.match(line)
        if fence and current is None:
            current, current_language = [], fence.group(1)
        elif fence:
            if current_language == language:
                blocks.append("\n".join(current) + "\n")
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def links(text: str) -> list[str]:
    """The targets of the inline links in the prose of ``text``."""
    prose = "\n".join(line for line, is_prose in _outside_code(text) if is_prose)
    return _LINK.findall(prose)


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of ``text``."""
    seen: dict[str, int] = {}
    found = set()
    for section in sections(text):
        slug = re.sub(r"[^\w\- ]", "", _CODE_SPAN.sub(r"\1", section.title).lower())
        slug = slug.replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found
