"""Child processes in tests: ``mail-sandbox`` started on free ports, and output read on a thread
so a test can wait for a line with a deadline."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time


class ProcessOutput:
    """Lines a process prints, collected as they come; ``seen`` holds those read so far."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _pump(self, stream) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def until(self, pattern: str, timeout: float = 30) -> str:
        """Everything up to the first line matching ``pattern``; fails at the end or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                raise AssertionError(f"no line matching {pattern!r} in {self.seen!r}")
            self.seen.append(line)
            if re.search(pattern, line):
                return "".join(self.seen)

    def rest(self, timeout: float = 20) -> str:
        """Everything printed after what ``until`` read, once the process closed its output."""
        self._thread.join(timeout)
        out = []
        while not self.lines.empty():
            line = self.lines.get()
            if line is not None:
                out.append(line)
        return "".join(out)


def start_mail_sandbox(*flags: str) -> tuple[subprocess.Popen[str], int, str]:
    """``python -m mail_sandbox`` on free ports; returns the process, SMTP port and inbox URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mail_sandbox",
            "--smtp",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--db",
            ":memory:",
            *flags,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    printed = ""
    for line in process.stdout:  # ends when the process exits, so this cannot hang
        printed += line
        if "mail kept in" in line:
            break
    smtp_port = re.search(r"SMTP on 127\.0\.0\.1:(\d+)", printed)
    url = re.search(r"inbox on (http://\S+)", printed)
    assert smtp_port and url, printed
    return process, int(smtp_port.group(1)), url.group(1)
