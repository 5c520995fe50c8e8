"""Every test here runs once per kind of store, built the way the server builds it, and once
more in a named mailbox of it.

A new backend is one more ``Backend`` in ``BACKENDS``: its opener gets a private directory
for the test (a place it may use or ignore) and ``max_messages``. Each backend runs twice: on
the store as opened (its default mailbox), and on a mailbox made in it beside a neighbour
mailbox, which every test must leave exactly as it was. For the search sample the neighbour
holds many messages, so that the sample's small mailbox is a small part of the store, which a
store may search in another way than the whole of it.

Tests that need the mail to outlive the store object ask for ``persistent`` instead of
``new_store``: they run only for backends that keep their mail somewhere a second store can
open, and are not skipped elsewhere but never generated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from contract_mail import add, add_many, message
from search_sample import Sample, fill

from mail_sandbox.store import MessageStore, StoreError, open_store
from tools.postgres_cluster import Cluster, start_cluster

#: The mailbox the "in a mailbox" runs test, and its neighbour, whose last message is read and
#: tagged and the others neither (a store keeping fewer keeps the newest).
MAILBOX = "ci-4711"
NEIGHBOUR = "neighbour"
#: Messages of the search sample's neighbour: ten times the sample's.
CROWDED_NEIGHBOUR = 30


@dataclass(frozen=True)
class Backend:
    """How to open one kind of store, and whether its mail outlives the store object."""

    name: str
    opener: Callable[[Path, int, Callable[[], float]], MessageStore]
    persists: bool


@dataclass(frozen=True)
class Opening:
    """A backend, and the mailbox of it that a test gets (None: the store as opened)."""

    backend: Backend
    mailbox: str | None

    @property
    def name(self) -> str:
        return self.backend.name + ("" if self.mailbox is None else "-mailbox")


class LazyCluster:
    """The session's PostgreSQL cluster, started on first use, and a database for each place
    (a test's private folder): a store opened again at the same place finds the same mail."""

    def __init__(self) -> None:
        self._cluster: Cluster | None = None
        self._databases: dict[Path, str] = {}

    def url_for(self, place: Path) -> str:
        if self._cluster is None:
            self._cluster = start_cluster()
        if place not in self._databases:
            self._databases[place] = self._cluster.new_database()
        return self._databases[place]

    def forget(self, place: Path) -> None:
        url = self._databases.pop(place, None)
        if url is not None and self._cluster is not None:
            self._cluster.drop_database(url)

    def stop(self) -> None:
        if self._cluster is not None:
            self._cluster.stop()
            self._cluster = None


POSTGRES = LazyCluster()

BACKENDS = [
    Backend(
        "sqlite-file",
        lambda place, max_messages, clock: open_store(
            str(place / "mail.db"), max_messages=max_messages, clock=clock
        ),
        persists=True,
    ),
    Backend(
        "throwaway",
        lambda place, max_messages, clock: open_store(
            ":memory:", max_messages=max_messages, clock=clock
        ),
        persists=False,
    ),
    Backend(
        "postgres",
        lambda place, max_messages, clock: open_store(
            POSTGRES.url_for(place), max_messages=max_messages, clock=clock
        ),
        persists=True,
    ),
]


OPENINGS = [Opening(backend, mailbox) for backend in BACKENDS for mailbox in (None, MAILBOX)]


@dataclass
class Stores:
    """Opens stores of one backend at one place, and closes whatever is still open at the end.

    For a backend that persists, every store opened here is a view of the same mailbox. In a
    mailbox opening, each call gives that mailbox of a newly opened store; at the end the
    neighbour mailbox must be as it was made.
    """

    opening: Opening
    place: Path
    neighbour_messages: int = 1
    opened: list[tuple[MessageStore, MessageStore]] = field(default_factory=list)
    # Each store that made a neighbour, the IDs of its messages, and the store's max_messages.
    neighbours: list[tuple[MessageStore, list[str], int]] = field(default_factory=list)

    def __call__(
        self, max_messages: int = 0, clock: Callable[[], float] = time.time
    ) -> MessageStore:
        root = self.opening.backend.opener(self.place, max_messages, clock)
        store = root if self.opening.mailbox is None else self._mailbox_of(root, max_messages)
        self.opened.append((root, store))
        return store

    def reopen(self, store: MessageStore, max_messages: int = 0) -> MessageStore:
        """Close ``store`` and open its mailbox again."""
        backend = self.opening.backend
        assert backend.persists, f"{backend.name} keeps nothing to reopen"
        for root, opened in self.opened:
            if opened is store:
                root.close()
        store.close()
        return self(max_messages)

    def close_all(self) -> None:
        try:
            self._check_neighbours()
        finally:
            for root, store in self.opened:
                store.close()
                root.close()
            POSTGRES.forget(self.place)

    def _mailbox_of(self, root: MessageStore, max_messages: int) -> MessageStore:
        names = {info.name for info in root.mailboxes()}
        if NEIGHBOUR not in names:
            box = root.mailbox(root.create_mailbox(NEIGHBOUR).name)
            count = self.neighbour_messages - 1
            others = add_many(box, [f"another of the neighbour's {n}" for n in range(count)])
            last = add(box, message("the neighbour's", tags="theirs"))
            box.set_read([last], True)
            self.neighbours.append((root, [*others, last], max_messages))
        if MAILBOX not in names:
            root.create_mailbox(MAILBOX)
        return root.mailbox(MAILBOX)

    def _check_neighbours(self) -> None:
        """Whatever the test did in its mailbox, the neighbour's mail is untouched."""
        for root, ids, max_messages in self.neighbours:
            try:
                box = root.mailbox(NEIGHBOUR)
            except StoreError:
                if not self.opening.backend.persists:
                    continue  # the test closed the only store that had it
                root = self.opening.backend.opener(self.place, 0, time.time)
                self.opened.append((root, root))
                box = root.mailbox(NEIGHBOUR)
            kept = ids[-max_messages:] if max_messages else ids
            page = box.list(limit=100)
            assert [s.id for s in page.messages] == kept[::-1]
            assert (page.total, page.unread) == (len(kept), len(kept) - 1)
            assert box.all_tags() == ["theirs"]
            assert box.summary(ids[-1]).tags == ["theirs"]


@pytest.fixture(scope="session", autouse=True)
def _postgres_cluster() -> Iterator[None]:
    """Stops the PostgreSQL cluster, if a test started it, when the session ends."""
    yield
    POSTGRES.stop()


@pytest.fixture(scope="session", params=OPENINGS, ids=lambda opening: opening.name)
def backend(request: pytest.FixtureRequest) -> Opening:
    return request.param


@pytest.fixture(
    scope="session",
    params=[opening for opening in OPENINGS if opening.backend.persists],
    ids=lambda opening: opening.name,
)
def persistent_backend(request: pytest.FixtureRequest) -> Opening:
    return request.param


@pytest.fixture
def new_store(backend: Opening, tmp_path: Path) -> Iterator[Stores]:
    """Call it (``new_store(max_messages=3)``) for a fresh store; each is closed after the test."""
    stores = Stores(backend, tmp_path)
    yield stores
    stores.close_all()


@pytest.fixture
def store(new_store: Stores) -> MessageStore:
    """A fresh store that keeps every message."""
    return new_store()


@pytest.fixture
def persistent(persistent_backend: Opening, tmp_path: Path) -> Iterator[Stores]:
    """Like ``new_store``, for backends whose mail outlives the store: every call opens the
    same mailbox, and ``reopen(store)`` closes one and opens the mailbox again."""
    stores = Stores(persistent_backend, tmp_path)
    yield stores
    stores.close_all()


@pytest.fixture(scope="module")
def sample(backend: Opening, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sample]:
    """Three known messages (see ``search_sample``), shared by a module's read-only tests."""
    stores = Stores(backend, tmp_path_factory.mktemp("sample"), CROWDED_NEIGHBOUR)
    try:
        yield fill(stores())
    finally:
        stores.close_all()
