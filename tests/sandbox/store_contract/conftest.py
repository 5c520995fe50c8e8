"""Every test here runs once per kind of store, built the way the server builds it.

A new backend is one more ``Backend`` in ``BACKENDS``: its opener gets a private directory
for the test (a place it may use or ignore) and ``max_messages``. Tests that need the mail to
outlive the store object ask for ``persistent`` instead of ``new_store``: they run only for
backends that keep their mail somewhere a second store can open, and are not skipped elsewhere
but never generated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from search_sample import Sample, fill

from mail_sandbox.store import MessageStore, open_store


@dataclass(frozen=True)
class Backend:
    """How to open one kind of store, and whether its mail outlives the store object."""

    name: str
    opener: Callable[[Path, int], MessageStore]
    persists: bool


BACKENDS = [
    Backend(
        "sqlite-file",
        lambda place, max_messages: open_store(str(place / "mail.db"), max_messages=max_messages),
        persists=True,
    ),
    Backend(
        "throwaway",
        lambda place, max_messages: open_store(":memory:", max_messages=max_messages),
        persists=False,
    ),
]


@dataclass
class Stores:
    """Opens stores of one backend at one place, and closes whatever is still open at the end.

    For a backend that persists, every store opened here is a view of the same mailbox.
    """

    backend: Backend
    place: Path
    opened: list[MessageStore] = field(default_factory=list)

    def __call__(self, max_messages: int = 0) -> MessageStore:
        store = self.backend.opener(self.place, max_messages)
        self.opened.append(store)
        return store

    def reopen(self, store: MessageStore, max_messages: int = 0) -> MessageStore:
        """Close ``store`` and open its mailbox again."""
        assert self.backend.persists, f"{self.backend.name} keeps nothing to reopen"
        store.close()
        return self(max_messages)

    def close_all(self) -> None:
        for store in self.opened:
            store.close()


@pytest.fixture(scope="session", params=BACKENDS, ids=lambda backend: backend.name)
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.param


@pytest.fixture(
    scope="session",
    params=[backend for backend in BACKENDS if backend.persists],
    ids=lambda backend: backend.name,
)
def persistent_backend(request: pytest.FixtureRequest) -> Backend:
    return request.param


@pytest.fixture
def new_store(backend: Backend, tmp_path: Path) -> Iterator[Stores]:
    """Call it (``new_store(max_messages=3)``) for a fresh store; each is closed after the test."""
    stores = Stores(backend, tmp_path)
    yield stores
    stores.close_all()


@pytest.fixture
def store(new_store: Stores) -> MessageStore:
    """A fresh store that keeps every message."""
    return new_store()


@pytest.fixture
def persistent(persistent_backend: Backend, tmp_path: Path) -> Iterator[Stores]:
    """Like ``new_store``, for backends whose mail outlives the store: every call opens the
    same mailbox, and ``reopen(store)`` closes one and opens the mailbox again."""
    stores = Stores(persistent_backend, tmp_path)
    yield stores
    stores.close_all()


@pytest.fixture(scope="module")
def sample(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sample]:
    """Three known messages (see ``search_sample``), shared by a module's read-only tests."""
    stores = Stores(backend, tmp_path_factory.mktemp("sample"))
    try:
        yield fill(stores())
    finally:
        stores.close_all()
