"""Processes sharing a PostgreSQL store hear of each other's new mail, once it is committed."""

from __future__ import annotations

import queue
from collections.abc import Iterator

import psycopg
import pytest

from mail_sandbox.store.postgres.notices import NoticeListener, announce
from tools.postgres_cluster import Cluster

WITHIN = 30.0


class Heard:
    """What one listener heard, in order."""

    def __init__(self) -> None:
        self.notices: queue.Queue[tuple[str, list[str]]] = queue.Queue()

    def __call__(self, mailbox: str, ids: list[str]) -> None:
        self.notices.put((mailbox, ids))

    def next(self) -> tuple[str, list[str]]:
        return self.notices.get(timeout=WITHIN)


@pytest.fixture
def listening(postgres_url: str) -> Iterator[dict[str, Heard]]:
    """Listeners of two processes, "a" and "b"."""
    heard = {"a": Heard(), "b": Heard()}
    listeners = [NoticeListener(postgres_url, origin, heard[origin]) for origin in heard]
    for listener in listeners:
        listener.start()
    yield heard
    for listener in listeners:
        listener.stop()


def test_another_process_hears_what_one_announces_and_the_announcer_does_not(
    postgres_url, listening
):
    with psycopg.connect(postgres_url) as conn:
        announce(conn, "a", "default", ["id-1", "id-2"])
    with psycopg.connect(postgres_url) as conn:
        announce(conn, "b", "ci-4711", ["id-3"])
    assert listening["b"].next() == ("default", ["id-1", "id-2"])
    assert listening["a"].next() == ("ci-4711", ["id-3"])
    assert listening["a"].notices.empty()
    assert listening["b"].notices.empty()


def test_a_notice_is_heard_only_once_its_transaction_commits(postgres_url, listening):
    with psycopg.connect(postgres_url) as slow, psycopg.connect(postgres_url) as quick:
        announce(slow, "a", "default", ["committed-second"])
        announce(quick, "a", "default", ["committed-first"])
        quick.commit()
        assert listening["b"].next() == ("default", ["committed-first"])
        slow.commit()
    assert listening["b"].next() == ("default", ["committed-second"])


def test_a_burst_too_big_for_one_notice_is_heard_whole(postgres_url, listening):
    ids = [f"{n:022d}" for n in range(1000)]
    with psycopg.connect(postgres_url) as conn:
        announce(conn, "a", "default", ids)
    heard: list[str] = []
    while len(heard) < len(ids):
        mailbox, more = listening["b"].next()
        assert mailbox == "default"
        heard += more
    assert heard == ids


def test_listening_resumes_after_the_database_comes_back(cluster: Cluster, postgres_url, listening):
    cluster.pg_ctl("stop", "-m", "fast")
    cluster.pg_ctl("start")
    # The listener connects again on its own; keep announcing until it has.
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for attempt in range(int(WITHIN / 0.2)):
            announce(conn, "a", "default", [f"after-{attempt}"])
            try:
                mailbox, ids = listening["b"].notices.get(timeout=0.2)
                break
            except queue.Empty:
                continue
        else:
            pytest.fail("the listener never heard again")
    assert mailbox == "default" and ids[0].startswith("after-")
