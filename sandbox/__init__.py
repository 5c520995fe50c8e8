"""Mail capture server: SMTP ingestion, a durable store, an inbox web UI and a Mailpit-style API."""

__version__ = "0.1.0"
