"""Reference SMTP servers: plain aiosmtpd keeping each message in a list in memory.

With no delay this is "the floor" our durable server is compared with; with ``--delay 2`` it
is the slow SMTP server of the app's reset-request probe. Run it as its own process::

    python -m benchmarks.reference_smtp [--loop asyncio|uvloop] [--delay SECONDS] [--announce]

It prints ``listening on PORT`` once it accepts connections, and serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable, Sequence

from aiosmtpd.smtp import SMTP, Envelope, Session

#: aiosmtpd's default asks DNS for this host's name, which stalls on a machine offline.
HOSTNAME = "reference-smtp"


class ListHandler:
    """Appends every message's content to ``messages``, after waiting ``delay`` seconds."""

    def __init__(self, delay: float = 0.0, *, announce: bool = False) -> None:
        self.delay = delay
        self.announce = announce
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Keep the message and say 250 (with ``announce``, also print ``message N``)."""
        if self.delay:
            await asyncio.sleep(self.delay)
        self.messages.append(envelope.content)  # type: ignore[arg-type]
        if self.announce:
            print(f"message {len(self.messages)}", flush=True)
        return "250 OK"


async def start(handler: ListHandler, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    """Listen on ``host:port`` (0: a free port) with plain aiosmtpd over ``handler``."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: SMTP(handler, hostname=HOSTNAME), host, port)


async def serve(handler: ListHandler, host: str, port: int, ready: Callable[[int], None]) -> None:
    """Serve until SIGTERM or SIGINT; ``ready(port)`` is called once connections are accepted."""
    server = await start(handler, host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    ready(server.sockets[0].getsockname()[1])
    await stop.wait()
    server.close()


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """The event loop named ``name``: ``asyncio`` (the standard one) or ``uvloop``."""
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def main(argv: Sequence[str] | None = None) -> int:
    """Run one reference server until it is told to stop."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reference_smtp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each 250")
    parser.add_argument("--announce", action="store_true", help="print a line per message")
    args = parser.parse_args(argv)
    handler = ListHandler(args.delay, announce=args.announce)

    def ready(port: int) -> None:
        print(f"listening on {port}", flush=True)

    with asyncio.Runner(loop_factory=loop_factory(args.loop)) as runner:
        runner.run(serve(handler, args.host, args.port, ready))
    print(f"received {len(handler.messages)} messages", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
