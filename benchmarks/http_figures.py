"""Figures of the inbox's HTTP side: list and search latency (also while mail pours in), and
how soon a message shows after its 250."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
from collections.abc import Sequence
from typing import Any

from benchmarks import probes, servers
from benchmarks.emails import recipient
from benchmarks.loadgen import percentile
from benchmarks.processes import ROOT, child_env, python
from benchmarks.report import Row, at_most
from benchmarks.session import MS, Session, arun


def _queries(domain: str, sent: int) -> dict[str, list[dict[str, str]]]:
    """What the list and search probes ask for, a page of 50 each time; the one-match search
    cycles through 20 recipients spread over the ``sent`` messages of the run to ``domain``."""
    picks = [(sent * i) // 20 for i in range(20)]
    return {
        "list": [{"limit": "50"}],
        "search, 1 match (to:ADDRESS)": [
            {"query": f"to:{recipient(seq, domain)}", "limit": "50"} for seq in picks
        ],
        "search, all match (subject:reset)": [{"query": "subject:reset", "limit": "50"}],
    }


def api_rows(
    session: Session,
    server: servers.RunningServer,
    domain: str,
    sent: int,
    stored: int,
    while_ingesting: bool,
) -> list[Row]:
    """List and search latency, page of 50, with ``stored`` messages; optionally while the
    generator feeds the server flat out from its own process. The one-match searches name
    recipients of the first ``sent`` messages of the run to ``domain``."""
    plan = session.plan
    assert server.http_url is not None
    url = server.http_url
    rows = []
    when = f"{stored:,} stored" + (", while ingesting" if while_ingesting else "")
    background = _background_load(session, server) if while_ingesting else None
    try:
        for kind, queries in _queries(domain, sent).items():
            path = "/api/v1/messages" if kind == "list" else "/api/v1/search"
            latencies = arun(
                probes.api_latency(
                    url, path, queries, count=plan.api_requests, time_limit=plan.probe_seconds
                )
            )
            figure = f"{kind}, {when}"
            detail = f"n={len(latencies)}"
            rows.append(p95_row(session, figure, latencies, at_most_ms=20.0, detail=detail))
    finally:
        if background is not None:
            ingest = _finish_background(background)
            session.runs[f"background-ingest-{stored}"] = ingest
            note = f"; meanwhile {ingest.get('msg_per_s', 0):,.0f} msg/s ingested"
            rows = [dataclasses.replace(row, detail=row.detail + note) for row in rows]
    return rows


def _background_load(session: Session, server: servers.RunningServer) -> subprocess.Popen[str]:
    """The generator flat out in its own process, for as long as the probes may take."""
    plan = session.plan
    seconds = plan.probe_seconds * 3 + 2
    argv = python(
        "-m", "benchmarks.loadgen", "--port", str(server.smtp_port),
        "-n", "10000000", "-c", str(plan.connections), "-k", "20",
        "--time-limit", f"{seconds:g}", "--domain", "ingest.bench.example",
        "--first-seq", "5000000000", "--json",
    )  # fmt: skip
    process = subprocess.Popen(
        argv, cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert server.http_url is not None
    try:
        arun(probes.count_grows(server.http_url, by=100, time_limit=15.0))
    except BaseException:
        _finish_background(process)
        raise
    return process


def _finish_background(process: subprocess.Popen[str]) -> dict[str, Any]:
    """Stop the background generator and return what it measured."""
    # SIGINT makes it stop sending and still print its figures.
    os.killpg(process.pid, signal.SIGINT)
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {}


def visibility_rows(session: Session, server: servers.RunningServer) -> list[Row]:
    """How soon a message shows in the list, and how soon ``wait`` returns, at 100 msg/s."""
    plan = session.plan
    assert server.http_url is not None
    seen = arun(
        probes.visible_latency(
            server.host,
            server.smtp_port,
            server.http_url,
            rate=plan.visible_rate,
            count=plan.visible_count,
            time_limit=plan.visible_time_limit,
            domain="visible.bench.example",
        )
    )
    detail = f"{seen.sent} msgs at {plan.visible_rate:g} msg/s"
    rows = []
    for label, values in (("in GET /api/v1/messages", seen.listed), ("wait returns", seen.waited)):
        figure = f"visible latency, 250 -> {label}"
        rows.append(p95_row(session, figure, values, at_most_ms=20.0, detail=detail, with_max=True))
    return rows


def p95_row(
    session: Session,
    figure: str,
    seconds: Sequence[float],
    *,
    at_most_ms: float,
    detail: str,
    with_max: bool = False,
) -> Row:
    """The row "``figure``: p95" of latencies in ``seconds``, held to ``at_most_ms``, its detail
    the p50 (and the maximum) before ``detail``; said as soon as it is made."""
    measured = f"p50 {percentile(seconds, 50) * MS:.1f} ms"
    if with_max:
        measured += f", max {max(seconds, default=float('nan')) * MS:.1f} ms"
    row = Row(
        f"{figure}: p95",
        percentile(seconds, 95) * MS,
        "ms",
        target=at_most(at_most_ms),
        detail=f"{measured}, {detail}",
    )
    session.say(f"{row.figure}: {row.value:.1f} ms ({row.detail})")
    return row
