"""The PostgreSQL part of the benchmark: two servers' loads told as one, the rows' targets, and
CPU time read from /proc."""

from __future__ import annotations

import subprocess
import sys

import pytest

from benchmarks.ingest_rows import FLOOR
from benchmarks.loadgen import LoadResult, LoadSpec
from benchmarks.plan import Plan
from benchmarks.postgres import _ingest_rows
from benchmarks.postgres_cpu import tree_cpu_seconds
from benchmarks.postgres_ingest import ONE, TWO, PgIngest, combined
from benchmarks.run import build_parser
from benchmarks.session import Session


def run(per_second: float, p95_ms: float, *, sent: int = 1000, started: float = 0.0) -> LoadResult:
    """What a load of ``sent`` messages at ``per_second``, each answered in ``p95_ms``, measured."""
    seconds = sent / per_second
    return LoadResult(
        LoadSpec(total=sent),
        started=started,
        finished=started + seconds,
        sent=sent,
        bytes_sent=sent * 4096,
        latencies=[p95_ms / 1000] * sent,
        completions=[started + seconds * (i + 1) / sent for i in range(sent)],
    )


def test_two_servers_loads_count_as_one_from_the_first_start_to_the_last_250() -> None:
    # 500 in 1 s to A, 500 in 2 s to B started 0.5 s later: 1,000 in 2.5 s.
    together = combined(
        LoadSpec(total=1000), [run(500, 4.0, sent=500), run(250, 30.0, sent=500, started=0.5)]
    )

    assert together.sent == 1000
    assert together.messages_per_second == pytest.approx(400)
    assert together.latency(95) == pytest.approx(0.030)
    assert together.completions == sorted(together.completions)


def test_only_one_process_at_k20_is_held_to_the_floor(tmp_path) -> None:
    plan = Plan.quick_plan()
    ingest = PgIngest()
    for number in (1, 2, 3):
        for key in ("k20", "k1"):
            ingest.measured[(FLOOR, key, number)] = run(1000, 2.0)
            ingest.measured[(ONE, key, number)] = run(700, 20.0)
            ingest.measured[(TWO, key, number)] = run(500, 40.0)

    rows = {row.figure: row for row in _ingest_rows(Session(plan, tmp_path), ingest)}

    one_k20 = rows["durable ingest K=20, C=10, 4 KB on PostgreSQL, 1 process"]
    assert (one_k20.ratio, one_k20.result) == (pytest.approx(0.7), "FAIL")  # short of 0.8x
    assert rows["durable ingest K=1, C=10, 4 KB on PostgreSQL, 1 process"].result == "-"
    two = (
        "durable ingest K=20, C=10, 4 KB on PostgreSQL, 2 processes sharing one database (C=5 each)"
    )
    assert (rows[two].value, rows[two].result) == (pytest.approx(500), "-")
    assert len(rows) == 8


def test_cpu_of_a_tree_counts_a_child_that_has_ended() -> None:
    # The child spins for 0.3 s of CPU and ends; the shell above it waits and stays.
    spin = "import time\nwhile time.process_time() < 0.3: pass"
    shell = subprocess.Popen(
        ["sh", "-c", f'"{sys.executable}" -c "$0"; echo done; exec sleep 30', spin],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert shell.stdout is not None
        assert shell.stdout.readline() == "done\n"
        assert tree_cpu_seconds(shell.pid) >= 0.29
    finally:
        shell.kill()
        shell.wait()


def test_the_postgres_part_can_be_chosen_alone() -> None:
    assert build_parser().parse_args(["--only", "postgres"]).only == ["postgres"]
