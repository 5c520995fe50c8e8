"""Servers sharing one PostgreSQL store keep every message they acknowledged through faults: a
server killed mid-flow, the database stopped and started under them, servers starting at once
on an empty database, transactions deadlocking."""

from __future__ import annotations

import signal
import smtplib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from shared_servers import get, started, stopped, stored_subjects
from smtp_flow import MESSAGE, MailFlow, Sent

from mail_sandbox.defaults import MAX_PAGE_SIZE
from mail_sandbox.store.postgres.database import Database
from tools.postgres_cluster import Cluster, start_cluster

#: Messages in the flows below: fewer than a page holds, so one listing shows them all.
SENDERS = 4
PER_SENDER = 200
assert SENDERS * PER_SENDER <= MAX_PAGE_SIZE


@pytest.fixture
def database(postgres_url: str) -> str:
    return postgres_url


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    """A cluster of the test's own, for a test that stops it: others keep theirs running."""
    cluster = start_cluster()
    yield cluster
    cluster.stop()


def send(port: int, subject: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail("app@example.com", ["ann@example.com"], MESSAGE.format(subject))


def subjects(sent: list[Sent], reply: int | None) -> set[str]:
    return {s.subject for s in sent if s.reply == reply}


def test_a_killed_server_loses_no_acknowledged_message(database: str):
    first, first_smtp, first_url, _first_output = started(database)
    try:
        second, second_smtp, _second_url, _second_output = started(database)
        try:
            flow = MailFlow("kill", [first_smtp, second_smtp], threads=SENDERS)
            flow.grant(SENDERS * PER_SENDER)
            flow.wait_for(lambda sent: len(sent) >= SENDERS * PER_SENDER // 3)
            second.send_signal(signal.SIGKILL)
            second.wait(timeout=30)
            flow.wait_for(lambda sent: len(sent) == SENDERS * PER_SENDER)
            sent = flow.finish()
        finally:
            stopped(second)
        stored = stored_subjects(first_url)
    finally:
        stopped(first)

    accepted = subjects(sent, 250)
    failed = [s for s in sent if s.reply != 250]
    # The killed server took mail before the kill; after it, its senders could not connect,
    # and they went on through the survivor, which took everything it was given.
    assert any(s.port == second_smtp and s.reply == 250 for s in sent)
    assert failed and all(s.port == second_smtp and s.reply is None for s in failed), failed[:5]
    assert accepted <= set(stored), sorted(accepted - set(stored))[:10]
    # Beyond those, only messages whose reply the kill cut off may be stored, each once.
    assert set(stored) <= accepted | {s.subject for s in failed}
    assert max(stored.values()) == 1


def test_mail_waits_out_a_stopped_database(own_cluster: Cluster):
    database = own_cluster.new_database()
    server, smtp_port, url, output = started(database)
    try:
        flow = MailFlow("outage", [smtp_port], threads=3)
        flow.grant(30)
        flow.wait_for(lambda sent: len(subjects(sent, 250)) >= 30)

        own_cluster.pg_ctl("stop", "-m", "fast")
        away = time.monotonic()
        flow.grant(300)
        flow.wait_for(lambda sent: sum(s.reply == 451 and s.began > away for s in sent) >= 3)
        status, body = get(f"{url}/api/v1/messages")
        assert status == 503 and body["Error"], body
        during = [s for s in flow.sent() if s.began > away]

        own_cluster.pg_ctl("start")
        back = time.monotonic()
        flow.grant(300)
        flow.wait_for(lambda sent: sum(s.reply == 250 and s.began > back for s in sent) >= 30)
        sent = flow.finish()
        stored = stored_subjects(url)
    finally:
        stopped(server)
    log = output.rest()

    # While the database was away every message got a temporary failure, none a 250.
    assert {s.reply for s in during} == {451}, during[:5]
    assert {s.reply for s in sent} <= {250, 451}, [s for s in sent if s.reply not in (250, 451)]
    assert subjects(sent, 250) <= set(stored), sorted(subjects(sent, 250) - set(stored))[:10]
    assert not subjects(sent, 451) & set(stored), sorted(subjects(sent, 451) & set(stored))
    assert max(stored.values()) == 1
    # Many refused messages, one line about the outage.
    assert len([line for line in log.splitlines() if "unreachable" in line]) == 1, log


def test_servers_starting_at_once_make_the_tables_once(database: str):
    with ThreadPoolExecutor(2) as pool:
        starting = [pool.submit(started, database) for _ in range(2)]
    servers = [future.result() for future in starting if future.exception() is None]
    try:
        assert len(servers) == 2, [future.exception() for future in starting]
        with psycopg.connect(database) as conn:
            assert conn.execute("SELECT count(*) FROM mail_sandbox_schema").fetchone() == (1,)
        for number, (_process, smtp_port, _url, _output) in enumerate(servers):
            send(smtp_port, f"through server {number}")
        for _process, _smtp_port, url, _output in servers:
            assert stored_subjects(url) == {"through server 0": 1, "through server 1": 1}
    finally:
        for process, *_rest in servers:
            stopped(process)


def test_a_deadlock_is_not_logged_as_an_outage(database: str, caplog: pytest.LogCaptureFixture):
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE rows (k integer PRIMARY KEY)")
        conn.execute("INSERT INTO rows VALUES (1), (2)")
    store = Database(database, database, 0)
    both_hold_one = threading.Barrier(2, timeout=30)

    def lock(first: int, second: int) -> None:
        with store.transaction() as conn:
            conn.execute("UPDATE rows SET k = k WHERE k = %s", (first,))
            both_hold_one.wait()
            conn.execute("UPDATE rows SET k = k WHERE k = %s", (second,))

    try:
        with ThreadPoolExecutor(2) as pool:
            locking = [pool.submit(lock, 1, 2), pool.submit(lock, 2, 1)]
        errors = [str(future.exception()) for future in locking if future.exception()]
        with store.transaction() as conn:
            assert conn.execute("SELECT count(*) FROM rows").fetchone() == (2,)
    finally:
        store.close()
    assert len(errors) == 1 and "deadlock detected" in errors[0], errors
    assert not [r for r in caplog.records if "reachable" in r.getMessage()], caplog.text
