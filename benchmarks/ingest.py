"""Ingest throughput and latency: the floor, the reference servers and ours, side by side.

Each round runs every scenario on the floor and on ours back to back, each on a fresh server,
so that a round's ratio compares figures of the same moment on a shared machine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks import probes, servers
from benchmarks.ingest_rows import FLOOR, OURS, SMTP_SINK, UVLOOP, Measured, References, ingest_rows
from benchmarks.loadgen import LoadResult
from benchmarks.report import Row, at_most
from benchmarks.rounds import ratio
from benchmarks.scenarios import Scenario, scenarios
from benchmarks.session import Session, arun, brief, load, rate, warm_up


def measure_ingest(session: Session) -> list[Row]:
    """Throughput and latency of every server on every scenario, and how soon the first
    round's K=20 burst into our server is all searchable."""
    plan = session.plan
    measured: Measured = {}
    extras: list[Row] = []
    for number in range(1, plan.rounds + 1):
        for scenario in scenarios(plan):
            # Who goes first alternates, so neither always meets the machine the other left.
            order = (FLOOR, OURS) if number % 2 else (OURS, FLOOR)
            for who in order:
                name = f"{who}-{scenario.key}-{number}"
                with session.step(name):
                    if who == OURS:
                        result = _ours_ingest(session, scenario, name, number == 1, extras)
                    else:
                        with servers.reference_smtp(session.workdir, loop="asyncio") as server:
                            warm_up(server, plan)
                            result = load(server, scenario.spec)
                    measured[(who, scenario.key, number)] = result
                    session.runs[name] = result.summary()
                    session.say(f"{name}: {brief(result)}")
            _say_ratio(session, scenario, number, measured)
    references, sink_missing = _measure_references(session)
    return ingest_rows(plan, scenarios(plan), measured, references, sink_missing) + extras


def _say_ratio(session: Session, scenario: Scenario, number: int, measured: Measured) -> None:
    """The round's throughput ratio as a progress line."""
    ours, floor = (
        rate(measured.get((who, scenario.key, number)), scenario.megabytes) for who in (OURS, FLOOR)
    )
    figure = ratio(ours, floor)
    if figure is not None:
        session.say(f"{scenario.key} round {number}: ours / floor = {figure:.2f}")


def _measure_references(session: Session) -> tuple[References, bool]:
    """One run of each reference server on every scenario; also whether smtp-sink is missing."""
    plan = session.plan
    factories: list[tuple[str, Callable[[], Any]]] = []
    if plan.uvloop_reference:
        factories.append((UVLOOP, lambda: servers.reference_smtp(session.workdir, loop="uvloop")))
    sink_missing = servers.smtp_sink_path() is None
    if not sink_missing:
        factories.append((SMTP_SINK, lambda: servers.smtp_sink(session.workdir)))
    references: References = {}
    for who, factory in factories:
        for scenario in scenarios(plan):
            name = f"{who}-{scenario.key}"
            with session.step(name):
                with factory() as server:
                    warm_up(server, plan)
                    result = load(server, scenario.spec)
                references[(who, scenario.key)] = result
                session.runs[name] = result.summary()
                session.say(f"{name}: {brief(result)}")
    return references, sink_missing


def _ours_ingest(
    session: Session, scenario: Scenario, name: str, first_round: bool, extras: list[Row]
) -> LoadResult:
    """One ingest run of our server; after the first round's K=20 run, the burst probe."""
    plan = session.plan
    with servers.capture_server(session.workdir, name) as server:
        warm_up(server, plan)
        result = load(server, scenario.spec)
        if first_round and scenario.key == "k20":
            extras.append(_burst_row(session, server, result))
    return result


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
