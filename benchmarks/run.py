"""``python -m benchmarks``: measure the capture server against the floor and print one table.

Every server is started here, in its own process on free loopback ports, and stopped again.
Ingest is measured in rounds, each running the floor and ours back to back on fresh servers; its
rows are judged on the median of the per-round ratios, which a neighbour's burst of work on a
shared machine moves less than any one figure. The probes of the HTTP side run on servers
filled by the same generator.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.ingest import measure_ingest
from benchmarks.long_run import measure_long_run
from benchmarks.mailboxes import measure_mailboxes
from benchmarks.plan import Plan
from benchmarks.postgres import measure_postgres
from benchmarks.processes import ROOT
from benchmarks.report import Row, format_table, write_json
from benchmarks.reset_request import measure_reset_request
from benchmarks.session import Session

RESULTS = ROOT / "benchmarks" / "results" / "latest.json"


def build_parser() -> argparse.ArgumentParser:
    """``python -m benchmarks`` options."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure mail-sandbox against plain aiosmtpd (the floor) and print a table.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller samples, under a minute and a half (a smoke run)",
    )
    parser.add_argument(
        "--rounds",
        type=_positive,
        metavar="N",
        help="rounds of the ingest part (default 3); its rows report the median ratio",
    )
    parser.add_argument(
        "--only",
        choices=("ingest", "long", "reset", "mailboxes", "postgres"),
        action="append",
        help="run only these parts (repeatable); default all",
    )
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"default {RESULTS}")
    return parser


def choose_plan(args: argparse.Namespace) -> Plan:
    """The quick or the full plan, with ``--rounds`` when given."""
    plan = Plan.quick_plan() if args.quick else Plan.full()
    return plan if args.rounds is None else dataclasses.replace(plan, rounds=args.rounds)


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number, 1 or more: {text!r}")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when a measurement could not be made (a FAIL against
    a target is a finding, reported in the table, not an error)."""
    args = build_parser().parse_args(argv)
    plan = choose_plan(args)
    parts = args.only or ["ingest", "long", "reset", "mailboxes", "postgres"]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="mail-sandbox-bench-") as workdir:
        session = Session(plan, Path(workdir))
        session.say(f"benchmark ({'quick' if plan.quick else 'full'}) in {workdir}")
        rows: list[Row] = []
        measurements = {
            "ingest": measure_ingest,
            "long": measure_long_run,
            "reset": measure_reset_request,
            "mailboxes": measure_mailboxes,
            "postgres": measure_postgres,
        }
        for part in parts:
            with session.step(part):
                rows.extend(measurements[part](session))
        seconds = time.perf_counter() - session.started
    print()
    print(format_table(rows))
    print()
    mode = "quick" if plan.quick else "full"
    print(f"{mode} run in {seconds:.0f} s; {sum(r.result == 'FAIL' for r in rows)} FAIL")
    # Other work on a shared machine moves every figure; ratios to the floor move less.
    load_after = os.getloadavg()[0]
    busy = max(load_before[0], load_after) > (os.cpu_count() or 1)
    print(
        f"load average before {load_before[0]:.1f}, after {load_after:.1f} "
        f"({os.cpu_count()} cores)"
        + ("; the machine was busy: expect noisy figures" if busy else "")
    )
    for error in session.errors:
        print(f"ERROR {error}")
    write_json(
        args.json,
        rows,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        mode=mode,
        rounds=plan.rounds,
        seconds=round(seconds, 1),
        machine={
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": load_before[0],
            "load_average_after": load_after,
        },
        errors=session.errors,
        runs=session.runs,
    )
    print(f"written to {args.json}")
    return 1 if session.errors else 0
