"""What a tag name may be, for the ``X-Tags`` header and the tag API alike.

A tag set from a message header and one set through the API must come out the same, or the
same tag would show twice: both clean names here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_INVALID = re.compile(r"[^a-zA-Z0-9\-. _]")
_SPACES = re.compile(r" {2,}")


def clean_tag(name: str) -> str:
    """A tag name reduced to letters, digits, ``-``, ``.``, ``_`` and single spaces."""
    return _SPACES.sub(" ", _INVALID.sub("", name)).strip()


def unique_tags(names: Iterable[str]) -> list[str]:
    """``names`` cleaned, in order, without empty ones or case-insensitive duplicates (the
    first spelling wins)."""
    return distinct_tags(tag for tag in map(clean_tag, names) if tag)


def distinct_tags(names: Iterable[str]) -> list[str]:
    """``names`` as they are, in order, without case-insensitive duplicates (the first
    spelling wins): a tag is one tag whatever its case."""
    tags: list[str] = []
    seen: set[str] = set()
    for name in names:
        if name.lower() not in seen:
            seen.add(name.lower())
            tags.append(name)
    return tags


def header_tags(values: Iterable[str]) -> list[str]:
    """The tags named in ``X-Tags`` values, which list them separated by commas."""
    return unique_tags(name for value in values for name in value.split(","))
