"""Reading what API clients send: paging and timeout parameters, and change-request bodies.

Anything unreadable is refused with a clear 400; in particular a body that is neither JSON nor
a form must never be mistaken for "no IDs", which would mean "every message".
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from sandbox.web.errors import ApiError

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
DEFAULT_WAIT_SECONDS = 30.0
MAX_WAIT_SECONDS = 300.0

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True, slots=True)
class ChangeRequest:
    """Which messages a PUT/DELETE is about (None: all) and, for PUT, the read flag."""

    ids: list[str] | None
    read: bool | None


def paging(query: Mapping[str, str]) -> tuple[int, int]:
    """``(start, limit)`` from ``?start=&limit=``; a limit above the maximum is lowered to it."""
    start = _whole_number(query, "start", 0)
    limit = _whole_number(query, "limit", DEFAULT_LIMIT)
    return start, min(limit, MAX_LIMIT)


def wait_timeout(query: Mapping[str, str]) -> float:
    """Seconds from ``?timeout=``, capped at ``MAX_WAIT_SECONDS``."""
    value = query.get("timeout", "").strip()
    if not value:
        return DEFAULT_WAIT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        raise ApiError(400, "timeout must be a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ApiError(400, "timeout must be a number of seconds, 0 or more")
    return min(seconds, MAX_WAIT_SECONDS)


def change_request(body: bytes, *, read_required: bool) -> ChangeRequest:
    """Parse a PUT/DELETE body: JSON ``{"IDs": [...], "Read": bool}`` or ``ids=..&Read=..``."""
    text = _text(body).strip()
    if not text:
        fields: dict[str, object] = {}
    elif text.startswith("{"):
        fields = _json_fields(text)
    else:
        fields = _form_fields(text)
    ids = _ids(fields.get("IDs"))
    read = _read(fields.get("Read"))
    if read_required and read is None:
        raise ApiError(400, 'Read is required: {"IDs": [...], "Read": true|false}')
    return ChangeRequest(ids=ids or None, read=read)


def _whole_number(query: Mapping[str, str], name: str, default: int) -> int:
    value = query.get(name, "").strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit():
        raise ApiError(400, f"{name} must be a whole number, 0 or more")
    return int(value)


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "request body must be UTF-8 JSON or a form") from None


def _json_fields(text: str) -> dict[str, object]:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise ApiError(400, "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    return _known(data)


def _form_fields(text: str) -> dict[str, object]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise ApiError(400, "request body must be JSON or a form (ids=...&Read=...)") from None
    fields: dict[str, object] = {}
    ids: list[str] = []
    for name, value in pairs:
        if name.lower() == "ids":
            # Older clients send repeated ids=, or one comma-separated list.
            ids.extend(part.strip() for part in value.split(",") if part.strip())
        else:
            fields[name] = value
    fields = _known(fields)
    fields["IDs"] = ids
    return fields


def _known(data: dict[str, object]) -> dict[str, object]:
    """Field names matched case-insensitively; an unknown one is refused, not ignored.

    Ignoring, say, a "Search" field would silently widen a delete to every message.
    """
    fields: dict[str, object] = {}
    for name, value in data.items():
        canonical = {"ids": "IDs", "read": "Read"}.get(name.lower())
        if canonical is None:
            raise ApiError(400, f"unknown field {name!r}; expected IDs and Read")
        fields[canonical] = value
    return fields


def _ids(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(400, "IDs must be a list of message IDs")
    return [item for item in value if item]


def _read(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ApiError(400, "Read must be true or false")
