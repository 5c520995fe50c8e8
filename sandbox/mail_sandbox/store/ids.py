"""The IDs a store gives new messages, the same in every backend."""

from __future__ import annotations

import base64
import secrets


def new_message_ids(count: int) -> list[str]:
    """``count`` new message IDs: 22 URL-safe characters (128 random bits) each, from one
    read of the system's random source."""
    data = secrets.token_bytes(16 * count)
    return [
        base64.urlsafe_b64encode(data[start : start + 16]).rstrip(b"=").decode()
        for start in range(0, len(data), 16)
    ]
