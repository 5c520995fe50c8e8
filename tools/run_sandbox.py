"""``nox -s sandbox``: the app, the capture server and its inbox together, until Ctrl-C.

Runs ``mail-sandbox`` and ``flask run`` as child processes wired to each other, creates the
database and the demo user, prints the URLs and credentials, and on Ctrl-C, SIGTERM or SIGHUP
stops both children, leaving nothing running.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"
DEMO_USER = ("susan", "susan@example.com", "cat-on-keyboard-1")
STOP_GRACE_SECONDS = 10


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The session's flags (after ``nox -s sandbox --``)."""
    parser = argparse.ArgumentParser(prog="nox -s sandbox --")
    parser.add_argument("--host", default="127.0.0.1", help="address for all three (loopback)")
    parser.add_argument("--app-port", type=int, default=5000, help="the app (default 5000)")
    parser.add_argument("--smtp-port", type=int, default=8025, help="SMTP capture (default 8025)")
    parser.add_argument("--http-port", type=int, default=8026, help="inbox and API (default 8026)")
    return parser.parse_args(argv)


def _die_with_parent() -> None:
    # Linux: the child is killed if this launcher dies without stopping it (killed itself, say).
    # SIGKILL, not SIGTERM: a server that hangs while stopping ignores a SIGTERM and would stay
    # behind holding its ports, with no one left to escalate.
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start a child in its own process group, so the terminal's Ctrl-C reaches us first."""
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )


def secret_key() -> str:
    """A SECRET_KEY kept in the instance folder, so sessions and links survive restarts."""
    path = INSTANCE / "sandbox-secret-key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing listens on ``host:port``."""
    with socket.socket() as probe:
        if os.name == "posix":
            # As the servers bind: connections a stopped server left in TIME_WAIT do not stop a
            # new one from listening, so they must not make the port look taken either.
            # (Windows' SO_REUSEADDR would let us bind over a live listener.)
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def wait_until_listening(
    host: str, port: int, child: subprocess.Popen[bytes], timeout: float = 30
) -> bool:
    """Wait until ``host:port`` accepts connections, or the child exits, or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            # Nothing to wait on but the port itself; re-try at a short, bounded interval.
            threading.Event().wait(0.1)
    return False


def watch(children: list[subprocess.Popen[bytes]], stopping: threading.Event) -> int:
    """Wait until ``stopping`` is set (0) or a child exits by itself (1)."""
    while not stopping.is_set():
        if any(child.poll() is not None for child in children):
            print("sandbox: a server exited; stopping the other.", file=sys.stderr)
            return 1
        stopping.wait(0.5)
    print("\nsandbox: stopping...", flush=True)
    return 0


def stop(children: list[subprocess.Popen[bytes]], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM every child, give them ``grace`` seconds together, SIGKILL whatever is left."""
    for child in children:
        if child.poll() is None:
            _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(child, signal.SIGKILL)
            child.wait()


def _signal_group(child: subprocess.Popen[bytes], signum: int) -> None:
    # The child may have exited since it was last looked at.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)


def main(argv: list[str]) -> int:
    """Run the sandbox until Ctrl-C; returns the exit status."""
    args = parse_args(argv)
    busy = [
        f"{name} port {port}"
        for name, port in (
            ("app", args.app_port),
            ("SMTP", args.smtp_port),
            ("inbox", args.http_port),
        )
        if not port_is_free(args.host, port)
    ]
    if busy:
        print(
            f"sandbox: {', '.join(busy)} already in use on {args.host}; stop what uses it or "
            "pass other ports (--app-port, --smtp-port, --http-port).",
            file=sys.stderr,
        )
        return 2

    INSTANCE.mkdir(exist_ok=True)
    app_url = f"http://{args.host}:{args.app_port}"
    inbox_url = f"http://{args.host}:{args.http_port}"
    env = {
        **os.environ,
        "SECRET_KEY": secret_key(),
        "MAIL_SERVER": args.host,
        "MAIL_PORT": str(args.smtp_port),
        "APP_BASE_URL": app_url,
        "FLASK_APP": "app",
        "PYTHONUNBUFFERED": "1",
    }
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "init-db"], cwd=ROOT, env=env, check=True)
    username, email, password = DEMO_USER
    subprocess.run(
        [*flask, "create-user", username, email, "--password", password, "--exist-ok"],
        cwd=ROOT,
        env=env,
        check=True,
    )

    stopping = threading.Event()
    # SIGHUP: the terminal closed; the servers must not outlive it.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stopping.set())

    children = [
        start(
            [
                sys.executable, "-m", "mail_sandbox",
                "--smtp", f"{args.host}:{args.smtp_port}",
                "--http", f"{args.host}:{args.http_port}",
                "--db", str(INSTANCE / "mail-sandbox.sqlite3"),
                # Off until triggers are set through the API: a developer can then watch the
                # app's failure handling (PUT /api/v1/chaos).
                "--enable-chaos",
            ],
            env,
        ),
    ]  # fmt: skip
    children.append(start([*flask, "run", "--host", args.host, "--port", str(args.app_port)], env))
    try:
        ready = all(
            wait_until_listening(args.host, port, child)
            for port, child in ((args.http_port, children[0]), (args.app_port, children[1]))
        )
        if not ready:
            print("sandbox: a server did not start; see its output above.", file=sys.stderr)
            return 1
        print(
            "\n"
            f"  Microblog app   {app_url}\n"
            f"  Inbox (mail)    {inbox_url}\n"
            f"  SMTP capture    {args.host}:{args.smtp_port}\n"
            f"  Demo user       {username} / {password}  ({email})\n"
            "\n  Press Ctrl-C to stop.\n",
            flush=True,
        )
        return watch(children, stopping)
    finally:
        stop(children)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
