"""The ingest loads every server is measured on, and what ours must achieve on each."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.loadgen import LoadSpec
from benchmarks.plan import Plan


@dataclass(frozen=True)
class Scenario:
    """One ingest load: a key, its label in the table, the load itself, and the targets: ours at
    least ``at_least`` times the floor's throughput (MB/s when ``megabytes``, else msg/s) and a
    p95 at most ``p95_at_most`` times the floor's (None: no target)."""

    key: str
    label: str
    spec: LoadSpec
    at_least: float
    p95_at_most: float | None
    megabytes: bool = False


def scenarios(plan: Plan) -> list[Scenario]:
    """K=20, K=1 and 200 KB messages."""

    def spec(key: str, total: int, per_connection: int, size: int) -> LoadSpec:
        # Each run's own recipients' domain lets a search find just its messages.
        return LoadSpec(
            total=total,
            connections=plan.connections,
            per_connection=per_connection,
            size=size,
            time_limit=plan.load_time_limit,
            domain=f"{key}.bench.example",
        )

    c = plan.connections
    return [
        Scenario("k20", f"K=20, C={c}, 4 KB", spec("k20", plan.k20_total, 20, plan.size), 1.1, 1.5),
        Scenario("k1", f"K=1, C={c}, 4 KB", spec("k1", plan.k1_total, 1, plan.size), 1.1, 1.5),
        Scenario(
            "big",
            f"200 KB, K=20, C={c}",
            spec("big", plan.big_total, 20, plan.big_size),
            1.0,
            None,
            megabytes=True,
        ),
    ]
