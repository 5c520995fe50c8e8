"""A bounded SMTP load generator: C connections, K messages on each, N in all, within a time limit.

The client speaks just enough ESMTP over asyncio streams (EHLO; MAIL, RCPT and DATA pipelined;
the dot-stuffed message; QUIT) to cost the generator little, so that the server, not the
generator, is what gets measured. Every server is measured with this same generator.

``python -m benchmarks.loadgen --port 8025 -n 1000`` runs it alone and prints what it measured;
``--json`` prints the result as JSON (how the benchmark runs background load in its own process).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from benchmarks.emails import ResetEmails

HELO_NAME = "loadgen.bench.example"
#: Errors kept verbatim in a result; past this many failures the run stops.
MAX_ERRORS = 100


class SMTPReplyError(Exception):
    """The server answered with a code other than the one the protocol step needs."""

    def __init__(self, expected: int, code: int, text: str) -> None:
        super().__init__(f"expected {expected}, got {code} {text}")
        self.code = code
        self.text = text


class SMTPClient:
    """One SMTP connection; ``connect`` opens it and reads the greeting and EHLO reply."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._timeout = timeout
        # drain() then waits until every byte is handed to the kernel, which is what "the end
        # of DATA" means for the latency clock.
        writer.transport.set_write_buffer_limits(high=0)

    @classmethod
    async def connect(cls, host: str, port: int, *, timeout: float = 30.0) -> SMTPClient:
        """Open a connection, read the 220 greeting and say EHLO."""
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
        client = cls(reader, writer, timeout)
        try:
            async with asyncio.timeout(timeout):
                await client._expect(220)
                writer.write(f"EHLO {HELO_NAME}\r\n".encode())
                await client._expect(250)
        except BaseException:
            client.close()
            raise
        return client

    async def send(self, sender: str, recipient: str, payload: bytes) -> tuple[float, str]:
        """Deliver one dot-stuffed ``payload``; returns (seconds from its end to 250, 250 text).

        MAIL, RCPT and DATA go in one write (pipelining); the payload follows the 354.
        """
        async with asyncio.timeout(self._timeout):
            self._writer.write(
                f"MAIL FROM:<{sender}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode()
            )
            await self._expect(250)
            await self._expect(250)
            await self._expect(354)
            self._writer.write(payload)
            await self._writer.drain()
            ended = time.perf_counter()
            text = await self._expect(250)
            return time.perf_counter() - ended, text

    async def quit(self) -> None:
        """Say QUIT, read the 221 and close; a server that already hung up is fine."""
        try:
            async with asyncio.timeout(self._timeout):
                self._writer.write(b"QUIT\r\n")
                await self._expect(221)
        except (OSError, TimeoutError, EOFError, SMTPReplyError):
            pass
        finally:
            self.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()

    def close(self) -> None:
        """Close the connection without a goodbye."""
        self._writer.close()

    async def _expect(self, code: int) -> str:
        """Read one (maybe multi-line) reply; raise ``SMTPReplyError`` unless it is ``code``."""
        lines = []
        while True:
            line = await self._reader.readline()
            if not line.endswith(b"\n"):
                raise EOFError("the server closed the connection")
            lines.append(line)
            if line[3:4] != b"-":
                break
        last = lines[-1].decode("utf-8", "replace")
        try:
            got = int(last[:3])
        except ValueError:
            raise SMTPReplyError(code, 0, last.strip()) from None
        text = last[4:].strip()
        if got != code:
            raise SMTPReplyError(code, got, text)
        return text


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """What to send: ``total`` (N) messages over ``connections`` (C) concurrent connections,
    each connection carrying ``per_connection`` (K) messages before it QUITs and reconnects.

    ``rate`` paces the whole run to that many messages a second (0: as fast as the server
    answers). ``time_limit`` bounds the run in seconds; ``domain`` is the recipients' domain,
    which lets a search find this run's messages; ``first_seq`` numbers the first message.
    """

    total: int = 10_000
    connections: int = 10
    per_connection: int = 20
    size: int = 4096
    rate: float = 0.0
    time_limit: float = 60.0
    domain: str = "bench.example"
    first_seq: int = 0

    def __post_init__(self) -> None:
        if self.total < 0 or self.connections < 1 or self.per_connection < 1:
            raise ValueError("total must be 0 or more, connections and per_connection 1 or more")
        if self.rate < 0 or self.time_limit <= 0:
            raise ValueError("rate must be 0 or more and time_limit more than 0")


