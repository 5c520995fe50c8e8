"""``nox -s sandbox``'s runner: a restart right after a stop is allowed, and nothing it started
outlives it, even a server that ignores SIGTERM while stopping."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tools import run_sandbox

ROOT = Path(__file__).resolve().parent.parent

# A server stuck in its shutdown: SIGTERM does nothing; it says when it is ready for that.
IGNORES_SIGTERM = (
    "import signal\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "while True:\n"
    "    signal.pause()\n"
)


def time_wait_port() -> int:
    """A loopback port whose only socket is a closed connection in TIME_WAIT, as a stopped
    server leaves behind: the server side closed first."""
    with socket.socket() as listener:
        # As asyncio and aiohttp listen on POSIX.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
        accepted, _ = listener.accept()
        accepted.close()
        # The server's FIN has arrived once recv sees the end; closing answers it, which puts
        # the server's side into TIME_WAIT.
        assert client.recv(1) == b""
        client.close()
    return port


def plain_bind_fails(port: int) -> bool:
    with socket.socket() as plain:
        try:
            plain.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def test_a_port_left_in_time_wait_by_a_stopped_server_counts_as_free() -> None:
    port = time_wait_port()
    assert plain_bind_fails(port), "the test needs a port in TIME_WAIT"

    assert run_sandbox.port_is_free("127.0.0.1", port)


def test_a_port_with_a_listener_counts_as_busy() -> None:
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        assert not run_sandbox.port_is_free("127.0.0.1", port)


def wait_for_exit(pid_fd: int, timeout: float) -> bool:
    """Whether the process behind ``pid_fd`` ends within ``timeout`` seconds."""
    readable, _, _ = select.select([pid_fd], [], [], timeout)
    return bool(readable)


@contextmanager
def watched(pid: int) -> Iterator[int]:
    """A pidfd for ``pid`` (readable once it exits); SIGKILLs it afterwards if still there."""
    pid_fd = os.pidfd_open(pid)
    try:
        yield pid_fd
    finally:
        if not wait_for_exit(pid_fd, 0):
            signal.pidfd_send_signal(pid_fd, signal.SIGKILL)
        os.close(pid_fd)


def test_stop_kills_a_child_that_ignores_sigterm() -> None:
    # In a process group of its own, as the runner starts its servers.
    child = subprocess.Popen(
        [sys.executable, "-c", IGNORES_SIGTERM], stdout=subprocess.PIPE, start_new_session=True
    )
    with watched(child.pid) as pid_fd:
        assert child.stdout.readline() == b"ready\n"
        stopping = threading.Event()
        stopping.set()

        assert run_sandbox.watch([child], stopping) == 0
        run_sandbox.stop([child], grace=0.2)

        assert wait_for_exit(pid_fd, 0)
        assert child.returncode == -signal.SIGKILL


# Starts a child through the runner and prints its pid; the child, on the same output, says
# when it is ready. Then it waits.
RUNNER = f"""
import os, signal, sys
sys.path.insert(0, {str(ROOT)!r})
from tools import run_sandbox
child = run_sandbox.start([sys.executable, "-c", {IGNORES_SIGTERM!r}], dict(os.environ))
print(child.pid, flush=True)
while True:
    signal.pause()
"""


def test_a_killed_runner_takes_a_child_that_ignores_sigterm_with_it() -> None:
    # What nox does to the runner when it takes long to stop: SIGKILL, with no time to clean up.
    runner = subprocess.Popen([sys.executable, "-c", RUNNER], stdout=subprocess.PIPE)
    try:
        lines = {runner.stdout.readline().strip() for _ in range(2)}
        assert b"ready" in lines, lines
        (child_pid,) = (int(line) for line in lines - {b"ready"})
        with watched(child_pid) as pid_fd:
            runner.kill()
            runner.wait(timeout=10)

            assert wait_for_exit(pid_fd, 10), "the server outlived the runner"
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(timeout=10)
