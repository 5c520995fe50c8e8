"""A clock for the stores of tests that move time themselves (mailbox TTLs)."""

from __future__ import annotations

import threading


class ManualClock:
    """Seconds since the epoch that move only when the test says so (mailbox TTLs)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