@dataclass(slots=True)
class LoadResult:
    """What a run achieved. Times are ``time.perf_counter`` seconds; latencies are seconds."""

    spec: LoadSpec
    started: float = 0.0
    finished: float = 0.0
    sent: int = 0
    failed: int = 0
    bytes_sent: int = 0
    timed_out: bool = False
    latencies: list[float] = field(default_factory=list)
    completions: list[float] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def elapsed(self) -> float:
        """Seconds from the start to the last 250 (or to the end, when nothing got through)."""
        end = self.completions[-1] if self.completions else self.finished
        return max(end - self.started, 1e-9)

    @property
    def messages_per_second(self) -> float:
        """Messages acknowledged with 250 per second."""
        return self.sent / self.elapsed

    @property
    def megabytes_per_second(self) -> float:
        """Message bytes acknowledged per second, in MB (10**6 bytes)."""
        return self.bytes_sent / self.elapsed / 1e6

    def latency(self, percent: float) -> float:
        """The ``percent`` percentile of the DATA-end-to-250 latency, in seconds."""
        return percentile(self.latencies, percent)

    def window_rate(self, start: float, end: float) -> float:
        """Messages per second between the ``start`` and ``end`` fractions of the acknowledged
        messages, e.g. ``(0.9, 1.0)`` for the last 10%."""
        return window_rate(self.started, self.completions, start, end)

    def summary(self) -> dict[str, object]:
        """The figures of this run, JSON-ready (no per-message lists)."""
        return {
            "spec": asdict(self.spec),
            "sent": self.sent,
            "failed": self.failed,
            "timed_out": self.timed_out,
            "seconds": round(self.elapsed, 3),
            "msg_per_s": round(self.messages_per_second, 1),
            "mb_per_s": round(self.megabytes_per_second, 2),
            "latency_ms": {
                f"p{p}": round(self.latency(p) * 1000, 3) if self.latencies else None
                for p in (50, 95, 99)
            },
            "errors": self.errors[:10],
        }

    def fail(self, what: str) -> None:
        """Count one failed message or connection, keeping the first errors verbatim."""
        self.failed += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(what)


def window_rate(started: float, completions: Sequence[float], start: float, end: float) -> float:
    """Messages per second between the ``start`` and ``end`` fractions of ``completions``
    (times of each 250; the run began at ``started``)."""
    times = [started, *sorted(completions)]
    first = round(start * len(completions))
    last = round(end * len(completions))
    if last <= first:
        return 0.0
    return (last - first) / max(times[last] - times[first], 1e-9)


def percentile(values: Sequence[float], percent: float) -> float:
    """The ``percent`` percentile of ``values`` (inclusive method); NaN when there are none."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return float(values[0])
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[min(max(round(percent) - 1, 0), 98)]


class _Plan:
    """Hands out sequence numbers to the workers until the run's total is reached."""

    def __init__(self, spec: LoadSpec) -> None:
        self._next = spec.first_seq
        self._end = spec.first_seq + spec.total

    def claim(self) -> int | None:
        if self._next >= self._end:
            return None
        seq = self._next
        self._next += 1
        return seq

    @property
    def done(self) -> bool:
        return self._next >= self._end


async def run_load(
    host: str,
    port: int,
    spec: LoadSpec,
    *,
    emails: ResetEmails | None = None,
    keep_replies: bool = False,
    stop: asyncio.Event | None = None,
) -> LoadResult:
    """Send ``spec``'s messages to ``host:port`` and measure; never runs past ``time_limit``.

    A refused message counts as failed and the run goes on; after ``MAX_ERRORS`` failures it
    stops. ``keep_replies`` keeps each 250's text (servers put the stored ID there). Setting
    ``stop`` ends the run early, with the figures of what was sent so far.
    """
    emails = emails or ResetEmails(spec.size, domain=spec.domain)
    result = LoadResult(spec)
    plan = _Plan(spec)
    result.started = time.perf_counter()

    def record(seq: int, latency: float, reply: str, size: int) -> None:
        result.sent += 1
        result.bytes_sent += size
        result.latencies.append(latency)
        result.completions.append(time.perf_counter())
        if keep_replies:
            result.replies.append(reply)

    workers = asyncio.gather(
        *(
            _worker(host, port, spec, emails, plan, result, record)
            for _ in range(min(spec.connections, max(spec.total, 1)))
        )
    )
    stopped = asyncio.ensure_future((stop or asyncio.Event()).wait())
    try:
        async with asyncio.timeout(spec.time_limit):
            await asyncio.wait([workers, stopped], return_when=asyncio.FIRST_COMPLETED)
    except TimeoutError:
        result.timed_out = True
    finally:
        stopped.cancel()
        workers.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await workers
    result.finished = time.perf_counter()
    return result


