"""The child processes of a file store: its indexer, and the indexer's parser.

Children are plain ``python -c`` processes rather than ``multiprocessing.Process``: that would
import the parent's ``__main__`` again in the child (a script that starts a server, say). Each
child ends when the pipe from its parent closes, so none outlives a killed server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path

from mail_sandbox.store.parse import ParsedMessage
from mail_sandbox.store.sqlite.index_loop import serve
from mail_sandbox.store.sqlite.mail_index import IndexerSettings
from mail_sandbox.store.sqlite.parse_jobs import ParseJob, parse_all

#: How much the parser process lowers its priority (``nice``): under a flood the SMTP loop and
#: the web side get the CPU first, and the backlog is parsed when they idle.
NICE = 10
#: How long a child is given to finish its work and end once asked to, before it is killed.
STOP_TIMEOUT_SECONDS = 30.0
# The directory holding the mail_sandbox package, for the child's import path.
_ROOT = str(Path(__file__).resolve().parents[3])


class ParserProcess:
    """A ``Parser`` in a child process of lower priority (``NICE``)."""

    def __init__(self) -> None:
        jobs_in, self._jobs = multiprocessing.Pipe(duplex=False)
        self._results, results_out = multiprocessing.Pipe(duplex=False)
        try:
            self._process = spawn_python("parser_main", [], (jobs_in, results_out))
        finally:
            jobs_in.close()
            results_out.close()

    def submit(self, jobs: list[ParseJob]) -> None:
        """Send ``jobs`` to the child."""
        with contextlib.suppress(OSError):
            self._jobs.send(jobs)

    def result(self) -> list[ParsedMessage] | None:
        """The child's answer, or None when it died."""
        try:
            return self._results.recv()
        except (EOFError, OSError):
            return None

    def close(self) -> None:
        """Close the pipes, which ends the child, and wait for it."""
        self._jobs.close()
        self._results.close()
        try:
            self._process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def spawn_python(
    function: str, args: list[str], ends: tuple[Connection, ...], *, module: str = __name__
):
    """A Python child running ``function(argv)`` of ``module`` (this one unless named):
    ``args``, then the file descriptors of ``ends``, which it inherits (and nothing else)."""
    fds = tuple(end.fileno() for end in ends)
    path = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH", "")) if p)
    # -c rather than -m: run as __main__, this module's classes would not unpickle here.
    code = f"import sys; from {module} import {function}; {function}(sys.argv[1:])"
    # This interpreter running this module: nothing in argv comes from outside.
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", code, *args, *map(str, fds)],
        pass_fds=fds,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": path},
        # Out of the server's process group: Ctrl-C in a terminal (or a signal to the whole
        # group) is for the server, which stops its children through their pipes; a child
        # killed by it would be restarted while the server shuts down.
        start_new_session=True,
    )


def child_main(argv: list[str]) -> None:
    """Entry point of the indexer process: settings as JSON, then the two pipe descriptors."""
    settings = IndexerSettings(**json.loads(argv[0]))
    requests = Connection(int(argv[1]), writable=False)
    progress = Connection(int(argv[2]), readable=False)
    logging.basicConfig(format="mail-sandbox indexer: %(levelname)s %(message)s")
    try:
        serve(requests, progress, settings, start_parser=ParserProcess)
    finally:
        requests.close()
        progress.close()


def parser_main(argv: list[str]) -> None:
    """Entry point of the parser process: parse each batch of jobs until the pipe closes."""
    jobs = Connection(int(argv[0]), writable=False)
    results = Connection(int(argv[1]), readable=False)
    logging.basicConfig(format="mail-sandbox parser: %(levelname)s %(message)s")
    with contextlib.suppress(OSError):
        os.nice(NICE)
    try:
        while True:
            results.send(parse_all(jobs.recv()))
    except (EOFError, OSError):
        return  # the indexer closed its end
    finally:
        jobs.close()
        results.close()
