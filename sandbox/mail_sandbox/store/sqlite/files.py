"""Where one store keeps its two files (see ``schema``), and how carefully it writes them."""

from __future__ import annotations

import os
import tempfile

from mail_sandbox.store.sqlite.schema import INCOMING_SUFFIX

#: The path that asks for a throwaway store (as SQLite spells an in-memory database).
THROWAWAY = ":memory:"


class StoreFiles:
    """The mailbox file at ``path`` and the incoming file next to it.

    ``path=":memory:"`` asks for a throwaway store: real files, so that it behaves exactly like
    a file store (a separate indexer, readers in WAL mode), in a private temporary directory
    that ``remove`` deletes. It keeps nothing after it is closed, so it is not ``durable``: a
    sync to disk before each acknowledgement would buy it nothing.
    """

    def __init__(self, path: str) -> None:
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        if path == THROWAWAY:
            self._directory = tempfile.TemporaryDirectory(prefix="mail-sandbox-")
            path = os.path.join(self._directory.name, "mail.db")
        self.path = path
        self.incoming_path = path + INCOMING_SUFFIX
        self.durable = self._directory is None

    def size(self) -> int:
        """Bytes of mail on disk: the mailbox file and its WAL, which holds committed mail
        until a checkpoint copies it into the file."""
        return sum(_file_size(self.path + suffix) for suffix in ("", "-wal"))

    def remove(self) -> None:
        """Delete a throwaway store's files (a file store's stay where they are)."""
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
