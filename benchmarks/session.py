"""What every measurement shares: the plan, a scratch directory, progress lines, and running
the generator or a probe from plain (not async) code."""

from __future__ import annotations

import asyncio
import sys
import time
import traceback
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from benchmarks import loadgen, servers
from benchmarks.loadgen import LoadResult, LoadSpec
from benchmarks.plan import Plan

T = TypeVar("T")
MS = 1000.0


@dataclass
class Session:
    """Where one benchmark run keeps its files, what it measured and what went wrong."""

    plan: Plan
    workdir: Path
    started: float = field(default_factory=time.perf_counter)
    runs: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        """A progress line on standard error, with the seconds elapsed."""
        print(f"[{time.perf_counter() - self.started:6.1f}s] {text}", file=sys.stderr, flush=True)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Run one measurement; a failure is reported and the others still run."""
        try:
            yield
        # Any failure at all: one broken measurement must not cost the table the others.
        except Exception as exc:  # noqa: BLE001
            self.errors.append(f"{name}: {exc!r}")
            self.say(f"{name} FAILED: {exc!r}")
            traceback.print_exc(file=sys.stderr)


def arun(coro: Coroutine[Any, Any, T]) -> T:
    """Run a probe on a fresh event loop (uvloop where installed)."""
    with asyncio.Runner(loop_factory=loadgen.new_event_loop) as runner:
        return runner.run(coro)


def load(server: servers.RunningServer, spec: LoadSpec) -> LoadResult:
    """Run the generator against ``server``."""
    return loadgen.run(server.host, server.smtp_port, spec)


def warm_up(server: servers.RunningServer, plan: Plan) -> None:
    """A few hundred messages first, so imports and caches are not what gets measured."""
    spec = LoadSpec(total=plan.warmup, size=plan.size, domain="warmup.example", time_limit=30)
    result = load(server, spec)
    if result.failed or result.sent < plan.warmup:
        raise RuntimeError(f"{server.name} failed the warm-up: {result.errors[:3]}")


def rate(result: LoadResult | None, megabytes: bool) -> float | None:
    """msg/s (or MB/s) of ``result``; None when nothing got through."""
    if result is None or not result.sent:
        return None
    return result.megabytes_per_second if megabytes else result.messages_per_second


def p95_ms(result: LoadResult | None) -> float | None:
    """The 95th percentile of ``result``'s DATA-end-to-250 latency in ms, if any."""
    if result is None or not result.latencies:
        return None
    return result.latency(95) * MS


def load_detail(result: LoadResult | None) -> str:
    """How many messages in what time, and whether any failed or the time ran out."""
    if result is None:
        return "not measured"
    return ", ".join([f"{result.sent:,} msgs in {result.elapsed:.1f} s", *load_problems(result)])


def load_problems(result: LoadResult) -> list[str]:
    """What went wrong in ``result``: failed messages, the time limit; empty when nothing."""
    problems = []
    if result.failed:
        problems.append(f"{result.failed} FAILED: {result.errors[0]}")
    if result.timed_out:
        problems.append("hit the time limit")
    return problems


def brief(result: LoadResult) -> str:
    """One progress line's worth of ``result``."""
    return (
        f"{result.messages_per_second:,.0f} msg/s, {result.megabytes_per_second:.1f} MB/s, "
        f"p95 {result.latency(95) * MS:.1f} ms, {result.sent} sent, {result.failed} failed"
    )
