"""Content-Disposition for downloaded parts, with file names that are safe to save."""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from urllib.parse import quote

MAX_FILENAME_LENGTH = 150

_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|]+')
_NOT_PLAIN_ASCII = re.compile(r"[^A-Za-z0-9._ ()+,=@~-]+")


def safe_filename(filename: str, fallback_stem: str, content_type: str) -> str:
    """A file name with no directories, control characters or quotes; never empty."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        suffix = f".{extension[:20]}" if dot and stem else ""
        name = name[: MAX_FILENAME_LENGTH - len(suffix)].rstrip(" .") + suffix
    if not name:
        extension = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ".bin"
        name = f"{fallback_stem}{extension}"
    return name


def attachment_disposition(filename: str, fallback_stem: str, content_type: str) -> str:
    """``attachment; filename="ascii"; filename*=UTF-8''...`` (RFC 6266) for any name."""
    name = safe_filename(filename, fallback_stem, content_type)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = _NOT_PLAIN_ASCII.sub("_", ascii_name).strip(" ._") or f"{fallback_stem}.bin"
    disposition = f'attachment; filename="{ascii_name}"'
    if ascii_name != name:
        disposition += f"; filename*=UTF-8''{quote(name, safe='')}"
    return disposition
