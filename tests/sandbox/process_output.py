"""A child process's output read on a thread, so a test can wait for a line with a deadline."""

from __future__ import annotations

import queue
import re
import subprocess
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
