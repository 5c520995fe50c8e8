"""A throwaway PostgreSQL cluster for the tests: ``initdb`` in a temporary folder, ``pg_ctl`` on a
free loopback port, removed again afterwards.

``initdb`` refuses to run as root, so as root both run as the ``postgres`` user that Debian's
``postgresql`` package creates, in a folder that user owns.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

#: Where Debian's packages put the server's programs; ``$PG_BINDIR`` names another place.
_DEBIAN_BINDIRS = "/usr/lib/postgresql/*/bin"
INSTALL_HINT = "PostgreSQL is not installed: apt-get install postgresql (or set PG_BINDIR)"


class PostgresMissingError(RuntimeError):
    """No ``initdb``/``pg_ctl`` on this machine."""


def find_bindir() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``, newest version first."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    candidates += sorted(glob.glob(_DEBIAN_BINDIRS), reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise PostgresMissingError(INSTALL_HINT)


@dataclass
class Cluster:
    """A running cluster: its folder, port, and the databases made for tests."""

    folder: Path
    port: int
    bindir: Path
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL of ``database`` on this cluster (trust auth, loopback)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database; returns its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by ``new_database``, whoever is still connected."""
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        _as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-m",
                      "fast", "-w", "stop"], check=False)  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)

    def pg_ctl(self, *args: str) -> None:
        """Run ``pg_ctl`` on this cluster (``stop``, ``start``...), as its owner."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        extra = ["-o", options, "-l", str(self.folder / "server.log")] if "start" in args else []
        command = [str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), *extra, "-w"]
        _as_postgres([*command, *args])


def start_cluster(*, durable: bool = False) -> Cluster:
    """``initdb`` and start a cluster on a free port; raises ``PostgresMissingError``.

    A test cluster skips fsync (it keeps nothing worth a power cut); ``durable`` keeps it, as
    a benchmark that compares with a durable store must.
    """
    bindir = find_bindir()
    folder = Path(tempfile.mkdtemp(prefix="mail-sandbox-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    _as_postgres([str(bindir / "initdb"), "-D", str(folder / "data"), "-A", "trust",
                  "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8"])  # fmt: skip
    cluster = Cluster(folder, _free_port(), bindir)
    try:
        with open(folder / "data" / "postgresql.conf", "a") as conf:
            conf.write("max_connections = 200\n")
            if not durable:
                conf.write("fsync = off\nfull_page_writes = off\n")
        cluster.pg_ctl("start")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return cluster


def _as_postgres(command: list[str], *, check: bool = True) -> None:
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()[-500:]}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure() -> int:
    """Make sure the tests find PostgreSQL: as root on Debian, install ``postgresql`` when it
    is missing; otherwise say in one line what to do."""
    try:
        find_bindir()
        return 0
    except PostgresMissingError:
        pass
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("PostgreSQL not found; installing Debian's postgresql package ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "postgresql"],
        ):
            subprocess.run(command, env=env, check=False, stdout=subprocess.DEVNULL)
        try:
            find_bindir()
            return 0
        except PostgresMissingError:
            pass
    print(INSTALL_HINT, file=sys.stderr)
    return 1


if __name__ == "__main__":
    if sys.argv[1:] != ["--ensure"]:
        raise SystemExit("usage: python tools/postgres_cluster.py --ensure")
    raise SystemExit(ensure())
