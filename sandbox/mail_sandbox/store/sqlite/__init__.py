"""The SQLite backend of the store: ``SQLiteStore`` and the parts it is built from.

* ``store``: ``SQLiteStore``, which wires the parts below and implements ``MessageStore``.
* ``files``, ``connections``, ``schema``: the two files, the connections to them, their tables.
* ``writer``: the commit path of new messages and of user changes (``changes``).
* ``freshness``: when a list or search waits for the indexer.
* ``reads``, ``pages``, ``query``: reads, pages with remembered counts, searches as SQL.
* ``indexer``, ``index_loop``, ``children``, ``mail_index``, ``index_rows``, ``parse_jobs``:
  moving acknowledged mail into the searchable mailbox, in a child process or a thread.
* ``values``, ``errors``: what values become before SQLite binds them; failures as reported.
"""

from __future__ import annotations

from mail_sandbox.store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
