"""Servers under measurement run as child processes, each in its own process group.

Every server the benchmark starts is stopped again, group and all, also on Ctrl-C or failure:
``ServerProcess`` is a context manager, and ``stop`` ends with SIGKILL when SIGTERM is not enough.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class ServerStartError(RuntimeError):
    """A server exited or stayed silent instead of saying it was ready."""


class ServerProcess:
    """A server program started by ``start``, which waits until its output says it is ready.

    ``argv`` is run with the project root as working directory and on ``PYTHONPATH``; its
    standard error (and output after start-up) goes to ``log_path``.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._env = env
        self._process: subprocess.Popen[bytes] | None = None
        self._partial = ""  # output after the last whole line read

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        """The server's process id."""
        if self._process is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._process.pid

    def start(self, ready: Sequence[str], *, timeout: float = 60.0) -> list[re.Match[str]]:
        """Start the program; return the match of each pattern in ``ready`` found in its
        output, in order, once all have been printed. Raises ``ServerStartError`` otherwise."""
        env = child_env(self._env)
        env["PYTHONUNBUFFERED"] = "1"
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        try:
            return self._wait_ready([re.compile(pattern) for pattern in ready], timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after ``timeout`` seconds."""
        process, self._process = self._process, None
        if process is None:
            return
        for signum, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, timeout)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signum)
            try:
                process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        if process.stdout is not None:
            process.stdout.close()

    def rss_bytes(self) -> int:
        """The server's resident memory now (``VmRSS`` in ``/proc/PID/status``)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"no VmRSS for {self.name} (pid {self.pid})")
        return int(match.group(1)) * 1024

    def tree_memory_bytes(self) -> tuple[int, int]:
        """``(bytes, processes)``: proportional set size (``Pss``) summed over the server and
        every process it started (its indexer and parser), so that memory shared between them
        is counted once; ``VmRSS`` where the kernel has no ``smaps_rollup``."""
        pids = [self.pid, *descendants(self.pid)]
        total = 0
        for pid in pids:
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                rollup = Path(f"/proc/{pid}/status").read_text()
            match = re.search(r"^(?:Pss|VmRSS):\s+(\d+) kB", rollup, re.MULTILINE)
            total += int(match.group(1)) * 1024 if match else 0
        return total, len(pids)

    def wait_output(self, pattern: str, *, timeout: float) -> re.Match[str]:
        """Wait until a line of the server's output matches ``pattern``; ``ServerStartError``
        if it exits or ``timeout`` seconds pass first."""
        return self._wait_ready([re.compile(pattern)], timeout)[0]

    def _wait_ready(self, patterns: list[re.Pattern[str]], timeout: float) -> list[re.Match[str]]:
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        os.set_blocking(stdout.fileno(), False)
        deadline = time.monotonic() + timeout
        matches: list[re.Match[str]] = []
        buffered, self._partial = self._partial, ""
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while len(matches) < len(patterns):
                left = deadline - time.monotonic()
                if left <= 0:
                    wanted = patterns[len(matches)].pattern
                    raise ServerStartError(f"{self.name} printed no {wanted!r} in {timeout:g} s")
                if not selector.select(left):
                    continue
                chunk = stdout.read(65536)
                if not chunk:
                    raise ServerStartError(
                        f"{self.name} exited; see {self.log_path}:\n" + self._log_tail()
                    )
                # Only whole lines are matched: half a port number is a wrong port number.
                *lines, buffered = (buffered + chunk.decode("utf-8", "replace")).split("\n")
                for line in lines:
                    if len(matches) < len(patterns):
                        match = patterns[len(matches)].search(line)
                        if match is not None:
                            matches.append(match)
        self._partial = buffered
        return matches

    def _log_tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago, for programs that cannot bind port 0 and report it."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for_port(host: str, port: int, *, timeout: float = 10.0) -> None:
    """Return once ``host:port`` accepts a connection; ``ServerStartError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise ServerStartError(f"nothing listens on {host}:{port}: {exc}") from None
        # A program that prints nothing when ready leaves nothing to wait on but its port.
        time.sleep(0.05)


def python(*args: str) -> list[str]:
    """An argv running this Python interpreter."""
    return [sys.executable, *args]


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a child process run from the project root: this one's with ``extra``,
    the root first on ``PYTHONPATH`` so that ``-m benchmarks...`` and ``tools`` import, and
    the rest of ``PYTHONPATH`` kept after it."""
    env = {**os.environ, **(extra or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def descendants(pid: int) -> list[int]:
    """Every living process below ``pid``, read from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields follow the last ")".
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, waiting = [], [pid]
    while waiting:
        for child in children.get(waiting.pop(), []):
            found.append(child)
            waiting.append(child)
    return found
