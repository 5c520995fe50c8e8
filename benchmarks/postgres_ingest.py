"""Ingest into PostgreSQL: one mail-sandbox process on a database, and two sharing one with the
load split between them, against the floor in the same rounds; and the CPU each message costs
the servers and PostgreSQL.

Every run gets a fresh database on the one cluster, so that no run meets the tables, the dead
rows or the autovacuum work another left.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from benchmarks import loadgen, servers
from benchmarks.ingest_rows import FLOOR, Measured
from benchmarks.loadgen import MAX_ERRORS, LoadResult, LoadSpec
from benchmarks.plan import Plan
from benchmarks.postgres_cpu import postmaster_pid, tree_cpu_seconds
from benchmarks.scenarios import Scenario
from benchmarks.session import Session, arun, brief, load, warm_up
from tools.postgres_cluster import Cluster

ONE = "pg-one"
TWO = "pg-two"
#: Target of one process at K=20: this share of the floor's msg/s.
AT_LEAST = 0.8


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds spent during one K=20 load, by the capture servers (with their children)
    and by the whole PostgreSQL cluster, and the messages it acknowledged."""

    messages: int
    ours: float
    postgres: float


@dataclass
class PgIngest:
    """What the rounds measured: every load (``Measured``, ``ONE``/``TWO``/``FLOOR``), and the
    K=20 runs' CPU samples of ``ONE`` and ``TWO``, round by round."""

    measured: Measured = field(default_factory=dict)
    cpu: dict[str, list[CpuSample]] = field(default_factory=lambda: {ONE: [], TWO: []})


def pg_scenarios(plan: Plan) -> list[Scenario]:
    """K=20 and K=1, 4 KB, over the plan's connections (the two-process runs split them)."""

    def spec(key: str, total: int, per_connection: int) -> LoadSpec:
        return LoadSpec(
            total=total,
            connections=plan.connections,
            per_connection=per_connection,
            size=plan.size,
            time_limit=plan.pg_load_time_limit,
            domain=f"pg-{key}.bench.example",
        )

    c = plan.connections
    return [
        Scenario("k20", f"K=20, C={c}, 4 KB", spec("k20", plan.pg_k20_total, 20), AT_LEAST, None),
        Scenario("k1", f"K=1, C={c}, 4 KB", spec("k1", plan.pg_k1_total, 1), AT_LEAST, None),
    ]


def measure_pg_ingest(session: Session, cluster: Cluster) -> PgIngest:
    """Every round: the floor, one process and two processes on each scenario, each on fresh
    servers, who goes first alternating."""
    plan = session.plan
    found = PgIngest()
    for number in range(1, plan.rounds + 1):
        for scenario in pg_scenarios(plan):
            order = (FLOOR, ONE, TWO) if number % 2 else (TWO, ONE, FLOOR)
            for who in order:
                name = f"{who}-{scenario.key}-{number}"
                with session.step(name):
                    cpu = None
                    if who == FLOOR:
                        with servers.reference_smtp(session.workdir) as server:
                            warm_up(server, plan)
                            result = load(server, scenario.spec)
                    else:
                        result, cpu = _ours(session, cluster, scenario.spec, name, who == TWO)
                    found.measured[(who, scenario.key, number)] = result
                    if cpu is not None and scenario.key == "k20":
                        found.cpu[who].append(cpu)
                    session.runs[name] = result.summary()
                    session.say(f"{name}: {brief(result)}")
    return found


def _ours(
    session: Session, cluster: Cluster, spec: LoadSpec, name: str, two: bool
) -> tuple[LoadResult, CpuSample]:
    """One load on one server, or split over two, on a fresh database; and its CPU."""
    postmaster = postmaster_pid(cluster.folder / "data")
    with _database(cluster) as url, ExitStack() as stack:
        names = [f"{name}-a", f"{name}-b"] if two else [name]
        started = [
            stack.enter_context(servers.capture_server(session.workdir, each, db=url))
            for each in names
        ]
        for server in started:
            warm_up(server, session.plan)
        pids = [server.process.pid for server in started]
        before = _cpu(pids, postmaster)
        result = arun(split_load(started, spec))
        after = _cpu(pids, postmaster)
    cpu = CpuSample(result.sent, after[0] - before[0], after[1] - before[1])
    return result, cpu


@contextmanager
def _database(cluster: Cluster) -> Iterator[str]:
    url = cluster.new_database()
    try:
        yield url
    finally:
        cluster.drop_database(url)


def _cpu(pids: Sequence[int], postmaster: int) -> tuple[float, float]:
    return sum(tree_cpu_seconds(pid) for pid in pids), tree_cpu_seconds(postmaster)


async def split_load(targets: Sequence[servers.RunningServer], spec: LoadSpec) -> LoadResult:
    """``spec``'s messages and connections split evenly over ``targets``, sent at once from
    this one event loop (as one server's load is); the figures of them all together."""
    parts = []
    first = spec.first_seq
    for index in range(len(targets)):
        total = spec.total // len(targets) + (index < spec.total % len(targets))
        connections = max(1, spec.connections // len(targets))
        parts.append(
            dataclasses.replace(spec, total=total, connections=connections, first_seq=first)
        )
        first += total
    results = await asyncio.gather(
        *(
            loadgen.run_load(t.host, t.smtp_port, part)
            for t, part in zip(targets, parts, strict=True)
        )
    )
    return combined(spec, results)


def combined(spec: LoadSpec, parts: Sequence[LoadResult]) -> LoadResult:
    """Loads run side by side as one: from the first start to the last 250."""
    return LoadResult(
        spec,
        started=min(part.started for part in parts),
        finished=max(part.finished for part in parts),
        sent=sum(part.sent for part in parts),
        failed=sum(part.failed for part in parts),
        bytes_sent=sum(part.bytes_sent for part in parts),
        timed_out=any(part.timed_out for part in parts),
        latencies=[latency for part in parts for latency in part.latencies],
        completions=sorted(done for part in parts for done in part.completions),
        errors=[error for part in parts for error in part.errors][:MAX_ERRORS],
    )
