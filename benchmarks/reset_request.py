"""The app's reset request while SMTP is slow: it must not wait for the mail to go out."""

from __future__ import annotations

from benchmarks import reset_probe, servers
from benchmarks.app_server import BENCH_EMAIL
from benchmarks.loadgen import percentile
from benchmarks.report import Row, at_most
from benchmarks.session import MS, Session, arun


def measure_reset_request(session: Session) -> list[Row]:
    """The reset request's response time while the SMTP server takes 2 s per message."""
    plan = session.plan
    delay = plan.slow_smtp_delay
    with (
        servers.reference_smtp(session.workdir, delay=delay) as slow,
        servers.microblog_app(session.workdir, slow.smtp_port) as app_url,
    ):
        latencies = arun(
            reset_probe.reset_request_latency(
                app_url, BENCH_EMAIL, count=plan.reset_requests, time_limit=60.0
            )
        )
        # The requests only count if their mail really met the slow server meanwhile.
        slow.process.wait_output(r"^message 1$", timeout=delay * 3 + 10)
    row = Row(
        f"reset request while SMTP takes {delay:g} s/message: p95",
        percentile(latencies, 95) * MS,
        "ms",
        target=at_most(50.0),
        detail=f"p50 {percentile(latencies, 50) * MS:.1f} ms, max {max(latencies) * MS:.1f} ms, "
        f"n={len(latencies)}, CSRF token fetched first",
    )
    session.say(f"{row.figure}: {row.value:.1f} ms")
    return [row]
