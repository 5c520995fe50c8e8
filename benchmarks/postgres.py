"""The PostgreSQL part: mail-sandbox keeping its mail in PostgreSQL (``--db postgresql://...``),
one process and two sharing a database, against the floor; CPU per message of the servers and
of PostgreSQL; how soon a message accepted by one server is seen by another's wait; and list
and search latency with the plan's ``pg_stored`` messages stored.

One throwaway cluster (``tools.postgres_cluster``) with fsync on, like a database a team would
run, serves the whole part; each measurement has its own database on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from benchmarks import probes, servers
from benchmarks.fill_store import fill_in_child
from benchmarks.http_figures import api_rows, p95_row
from benchmarks.ingest_rows import FLOOR, latency_row, throughput_row
from benchmarks.postgres_ingest import (
    ONE,
    TWO,
    CpuSample,
    PgIngest,
    measure_pg_ingest,
    pg_scenarios,
)
from benchmarks.postgres_visibility import visible_on_other
from benchmarks.report import Row
from benchmarks.rounds import median
from benchmarks.session import Session, arun
from tools.postgres_cluster import Cluster, PostgresMissingError, start_cluster

LABELS = {ONE: "on PostgreSQL, 1 process", TWO: "on PostgreSQL, 2 processes sharing one database"}
STORED_DOMAIN = "pg-stored.bench.example"


def measure_postgres(session: Session) -> list[Row]:
    """Every PostgreSQL row; one row saying why, when PostgreSQL is not installed."""
    try:
        cluster = start_cluster(durable=True)
    except PostgresMissingError as exc:
        return [Row("PostgreSQL rows", None, "", detail=f"not measured: {exc}")]
    rows: list[Row] = []
    try:
        ingest = measure_pg_ingest(session, cluster)
        rows.extend(_ingest_rows(session, ingest))
        rows.extend(_cpu_rows(ingest))
        with session.step("pg-stored"):
            rows.extend(_stored_rows(session, cluster))
    finally:
        cluster.stop()
    return rows


def _ingest_rows(session: Session, ingest: PgIngest) -> list[Row]:
    """msg/s and p95 of one process and of two, each beside the floor of the same rounds; only
    one process at K=20 has a target."""
    plan = session.plan
    rows = []
    for who in (ONE, TWO):
        for scenario in pg_scenarios(plan):
            label = f"{scenario.label} {LABELS[who]}"
            if who == TWO:
                label += f" (C={plan.connections // 2} each)"
            labelled = dataclasses.replace(scenario, label=label)
            ours, floor = (
                [ingest.measured.get((each, scenario.key, n)) for n in range(1, plan.rounds + 1)]
                for each in (who, FLOOR)
            )
            throughput = throughput_row(labelled, ours, floor)
            if who == TWO or scenario.key != "k20":
                throughput = dataclasses.replace(throughput, target=None)
            rows.extend([throughput, latency_row(labelled, ours, floor)])
    return rows


def _cpu_rows(ingest: PgIngest) -> list[Row]:
    """µs of CPU per message at K=20, of mail-sandbox and of PostgreSQL (for information)."""
    rows = []
    for part, whose in (("ours", "mail-sandbox (server process and its children)"),
                        ("postgres", "PostgreSQL (every process of the cluster)")):  # fmt: skip
        one, two = (_per_message(ingest.cpu[who], part) for who in (ONE, TWO))
        rows.append(
            Row(
                f"CPU per message, K=20 on PostgreSQL: {whose}",
                one,
                "µs",
                detail=f"1 process, median of {len(ingest.cpu[ONE])} rounds; "
                f"2 processes: {_format(two)} µs (both servers together); user+system "
                "time from /proc during the load",
            )
        )
    return rows


def _per_message(samples: Sequence[CpuSample], part: str) -> float | None:
    return median(
        getattr(sample, part) / sample.messages * 1e6 for sample in samples if sample.messages
    )


def _format(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _stored_rows(session: Session, cluster: Cluster) -> list[Row]:
    """List and search on a database holding ``pg_stored`` messages, then how soon server B's
    wait returns what server A acknowledged, on that database."""
    url = cluster.new_database()
    try:
        added = _fill(session, url)
        with (
            servers.capture_server(session.workdir, "pg-stored-a", db=url) as first,
            servers.capture_server(session.workdir, "pg-stored-b", db=url) as second,
        ):
            assert first.http_url is not None and second.http_url is not None
            stored = arun(probes.stored_count(first.http_url))
            listed = api_rows(session, first, STORED_DOMAIN, added, stored, False)
            rows = [dataclasses.replace(row, figure=f"PostgreSQL: {row.figure}") for row in listed]
            rows.append(_visibility_row(session, first, second))
    finally:
        cluster.drop_database(url)
    return rows


def _fill(session: Session, url: str) -> int:
    """Fill the database at ``url`` through the store's API (``fill_store``) within the plan's
    time, from one process; returns how many went in."""
    plan = session.plan
    filled = fill_in_child(
        ["--db", url, "--count", str(plan.pg_stored), "--domain", STORED_DOMAIN],
        time_limit=plan.pg_fill_time_limit,
    )
    session.say(f"pg-stored: {filled['added']:,} messages in {filled['seconds']} s")
    return int(filled["added"])


def _visibility_row(
    session: Session, first: servers.RunningServer, second: servers.RunningServer
) -> Row:
    """p95 from the 250 of server A to the return of a wait on server B."""
    plan = session.plan
    assert second.http_url is not None
    latencies = arun(
        visible_on_other(
            first.host,
            first.smtp_port,
            second.http_url,
            rate=plan.visible_rate,
            count=plan.visible_count,
            time_limit=plan.visible_time_limit,
            domain="pg-visible.bench.example",
        )
    )
    return p95_row(
        session,
        "PostgreSQL: visible latency, 250 on server A -> wait returns on B",
        latencies,
        at_most_ms=50.0,
        detail=f"{len(latencies)} msgs one at a time, at most {plan.visible_rate:g} msg/s; "
        "B hears by NOTIFY",
        with_max=True,
    )