async def _worker(
    host: str,
    port: int,
    spec: LoadSpec,
    emails: ResetEmails,
    plan: _Plan,
    result: LoadResult,
    record: Callable[[int, float, str, int], None],
) -> None:
    while not plan.done and len(result.errors) < MAX_ERRORS:
        try:
            client = await SMTPClient.connect(host, port)
        except (OSError, TimeoutError, EOFError, SMTPReplyError) as exc:
            result.fail(f"connect: {exc!r}")
            continue
        try:
            for _ in range(spec.per_connection):
                seq = plan.claim()
                if seq is None:
                    break
                if spec.rate:
                    due = result.started + (seq - spec.first_seq) / spec.rate
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                payload = emails.payload(seq)
                try:
                    latency, reply = await client.send(
                        emails.sender, emails.recipient(seq), payload
                    )
                except SMTPReplyError as exc:
                    result.fail(f"message {seq}: {exc}")
                    # Which reply the server is at is unknown now: start a fresh connection.
                    break
                record(seq, latency, reply, len(payload) - len(b".\r\n"))
        except (OSError, TimeoutError, EOFError) as exc:
            result.fail(f"connection: {exc!r}")
            client.close()
            continue
        except BaseException:
            # Cancelled at the time limit: a polite QUIT could wait on a stuck server.
            client.close()
            raise
        await client.quit()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (a cheaper generator measures a server better)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(host: str, port: int, spec: LoadSpec, *, stop_on_signal: bool = False) -> LoadResult:
    """``run_load`` on a fresh event loop, for callers that are not async.

    ``stop_on_signal``: SIGINT or SIGTERM ends the run early instead of the process, so a
    generator in the background can be stopped and still report.
    """

    async def main() -> LoadResult:
        stop = asyncio.Event()
        if stop_on_signal:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
        return await run_load(host, port, spec, stop=stop)

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main())


def build_parser() -> argparse.ArgumentParser:
    """The generator's command line."""
    defaults = LoadSpec()
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadgen", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("-n", "--total", type=int, default=defaults.total)
    parser.add_argument("-c", "--connections", type=int, default=defaults.connections)
    parser.add_argument("-k", "--per-connection", type=int, default=defaults.per_connection)
    parser.add_argument("--size", type=int, default=defaults.size, help="bytes per message")
    parser.add_argument("--rate", type=float, default=0.0, help="msg/s, 0 for flat out")
    parser.add_argument("--time-limit", type=float, default=defaults.time_limit)
    parser.add_argument("--domain", default=defaults.domain)
    parser.add_argument("--first-seq", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generator from the command line; exit status 1 when any message failed."""
    args = build_parser().parse_args(argv)
    try:
        spec = LoadSpec(
            total=args.total,
            connections=args.connections,
            per_connection=args.per_connection,
            size=args.size,
            rate=args.rate,
            time_limit=args.time_limit,
            domain=args.domain,
            first_seq=args.first_seq,
        )
    except ValueError as exc:
        print(f"loadgen: {exc}", file=sys.stderr)
        return 2
    result = run(args.host, args.port, spec, stop_on_signal=True)
    summary = result.summary()
    if args.json:
        print(json.dumps(summary))
    else:
        latency = summary["latency_ms"]
        print(
            f"{result.sent} sent, {result.failed} failed in {result.elapsed:.2f} s: "
            f"{result.messages_per_second:.0f} msg/s, {result.megabytes_per_second:.1f} MB/s, "
            f"latency ms {latency}"
        )
        for error in result.errors[:10]:
            print(f"  {error}")
    return 1 if result.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
