"""The long run: 100,000 messages into one server, and what it is like with them stored."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from benchmarks import loadgen, probes, servers
from benchmarks.fill_store import fill_command, fill_result
from benchmarks.http_figures import api_rows, visibility_rows
from benchmarks.loadgen import LoadResult, LoadSpec
from benchmarks.processes import ROOT, child_env
from benchmarks.report import Row, at_least, at_most
from benchmarks.session import Session, arun, brief, load


def measure_long_run(session: Session) -> list[Row]:
    """A long SMTP run on one server (first vs last 10%), then the figures with 100,000 stored.

    The run pauses once, after the first 10,000, for the probes that want that many stored; the
    pause falls outside both its first and its last 10%. When the time limit ends the run short
    of 100,000, the store's own API tops the file up from another process, and the table says
    how many came by SMTP.
    """
    plan = session.plan
    rows: list[Row] = []
    with servers.capture_server(session.workdir, "ours-long") as server:
        assert server.http_url is not None and server.db is not None
        domain = "long.bench.example"
        spec = LoadSpec(
            total=plan.first_fill,
            connections=plan.connections,
            per_connection=20,
            size=plan.size,
            time_limit=plan.load_time_limit * 1.5,
            domain=domain,
        )
        first_part = load(server, spec)
        session.say(f"ours-long, first part: {brief(first_part)}")
        if plan.probes_at_10k:
            stored = arun(probes.stored_count(server.http_url))
            rows.extend(api_rows(session, server, domain, first_part.sent, stored, False))
        rows.extend(visibility_rows(session, server))
        spec = LoadSpec(
            total=plan.long_total - first_part.sent,
            connections=plan.connections,
            per_connection=20,
            size=plan.size,
            time_limit=plan.long_time_limit,
            domain=domain,
            first_seq=first_part.sent,
        )
        rest = load(server, spec)
        session.say(f"ours-long, the rest: {brief(rest)}")
        session.runs["ours-long"] = [first_part.summary(), rest.summary()]
        rows.append(_first_and_last_row(first_part, rest))
        rss_after_smtp = server.process.rss_bytes()
        by_smtp = first_part.sent + rest.sent
        added = _top_up(session, server.db, plan.long_total - by_smtp, by_smtp, domain)
        # The probes below must see all of them: wait for the server to index what the other
        # processes added (bounded; the table says if it fell short).
        stored = arun(
            probes.count_reaches(server.http_url, by_smtp + added, time_limit=plan.index_wait)
        )
        session.say(f"ours-long: {stored:,} stored and indexed")
        how = f"{by_smtp:,} by SMTP" + (f", {added:,} by the store's API" if added else "")
        if stored < by_smtp + added:
            how += f"; only {stored:,} of them counted by the API"
        rows.extend(api_rows(session, server, domain, by_smtp, stored, False))
        if plan.probes_while_ingesting:
            rows.extend(api_rows(session, server, domain, by_smtp, stored, True))
        rss = server.process.rss_bytes()
        memory, processes = server.process.tree_memory_bytes()
        rows.append(
            Row(
                f"resident memory with {stored:,} stored",
                memory / 1e6,
                "MB",
                target=at_most(150.0),
                detail=f"PSS of all {processes} processes (server, indexer, parser), after the "
                f"list/search probes ({how}); the server alone: RSS {rss / 1e6:.0f} MB, "
                f"{rss_after_smtp / 1e6:.0f} MB right after the SMTP run",
            )
        )
        session.say(f"{rows[-1].figure}: {rss / 1e6:.0f} MB ({rows[-1].detail})")
    return rows


def _top_up(session: Session, db: Path, count: int, first_seq: int, domain: str) -> int:
    """Add ``count`` messages to the store file from other processes; returns how many went in.

    One process per core: each parses its own messages, so parsing runs in parallel while
    SQLite takes the writes one transaction at a time (measured: 35% faster than one process).
    """
    if count <= 0:
        return 0
    limit = session.plan.fill_time_limit
    workers = max(1, min(2, os.cpu_count() or 1))
    shares = [count // workers + (1 if i < count % workers else 0) for i in range(workers)]
    env = child_env()
    processes: list[subprocess.Popen[str]] = []
    try:
        start = first_seq
        for share in shares:
            argv = fill_command(
                ["--db", str(db), "--count", str(share), "--first-seq", str(start),
                 "--domain", domain],
                time_limit=limit,
            )  # fmt: skip
            processes.append(
                subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
            )
            start += share
        added = 0
        for process in processes:
            out, _ = process.communicate(timeout=limit + 60)
            if process.returncode != 0:
                raise RuntimeError(f"fill_store exited with status {process.returncode}")
            added += int(fill_result(out)["added"])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    session.say(f"store topped up with {added:,} messages through its own API")
    return added


def _first_and_last_row(first_part: LoadResult, rest: LoadResult) -> Row:
    """msg/s of the last 10% of the long run against its first 10%."""
    sent = first_part.sent + rest.sent
    completions = sorted(first_part.completions) + sorted(rest.completions)
    label = f"{sent:,}-message run: last 10% / first 10% msg/s"
    if min(first_part.sent, rest.sent) < sent / 10:
        return Row(label, None, "x", target=at_least(0.90), detail="too few messages sent")
    first = loadgen.window_rate(first_part.started, completions, 0.0, 0.1)
    last = loadgen.window_rate(first_part.started, completions, 0.9, 1.0)
    limits = " (hit the time limit)" if first_part.timed_out or rest.timed_out else ""
    return Row(
        label,
        last / first if first else None,
        "x",
        target=at_least(0.90),
        detail=f"first {first:,.0f}, last {last:,.0f} msg/s{limits}",
    )
