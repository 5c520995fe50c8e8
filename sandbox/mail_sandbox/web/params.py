"""Reading what API clients send: paging and timeout parameters, and request bodies.

Anything unreadable is refused with a clear 400; in particular a body that is neither JSON nor
a form must never be mistaken for "no IDs", which would mean "every message".
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiohttp import web

from mail_sandbox import defaults
from mail_sandbox.web.errors import ApiError

BOTH_IDS_AND_SEARCH = "You may specify either IDs or a search query, not both"
# SQLite's largest integer: a start beyond it is as far past the end as any other.
MAX_START = 2**63 - 1

_CHANGE_FIELDS = {"ids": "IDs", "read": "Read"}
_CHANGE_FIELDS_WITH_SEARCH = {**_CHANGE_FIELDS, "search": "Search"}
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True, slots=True)
class ChangeRequest:
    """Which messages a PUT/DELETE is about and, for PUT, the read flag.

    ``search`` (PUT only) picks the messages matching a query; otherwise ``ids`` does, None
    meaning every message.
    """

    ids: list[str] | None
    read: bool | None
    search: str | None = None


def paging(query: Mapping[str, str]) -> tuple[int, int]:
    """``(start, limit)`` from ``?start=&limit=``, each above its maximum lowered to it."""
    start = _whole_number(query, "start", 0, MAX_START)
    limit = _whole_number(query, "limit", defaults.PAGE_SIZE, defaults.MAX_PAGE_SIZE)
    return start, limit


def wait_timeout(query: Mapping[str, str]) -> float:
    """Seconds from ``?timeout=``, capped at ``defaults.MAX_WAIT_SECONDS``."""
    value = query.get("timeout", "").strip()
    if not value:
        return defaults.WAIT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        raise ApiError(400, "timeout must be a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ApiError(400, "timeout must be a number of seconds, 0 or more")
    return min(seconds, defaults.MAX_WAIT_SECONDS)


def change_request(
    body: bytes, *, read_required: bool, allow_search: bool = False
) -> ChangeRequest:
    """Parse a PUT/DELETE body: JSON ``{"IDs": [...], "Read": bool}`` or ``ids=..&Read=..``.

    With ``allow_search`` (``PUT /api/v1/messages``) a ``Search`` query may name the messages
    instead of ``IDs``; giving both is refused, as Mailpit does.
    """
    known = _CHANGE_FIELDS_WITH_SEARCH if allow_search else _CHANGE_FIELDS
    text = _text(body).strip()
    if not text:
        fields: dict[str, object] = {}
    elif text.startswith("{"):
        fields = _json_fields(text, known)
    else:
        fields = _form_fields(text, known)
    ids = _ids(fields.get("IDs"))
    read = _read(fields.get("Read"))
    search = _search(fields.get("Search"))
    if read_required and read is None:
        raise ApiError(400, 'Read is required: {"IDs": [...], "Read": true|false}')
    if ids and search:
        raise ApiError(400, BOTH_IDS_AND_SEARCH)
    return ChangeRequest(ids=ids or None, read=read, search=search)


def json_object(body: bytes, fields: Mapping[str, str], example: str) -> dict[str, object]:
    """A JSON object body, its field names matched case-insensitively (as Go's decoder does).

    ``fields`` maps lower-case names to canonical ones; an unknown field is refused, naming
    ``example``. An empty body is an empty object.
    """
    text = _text(body).strip()
    if not text:
        return {}
    data = json_value(text, f"request body is not valid JSON; expected {example}")
    if not isinstance(data, dict):
        raise ApiError(400, f"request body must be a JSON object: {example}")
    found: dict[str, object] = {}
    for name, value in data.items():
        canonical = fields.get(name.lower())
        if canonical is None:
            raise ApiError(400, f"unknown field {name!r}; expected {example}")
        found[canonical] = value
    return found


def json_value(text: str | bytes, error: str) -> object:
    """The JSON in ``text``; anything Python's decoder refuses is a 400 saying ``error``.

    Besides syntax errors that covers nesting too deep to decode and integers of more than
    4,300 digits, which the decoder refuses with a plain ``ValueError``.
    """
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError included
        raise ApiError(400, error) from None


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes (0: no limit)."""
    if limit and request.content_length is not None and request.content_length > limit:
        raise ApiError(413, _too_large(limit))
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if limit and len(body) > limit:
            raise ApiError(413, _too_large(limit))
    return bytes(body)


def _too_large(limit: int) -> str:
    return f"request body is larger than the limit of {limit} bytes"


def _whole_number(query: Mapping[str, str], name: str, default: int, maximum: int) -> int:
    """A count from the query string, lowered to ``maximum``."""
    value = query.get(name, "").strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit():
        raise ApiError(400, f"{name} must be a whole number, 0 or more")
    # int() refuses thousands of digits; a number that long is above the maximum anyway.
    if len(value.lstrip("0")) > len(str(maximum)):
        return maximum
    return min(int(value), maximum)


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "request body must be UTF-8 JSON or a form") from None


def _json_fields(text: str, known: Mapping[str, str]) -> dict[str, object]:
    data = json_value(text, "request body is not valid JSON")
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    return _known(data, known)


def _form_fields(text: str, known: Mapping[str, str]) -> dict[str, object]:
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
    fields = _known(fields, known)
    fields["IDs"] = ids
    return fields


def _known(data: dict[str, object], known: Mapping[str, str]) -> dict[str, object]:
    """Field names matched case-insensitively; an unknown one is refused, not ignored.

    Ignoring, say, a "Search" field would silently widen a delete to every message.
    """
    fields: dict[str, object] = {}
    for name, value in data.items():
        canonical = known.get(name.lower())
        if canonical is None:
            *others, last = sorted(set(known.values()))
            expected = f"{', '.join(others)} and {last}"
            raise ApiError(400, f"unknown field {name!r}; expected {expected}")
        fields[canonical] = value
    return fields


def _ids(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(400, "IDs must be a list of message IDs")
    return [item for item in value if item]


def _search(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, "Search must be a search query string")
    # Mailpit reads an empty Search as none given.
    return value.strip() or None


def _read(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ApiError(400, "Read must be true or false")
