"""Runtime counters of a capture server, reported as Mailpit's ``RuntimeStats`` in ``/api/v1/info``.

The SMTP side bumps them from the event loop and the API reads them from handlers; a lock keeps
the count and size of accepted mail consistent; the counters start at zero with every start.
"""

from __future__ import annotations

import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

_PROC_STATUS = Path("/proc/self/status")


def resident_memory() -> int:
    """Bytes of memory this process holds now (RSS); the peak where "now" is not available."""
    try:
        for line in _PROC_STATUS.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kibibytes, macOS bytes.
    return peak if sys.platform == "darwin" else peak * 1024


class RuntimeStats:
    """What the server did since it started: SMTP messages accepted and commands refused."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._accepted = 0
        self._accepted_size = 0
        self._rejected = 0

    def smtp_accepted(self, size: int) -> None:
        """A message was stored and answered with 250."""
        with self._lock:
            self._accepted += 1
            self._accepted_size += size

    def smtp_rejected(self) -> None:
        """An SMTP command of a transaction was refused (chaos, or the store failing)."""
        with self._lock:
            self._rejected += 1

    @property
    def uptime(self) -> float:
        """Seconds since the server started."""
        return self._clock() - self._started

    def to_json(self, messages_deleted: int) -> dict[str, int]:
        """Mailpit's ``RuntimeStats`` object; the store counts the deleted messages."""
        with self._lock:
            accepted, size = self._accepted, self._accepted_size
            rejected = self._rejected
        return {
            "Uptime": int(self.uptime),
            "Memory": resident_memory(),
            "MessagesDeleted": messages_deleted,
            "SMTPAccepted": accepted,
            "SMTPAcceptedSize": size,
            "SMTPRejected": rejected,
            # Mailpit counts duplicates dropped by its --ignore-duplicate-ids; nothing here
            # drops a message it accepted.
            "SMTPIgnored": 0,
        }
