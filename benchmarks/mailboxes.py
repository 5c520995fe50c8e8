"""Mailboxes: list and search in one mailbox of a server holding 1,000 of them, against a
server holding only that mailbox's mail.

Both stores are filled through the store's own API by ``fill_store`` with the same messages in
the probed mailbox (same names, same recipients), so the two servers answer the same queries
with the same pages, and the ratio shows what the other 999 mailboxes cost.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks import probes, servers
from benchmarks.emails import recipient
from benchmarks.fill_store import fill_in_child, mailbox_name
from benchmarks.loadgen import percentile
from benchmarks.report import Row, at_most_floor
from benchmarks.session import MS, Session, arun

DOMAIN = "boxes.bench.example"
#: A mailbox in one mailbox's time may cost at most this many times the lone mailbox's.
AT_MOST = 1.5


def measure_mailboxes(session: Session) -> list[Row]:
    """p95 of list and search in one mailbox among ``plan.mailboxes``, and alone."""
    plan = session.plan
    total = plan.mailboxes * plan.per_mailbox
    probed = plan.mailboxes // 2
    crowded = _filled(session, "boxes-all", total, only=None)
    alone = _filled(session, "boxes-one", total, only=probed)
    first = probed * plan.per_mailbox
    picks = [first + (plan.per_mailbox * i) // 10 for i in range(10)]
    queries = {
        "list": ("/api/v1/messages", [{"limit": "50"}]),
        "search, 1 match (to:ADDRESS)": (
            "/api/v1/search",
            [{"query": f"to:{recipient(seq, DOMAIN)}", "limit": "50"} for seq in picks],
        ),
        "search, all match (subject:reset)": (
            "/api/v1/search",
            [{"query": "subject:reset", "limit": "50"}],
        ),
    }
    figures: dict[str, dict[str, list[float]]] = {}
    for label, db in (("crowded", crowded), ("alone", alone)):
        with servers.capture_server(session.workdir, f"mailboxes-{label}", db=db) as server:
            assert server.http_url is not None
            base = f"{server.http_url}/m/{mailbox_name(probed)}"
            for kind, (path, params) in queries.items():
                figures.setdefault(kind, {})[label] = arun(
                    probes.api_latency(
                        base, path, params, count=plan.api_requests, time_limit=plan.probe_seconds
                    )
                )
    rows = []
    for kind, measured in figures.items():
        ours, floor = measured["crowded"], measured["alone"]
        rows.append(
            Row(
                f"{plan.mailboxes:,} mailboxes x {plan.per_mailbox}: {kind} in one: p95",
                percentile(ours, 95) * MS,
                "ms",
                floor=percentile(floor, 95) * MS,
                target=at_most_floor(AT_MOST),
                detail=(
                    f"floor: a server holding only that mailbox's {plan.per_mailbox}; "
                    f"p50 {percentile(ours, 50) * MS:.1f} ms vs "
                    f"{percentile(floor, 50) * MS:.1f} ms, n={len(ours)}"
                ),
            )
        )
        session.say(f"{rows[-1].figure}: {rows[-1].value:.1f} ms (alone {rows[-1].floor:.1f} ms)")
    return rows


def _filled(session: Session, name: str, total: int, *, only: int | None) -> Path:
    """A store file with ``total`` messages over the plan's mailboxes (or just mailbox
    ``only``'s share of them), filled in another process."""
    plan = session.plan
    db = session.workdir / f"{name}.sqlite3"
    flags = ["--db", str(db), "--count", str(total), "--mailboxes", str(plan.mailboxes),
             "--domain", DOMAIN]  # fmt: skip
    if only is not None:
        flags += ["--only-mailbox", str(only)]
    added = fill_in_child(flags, time_limit=plan.fill_time_limit)
    session.say(f"{name}: {added['added']:,} messages in {added['seconds']} s")
    return db
