"""A mail store in PostgreSQL: the same contract as the SQLite one, for servers sharing mail."""

from mail_sandbox.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
