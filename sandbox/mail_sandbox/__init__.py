"""Mail capture server: SMTP ingestion, a durable store, an inbox web UI and a Mailpit-style API."""

from importlib import metadata

try:
    # The installed distribution's version, so that pyproject.toml alone says what it is.
    __version__ = metadata.version("mail-sandbox")
except metadata.PackageNotFoundError:
    # A source tree on sys.path that was never installed.
    __version__ = "0+unknown"
