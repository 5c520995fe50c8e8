"""The benchmark's verdicts over rounds: the median of the per-round ratios, round by round."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.ingest_rows import FLOOR, OURS, ingest_rows
from benchmarks.loadgen import LoadResult, LoadSpec
from benchmarks.plan import Plan
from benchmarks.report import Row, at_least_floor, format_table, write_json
from benchmarks.rounds import Round
from benchmarks.run import build_parser, choose_plan
from benchmarks.scenarios import scenarios


def run(per_second: float, p95_ms: float, *, sent: int = 1000, size: int = 4096) -> LoadResult:
    """What a load run of ``sent`` messages at ``per_second``, each answered in ``p95_ms``,
    would have measured."""
    seconds = sent / per_second
    return LoadResult(
        LoadSpec(total=sent, size=size),
        started=0.0,
        finished=seconds,
        sent=sent,
        bytes_sent=sent * size,
        latencies=[p95_ms / 1000] * sent,
        completions=[seconds * (i + 1) / sent for i in range(sent)],
    )


def test_a_row_is_judged_on_the_median_of_the_round_ratios_not_on_the_ratio_of_medians() -> None:
    # Medians of the figures: ours 100, floor 100, a ratio of 1.00 that would FAIL;
    # the rounds' own ratios are 1.25, 1.00 and 1.08.
    rounds = [Round(100, 80), Round(100, 100), Round(130, 120)]

    row = Row.over_rounds("ingest", rounds, "msg/s", at_least_floor(1.05))

    assert (row.value, row.floor) == (100, 100)
    assert row.ratio == pytest.approx(130 / 120)
    assert row.result == "PASS"
    table = format_table([row])
    assert "1.08x" in table
    assert "rounds 1.25/1.00/1.08" in table
    assert "median of the per-round ratios" in table


def test_one_bad_round_does_not_decide_the_result_but_a_bad_median_does() -> None:
    target = at_least_floor(1.1)

    one_slow = Row.over_rounds(
        "ingest", [Round(120, 100), Round(60, 100), Round(115, 100)], "x", target
    )
    two_slow = Row.over_rounds(
        "ingest", [Round(120, 100), Round(60, 100), Round(105, 100)], "x", target
    )

    assert (one_slow.result, two_slow.result) == ("PASS", "FAIL")


def test_a_round_that_measured_nothing_is_left_out_and_shown_as_missing() -> None:
    rounds = [Round(None, 100), Round(110, 100), Round(130, 100)]

    row = Row.over_rounds("ingest", rounds, "msg/s", at_least_floor(1.1), "detail")

    assert row.ratio == pytest.approx(1.2)
    assert row.value == 120
    assert row.detail == "rounds -/1.10/1.30; detail"
    nothing = Row.over_rounds(
        "ingest", [Round(None, 100), Round(100, None)], "msg/s", at_least_floor(1.1)
    )
    assert (nothing.ratio, nothing.result) == (None, "n/a")


def test_the_json_carries_every_round(tmp_path: Path) -> None:
    path = tmp_path / "latest.json"
    row = Row.over_rounds("ingest", [Round(120, 100), Round(90, 100)], "msg/s", at_least_floor(1.1))

    write_json(path, [row, Row("memory", 80, "MB")], mode="quick")

    rows = json.loads(path.read_text())["rows"]
    assert rows[0]["rounds"] == [
        {"value": 120, "floor": 100, "ratio": 1.2},
        {"value": 90, "floor": 100, "ratio": 0.9},
    ]
    assert (rows[0]["ratio"], rows[0]["result"]) == (1.05, "FAIL")
    assert "rounds" not in rows[1]


def test_ingest_rows_hold_ours_to_the_targets_round_by_round() -> None:
    plan = Plan.quick_plan()
    measured = {}
    for number in (1, 2, 3):
        measured[(FLOOR, "k20", number)] = run(1000, 2.0)
        measured[(FLOOR, "k1", number)] = run(500, 4.0)
        measured[(FLOOR, "big", number)] = run(100, 20.0, size=200 * 1024)
        measured[(OURS, "k20", number)] = run(1050, 2.8)
        measured[(OURS, "k1", number)] = run(600, 6.4)
        measured[(OURS, "big", number)] = run(100, 40.0, size=200 * 1024)
    del measured[(OURS, "k1", 2)]

    rows = {row.figure: row for row in ingest_rows(plan, scenarios(plan), measured, {}, True)}

    k20, k1 = "K=20, C=10, 4 KB", "K=1, C=10, 4 KB"
    assert rows[f"durable ingest {k20}"].result == "FAIL"  # 1.05x, short of 1.1x
    assert rows[f"  p95 DATA end -> 250, {k20}"].result == "PASS"  # 1.4x, within 1.5x
    assert rows[f"durable ingest {k1}"].result == "PASS"
    assert rows[f"  p95 DATA end -> 250, {k1}"].result == "FAIL"  # 1.6x
    assert rows["durable ingest 200 KB, K=20, C=10"].result == "PASS"
    assert rows["  p95 DATA end -> 250, 200 KB, K=20, C=10"].result == "-"
    assert rows[f"durable ingest {k1}"].detail.startswith("rounds 1.20/-/1.20;")
    assert "ours round 2 not measured" in rows[f"durable ingest {k1}"].detail


def test_both_plans_measure_three_rounds_unless_told_otherwise() -> None:
    parser = build_parser()

    assert choose_plan(parser.parse_args([])).rounds == 3
    assert choose_plan(parser.parse_args(["--quick"])).rounds == 3
    five = choose_plan(parser.parse_args(["--quick", "--rounds", "5"]))
    assert (five.rounds, five.quick) == (5, True)


@pytest.mark.parametrize("value", ["0", "two"])
def test_a_bad_number_of_rounds_is_refused_in_one_line(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--rounds", value])

    assert exited.value.code == 2
    assert "--rounds: must be a whole number, 1 or more" in capsys.readouterr().err
