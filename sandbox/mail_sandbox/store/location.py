"""Where a store keeps its mail, as ``--db`` names it: an SQLite file, ``:memory:``, or a
PostgreSQL URL for a store that several servers share."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

#: URL schemes that name a PostgreSQL database (libpq accepts both).
DATABASE_SCHEMES = ("postgresql", "postgres")


def is_database_url(location: str) -> bool:
    """Whether ``location`` names a PostgreSQL database rather than an SQLite file."""
    scheme, sep, _rest = location.partition("://")
    return bool(sep) and scheme.lower() in DATABASE_SCHEMES


def shown(location: str) -> str:
    """``location`` as it may be printed or logged: a URL's password replaced by ``***``."""
    if not is_database_url(location):
        return location
    try:
        parts = urlsplit(location)
        if parts.password is None:
            return location
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    except ValueError:
        # Too broken to take apart (a port that is no number): nothing of it is shown.
        return location.partition("://")[0] + "://***"
    return urlunsplit(parts._replace(netloc=netloc))
