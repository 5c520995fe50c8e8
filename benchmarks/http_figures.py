"""Figures of the inbox's HTTP side: list and search latency (also while mail pours in), and
how soon a message shows after its 250."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
from typing import Any

from benchmarks import probes, servers
from benchmarks.emails import recipient
from benchmarks.loadgen import percentile
from benchmarks.processes import ROOT, python
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
            rows.append(
                Row(
                    f"{kind}, {when}: p95",
                    percentile(latencies, 95) * MS,
                    "ms",
                    target=at_most(20.0),
                    detail=f"p50 {percentile(latencies, 50) * MS:.1f} ms, n={len(latencies)}",
                )
            )
            session.say(f"{rows[-1].figure}: {rows[-1].value:.1f} ms ({rows[-1].detail})")
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
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
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
            time_limit=plan.visible_count / plan.visible_rate * 1.5 + 2,
            domain="visible.bench.example",
        )
    )
    rows = []
    for label, values in (("in GET /api/v1/messages", seen.listed), ("wait returns", seen.waited)):
        rows.append(
            Row(
                f"visible latency, 250 -> {label}: p95",
                percentile(values, 95) * MS,
                "ms",
                target=at_most(20.0),
                detail=f"p50 {percentile(values, 50) * MS:.1f} ms, max "
                f"{max(values, default=float('nan')) * MS:.1f} ms, {seen.sent} msgs at "
                f"{plan.visible_rate:g} msg/s",
            )
        )
        session.say(f"{rows[-1].figure}: {rows[-1].value:.1f} ms ({rows[-1].detail})")
    return rows
