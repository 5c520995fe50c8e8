"""The servers the benchmark measures, each started in its own process on free loopback ports."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.processes import ServerProcess, free_port, python, wait_for_port

HOST = "127.0.0.1"
#: Debian's postfix package puts it here; BENCH_SMTP_SINK names another.
SMTP_SINK = "/usr/sbin/smtp-sink"


@dataclass(frozen=True)
class RunningServer:
    """A started server: its SMTP port, its process, and (ours) its inbox URL and store (a file,
    or a ``postgresql://`` URL)."""

    name: str
    smtp_port: int
    process: ServerProcess
    http_url: str | None = None
    db: Path | str | None = None
    host: str = HOST


@contextmanager
def reference_smtp(
    workdir: Path, *, loop: str = "asyncio", delay: float = 0.0
) -> Iterator[RunningServer]:
    """Plain aiosmtpd keeping messages in a list: the floor (``delay`` 0) or a slow server."""
    name = f"aiosmtpd-{loop}" + (f"-delay{delay:g}" if delay else "")
    argv = python("-m", "benchmarks.reference_smtp", "--loop", loop, "--delay", str(delay))
    if delay:
        # Lets the probe check that mail really went through the slow server.
        argv.append("--announce")
    with ServerProcess(name, argv, log_path=workdir / f"{name}.log") as process:
        (match,) = process.start([r"listening on (\d+)"])
        yield RunningServer(name, int(match.group(1)), process)


def smtp_sink_path() -> str | None:
    """Postfix's ``smtp-sink`` when it is installed, else None."""
    path = os.environ.get("BENCH_SMTP_SINK") or SMTP_SINK
    return path if os.access(path, os.X_OK) else shutil.which("smtp-sink")


@contextmanager
def smtp_sink(workdir: Path) -> Iterator[RunningServer]:
    """Postfix's ``smtp-sink``: C, discards every message; the load generator's ceiling."""
    path = smtp_sink_path()
    if path is None:
        raise FileNotFoundError("smtp-sink is not installed (Debian: apt-get install postfix)")
    port = free_port()
    # As root it must be told whose privileges to drop to.
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    argv = [path, *user, f"{HOST}:{port}", "1024"]
    with ServerProcess("smtp-sink", argv, log_path=workdir / "smtp-sink.log") as process:
        process.start([])
        wait_for_port(HOST, port)
        yield RunningServer("smtp-sink", port, process)


@contextmanager
def capture_server(
    workdir: Path, name: str, *, db: Path | str | None = None
) -> Iterator[RunningServer]:
    """Our ``mail-sandbox`` over a fresh SQLite file (or ``db``: a store file, or the URL of a
    PostgreSQL database), keeping every message."""
    db = db or workdir / f"{name}.sqlite3"
    argv = python(
        "-m", "mail_sandbox", "--smtp", f"{HOST}:0", "--http", f"{HOST}:0",
        "--db", str(db), "--max-messages", "0",
    )  # fmt: skip
    # An inbox password from the environment would lock the probes out.
    env = {"MAIL_SANDBOX_UI_AUTH": ""}
    with ServerProcess(name, argv, log_path=workdir / f"{name}.log", env=env) as process:
        smtp, http = process.start([r"SMTP on \S+:(\d+)", r"inbox on (http://\S+)"])
        yield RunningServer(name, int(smtp.group(1)), process, http_url=http.group(1), db=db)


@contextmanager
def microblog_app(workdir: Path, smtp_port: int) -> Iterator[str]:
    """The Microblog app sending its mail to ``smtp_port``; yields its base URL."""
    argv = python(
        "-m", "benchmarks.app_server", "--smtp-port", str(smtp_port),
        "--db", str(workdir / "microblog.db"),
    )  # fmt: skip
    with ServerProcess("microblog", argv, log_path=workdir / "microblog.log") as process:
        (match,) = process.start([r"serving on (http://\S+)"])
        yield match.group(1)
