"""CPU time of a process tree, read from ``/proc``: what one message costs the capture server
and what it costs PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.processes import descendants

#: ``/proc/PID/stat`` counts CPU time in these ticks a second.
TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of ``pid`` and every process below it, so far.

    Each process's own time is summed with that of its children that ended and were waited for
    (``cutime``/``cstime``): a PostgreSQL backend or a helper that exits between two readings
    still counts, in its parent's figure.
    """
    ticks = 0
    for each in [pid, *descendants(pid)]:
        try:
            stat = Path(f"/proc/{each}/stat").read_text()
        except OSError:
            # Ended since the tree was read: its time is in its parent's cutime/cstime.
            continue
        # The command name may hold spaces and parentheses: the fields follow the last ")".
        # After it come state (field 3) ... utime, stime, cutime, cstime (fields 14 to 17).
        fields = stat.rsplit(")", 1)[1].split()
        ticks += sum(int(value) for value in fields[11:15])
    return ticks / TICKS


def postmaster_pid(data_dir: Path) -> int:
    """The pid of the cluster's postmaster: the first line of ``DATA/postmaster.pid``."""
    return int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
