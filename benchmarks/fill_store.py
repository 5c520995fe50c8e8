"""Fill a mail store file with reset emails through the store's own API, in its own process.

Reaching 100,000 stored through SMTP takes longer than the benchmark may run while the server
is slower than the floor; the store's ``add`` in bursts of ``BURST`` gets there faster, with
every message parsed and indexed exactly as the server would. The running server can keep
serving meanwhile (SQLite's WAL lets it read while this process writes)::

    python -m benchmarks.fill_store --db PATH --count N [--first-seq S] [--domain D]
                                    [--time-limit SECONDS]
                                    [--mailboxes M [--only-mailbox I]]

With ``--mailboxes M`` the N messages are spread over M new mailboxes (``mailbox_name(i)``),
message ``seq`` of mailbox ``i`` being ``i * N / M + seq``, so a store holding just mailbox
``I`` (``--only-mailbox I``) holds exactly the same mail in it as the store holding them all.

It prints one JSON line: how many messages it added and in how many seconds. The benchmark's
parts run it with ``fill_in_child`` (or ``fill_command`` and ``fill_result``, for several at
once).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.emails import ResetEmails
from benchmarks.processes import ROOT, child_env, python
from mail_sandbox.store import open_store

#: Messages handed to the store before waiting for them: the store commits such a burst at once.
BURST = 500


def fill(
    path: str, count: int, *, first_seq: int, domain: str, time_limit: float
) -> tuple[int, float]:
    """Add up to ``count`` messages to the store at ``path``; stops at ``time_limit`` seconds.

    Returns how many were added and the seconds it took.
    """
    emails = ResetEmails(domain=domain)
    started = time.perf_counter()
    added = 0
    store = open_store(path, max_messages=0)
    try:
        while added < count and time.perf_counter() - started < time_limit:
            burst = range(first_seq + added, first_seq + min(count, added + BURST))
            futures = [
                store.add(emails.message(seq), emails.sender, [emails.recipient(seq)])
                for seq in burst
            ]
            for future in futures:
                future.result()
            added += len(futures)
    finally:
        store.close()
    return added, time.perf_counter() - started


def mailbox_name(index: int) -> str:
    """The name of the ``index``-th mailbox a ``--mailboxes`` fill makes."""
    return f"box-{index:04d}"


def fill_mailboxes(
    path: str, count: int, mailboxes: int, *, only: int | None, domain: str, time_limit: float
) -> tuple[int, float]:
    """Spread ``count`` messages over ``mailboxes`` new mailboxes (or only mailbox ``only``'s
    share), and wait until they are indexed; stops adding at ``time_limit`` seconds. Returns
    how many were added and the seconds it all took."""
    emails = ResetEmails(domain=domain)
    per = count // mailboxes
    started = time.perf_counter()
    added = 0
    store = open_store(path, max_messages=0)
    try:
        chosen = range(mailboxes) if only is None else [only]
        boxes = [store.mailbox(store.create_mailbox(mailbox_name(i)).name) for i in chosen]
        futures = []
        for index, box in zip(chosen, boxes, strict=True):
            if time.perf_counter() - started > time_limit:
                break
            for seq in range(index * per, (index + 1) * per):
                futures.append(box.add(emails.message(seq), emails.sender, [emails.recipient(seq)]))
            if len(futures) >= BURST:
                added += _settle(futures)
        added += _settle(futures)
        # Indexed before the server opens it: its first list would otherwise wait for that.
        store.list(limit=1)
    finally:
        store.close()
    return added, time.perf_counter() - started


def _settle(futures: list) -> int:
    for future in futures:
        future.result()
    done = len(futures)
    futures.clear()
    return done


def fill_command(flags: Sequence[str], *, time_limit: float) -> list[str]:
    """The argv of a fill with ``flags`` (``--db``, ``--count``...) stopping at ``time_limit``
    seconds; run it from ``ROOT`` with ``child_env()``."""
    return python("-m", "benchmarks.fill_store", *flags, "--time-limit", f"{time_limit:g}")


def fill_result(stdout: str) -> dict[str, Any]:
    """What a fill printed: ``added`` and ``seconds``."""
    return json.loads(stdout.strip().splitlines()[-1])


def fill_in_child(flags: Sequence[str], *, time_limit: float) -> dict[str, Any]:
    """Fill in a process of its own (see ``fill_command``) and wait for it: what it printed.
    ``RuntimeError`` with the end of its standard error when it fails."""
    done = subprocess.run(  # noqa: S603 - our own module, with arguments we made
        fill_command(flags, time_limit=time_limit),
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=time_limit + 120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"fill_store exited with status {done.returncode}: {done.stderr[-500:]}")
    return fill_result(done.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    """Fill the store named on the command line and print what was done as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fill_store")
    parser.add_argument("--db", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--first-seq", type=int, default=0)
    parser.add_argument("--domain", default="fill.bench.example")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--mailboxes", type=int, default=0)
    parser.add_argument("--only-mailbox", type=int)
    args = parser.parse_args(argv)
    if args.mailboxes:
        added, seconds = fill_mailboxes(
            args.db,
            args.count,
            args.mailboxes,
            only=args.only_mailbox,
            domain=args.domain,
            time_limit=args.time_limit,
        )
    else:
        added, seconds = fill(
            args.db,
            args.count,
            first_seq=args.first_seq,
            domain=args.domain,
            time_limit=args.time_limit,
        )
    print(json.dumps({"added": added, "seconds": round(seconds, 2)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
