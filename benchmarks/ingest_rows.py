"""The table's ingest rows, made from what the runs measured: ours against the floor over the
rounds (judged on the median of the per-round ratios), then the reference servers."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.loadgen import LoadResult
from benchmarks.plan import Plan
from benchmarks.report import Row, at_least_floor, at_most_floor
from benchmarks.rounds import Round, median
from benchmarks.scenarios import Scenario
from benchmarks.session import MS, load_detail, load_problems, p95_ms, rate

OURS = "ours"
FLOOR = "floor"
UVLOOP = "aiosmtpd on uvloop"
SMTP_SINK = "Postfix smtp-sink"

#: ``(who, scenario key, round from 1)`` -> what that run measured; a run that failed is absent.
Measured = dict[tuple[str, str, int], LoadResult]
#: ``(reference server, scenario key)`` -> its one run.
References = dict[tuple[str, str], LoadResult]

Runs = Sequence[LoadResult | None]


def ingest_rows(
    plan: Plan,
    scenarios: Sequence[Scenario],
    measured: Measured,
    references: References,
    sink_missing: bool,
) -> list[Row]:
    """Throughput and p95 of ours against the floor for every scenario, then the references."""
    rows: list[Row] = []
    for scenario in scenarios:
        ours, floor = (
            [measured.get((who, scenario.key, number)) for number in range(1, plan.rounds + 1)]
            for who in (OURS, FLOOR)
        )
        rows.append(throughput_row(scenario, ours, floor))
        rows.append(latency_row(scenario, ours, floor))
    for who in (UVLOOP, SMTP_SINK):
        for scenario in scenarios:
            rows.append(_reference_row(plan, scenario, who, references, measured, sink_missing))
    return rows


def throughput_row(scenario: Scenario, ours: Runs, floor: Runs) -> Row:
    """msg/s (MB/s) of ours against the floor's, round by round."""
    rounds = [
        Round(rate(mine, scenario.megabytes), rate(theirs, scenario.megabytes))
        for mine, theirs in zip(ours, floor, strict=True)
    ]
    return Row.over_rounds(
        f"durable ingest {scenario.label}",
        rounds,
        _unit(scenario),
        at_least_floor(scenario.at_least),
        _runs_detail(ours, floor),
    )


def latency_row(scenario: Scenario, ours: Runs, floor: Runs) -> Row:
    """p95 from the end of DATA to the 250, ours against the floor's, round by round."""
    rounds = [Round(p95_ms(mine), p95_ms(theirs)) for mine, theirs in zip(ours, floor, strict=True)]
    target = None if scenario.p95_at_most is None else at_most_floor(scenario.p95_at_most)
    return Row.over_rounds(
        f"  p95 DATA end -> 250, {scenario.label}",
        rounds,
        "ms",
        target,
        _latency_detail(ours, floor),
    )


def _reference_row(
    plan: Plan,
    scenario: Scenario,
    who: str,
    references: References,
    measured: Measured,
    sink_missing: bool,
) -> Row:
    """A reference server's one run, for information, against the floor's median."""
    result = references.get((who, scenario.key))
    if who == SMTP_SINK and sink_missing:
        detail = "not installed (Debian: apt-get install postfix)"
    elif who == UVLOOP and not plan.uvloop_reference:
        detail = "skipped (--quick)"
    else:
        detail = load_detail(result)
    floor = median(
        rate(measured.get((FLOOR, scenario.key, number)), scenario.megabytes)
        for number in range(1, plan.rounds + 1)
    )
    return Row(
        f"reference: {who}, {scenario.label}",
        rate(result, scenario.megabytes),
        _unit(scenario),
        floor if result else None,
        None,
        detail + ("; floor: median of the rounds" if result else ""),
    )


def _unit(scenario: Scenario) -> str:
    return "MB/s" if scenario.megabytes else "msg/s"


def _runs_detail(ours: Runs, floor: Runs) -> str:
    """Messages and seconds of a round (medians), and every run that failed or fell short."""

    def typical(runs: Runs) -> str:
        done = [run for run in runs if run is not None]
        if not done:
            return "not measured"
        sent = median(run.sent for run in done) or 0
        seconds = median(run.elapsed for run in done) or 0
        return f"{sent:,.0f} msgs in {seconds:.1f} s"

    parts = [f"a round: ours {typical(ours)}, floor {typical(floor)} (medians)"]
    for who, runs in ((OURS, ours), (FLOOR, floor)):
        for number, run in enumerate(runs, 1):
            problems = ["not measured"] if run is None else load_problems(run)
            parts.extend(f"{who} round {number} {problem}" for problem in problems)
    return "; ".join(parts)


def _latency_detail(ours: Runs, floor: Runs) -> str:
    """p50 and p99 of ours and of the floor, each the median of the rounds."""
    return (
        ", ".join(
            f"p{percent} ours {_median_ms(ours, percent)} / floor {_median_ms(floor, percent)} ms"
            for percent in (50, 99)
        )
        + " (medians)"
    )


def _median_ms(runs: Runs, percent: float) -> str:
    value = median(run.latency(percent) * MS for run in runs if run is not None and run.latencies)
    return "-" if value is None else f"{value:.1f}"
