"""Ingest throughput and latency: the floor, the reference servers and ours, side by side."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks import probes, servers
from benchmarks.loadgen import LoadResult, LoadSpec
from benchmarks.plan import Plan
from benchmarks.report import Row, at_least_floor, at_most, at_most_floor
from benchmarks.session import (
    Session,
    arun,
    brief,
    latency_detail,
    load,
    load_detail,
    p95_ms,
    rate,
    warm_up,
)


@dataclass(frozen=True)
class Scenario:
    """One ingest load: a key, its label in the table, and the load itself."""

    key: str
    label: str
    spec: LoadSpec


def scenarios(plan: Plan) -> list[Scenario]:
    """K=20, K=1 and 200 KB messages, as in the issue's table."""

    def common(key: str) -> dict[str, Any]:
        # Each run's own recipients' domain lets a search find just its messages.
        return {
            "connections": plan.connections,
            "time_limit": plan.load_time_limit,
            "domain": f"{key}.bench.example",
        }

    return [
        Scenario(
            "k20",
            f"K=20, C={plan.connections}, 4 KB",
            LoadSpec(total=plan.k20_total, per_connection=20, size=plan.size, **common("k20")),
        ),
        Scenario(
            "k1",
            f"K=1, C={plan.connections}, 4 KB",
            LoadSpec(total=plan.k1_total, per_connection=1, size=plan.size, **common("k1")),
        ),
        Scenario(
            "big",
            f"200 KB, K=20, C={plan.connections}",
            LoadSpec(total=plan.big_total, per_connection=20, size=plan.big_size, **common("big")),
        ),
    ]


def measure_ingest(session: Session) -> list[Row]:
    """Throughput and latency of every server on every scenario, and how soon the first
    round's K=20 burst into our server is all searchable."""
    plan = session.plan
    workdir = session.workdir
    best: dict[tuple[str, str], LoadResult] = {}
    extras: list[Row] = []
    for round_number in range(plan.rounds):
        for scenario in scenarios(plan):
            for who in ("floor", "ours"):
                name = f"{who}-{scenario.key}-{round_number}"
                with session.step(name):
                    if who == "ours":
                        result = _ours_ingest(session, scenario, name, round_number, extras)
                    else:
                        with servers.reference_smtp(workdir, loop="asyncio") as server:
                            warm_up(server, plan)
                            result = load(server, scenario.spec)
                    _keep_best(best, (who, scenario.key), result)
                    session.runs[name] = result.summary()
                    session.say(f"{name}: {brief(result)}")
    references: list[tuple[str, Callable[[], Any]]] = []
    if plan.uvloop_reference:
        references.append(
            ("aiosmtpd on uvloop", lambda: servers.reference_smtp(workdir, loop="uvloop"))
        )
    sink_missing = servers.smtp_sink_path() is None
    if not sink_missing:
        references.append(("Postfix smtp-sink", lambda: servers.smtp_sink(workdir)))
    for who, factory in references:
        for scenario in scenarios(plan):
            name = f"{who}-{scenario.key}"
            with session.step(name):
                with factory() as server:
                    warm_up(server, plan)
                    result = load(server, scenario.spec)
                best[(who, scenario.key)] = result
                session.runs[name] = result.summary()
                session.say(f"{name}: {brief(result)}")
    return _ingest_rows(plan, best, sink_missing) + extras


def _ours_ingest(
    session: Session, scenario: Scenario, name: str, round_number: int, extras: list[Row]
) -> LoadResult:
    """One ingest run of our server; after the first round's K=20 run, the burst probe."""
    plan = session.plan
    with servers.capture_server(session.workdir, name) as server:
        warm_up(server, plan)
        result = load(server, scenario.spec)
        if round_number == 0 and scenario.key == "k20":
            extras.append(_burst_row(session, server, result))
    return result


def _keep_best(best: dict[tuple[str, str], LoadResult], key: tuple[str, str], new: LoadResult):
    old = best.get(key)
    if old is None or new.messages_per_second > old.messages_per_second:
        best[key] = new


def _ingest_rows(
    plan: Plan, best: dict[tuple[str, str], LoadResult], sink_missing: bool
) -> list[Row]:
    rows: list[Row] = []
    rounds = f"best of {plan.rounds}" if plan.rounds > 1 else "1 round"
    for scenario in scenarios(plan):
        ours = best.get(("ours", scenario.key))
        floor = best.get(("floor", scenario.key))
        big = scenario.key == "big"
        rows.append(
            Row(
                f"durable ingest {scenario.label}",
                rate(ours, big),
                "MB/s" if big else "msg/s",
                rate(floor, big),
                at_least_floor(1.0),
                load_detail(ours, rounds),
            )
        )
        rows.append(
            Row(
                f"  p95 DATA end -> 250, {scenario.label}",
                p95_ms(ours),
                "ms",
                p95_ms(floor),
                None if big else at_most_floor(1.5),
                latency_detail(ours, floor),
            )
        )
    for who in ("aiosmtpd on uvloop", "Postfix smtp-sink"):
        for scenario in scenarios(plan):
            big = scenario.key == "big"
            result = best.get((who, scenario.key))
            if who == "Postfix smtp-sink" and sink_missing:
                detail = "not installed (Debian: apt-get install postfix)"
            elif who == "aiosmtpd on uvloop" and not plan.uvloop_reference:
                detail = "skipped (--quick)"
            else:
                detail = load_detail(result)
            floor = best.get(("floor", scenario.key)) if result else None
            rows.append(
                Row(
                    f"reference: {who}, {scenario.label}",
                    rate(result, big),
                    "MB/s" if big else "msg/s",
                    rate(floor, big),
                    None,
                    detail,
                )
            )
    return rows


def _burst_row(session: Session, server: servers.RunningServer, result: LoadResult) -> Row:
    """Seconds from the last 250 of the K=20 run until a search counts all of its messages."""
    label = f"burst of {result.sent:,}: all searchable after its last 250"
    if not result.completions:
        return Row(label, None, "s", target=at_most(5.0), detail="nothing was sent")
    assert server.http_url is not None
    seconds = arun(
        probes.searchable_after(
            server.http_url,
            f"to:{result.spec.domain}",
            result.sent,
            since=max(result.completions),
            time_limit=30.0,
        )
    )
    detail = f"searched with to:DOMAIN every {probes.SEARCH_POLL_SECONDS * 1000:g} ms"
    if seconds is None:
        detail = "not all searchable within 30 s"
    session.say(f"{label}: {seconds}")
    return Row(label, seconds, "s", target=at_most(5.0), detail=detail)
