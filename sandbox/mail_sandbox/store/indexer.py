"""Indexing off the path of the 250: runs ``MailIndex`` in a child process or a thread.

Parsing and indexing cost about half a millisecond per message, most of it Python holding the
GIL, so a server runs the indexer in a child process: the SMTP event loop keeps the GIL. The
indexer runs at normal priority, so that a message shows within milliseconds even on a busy
machine; when a backlog builds up, parsing (more than half the work) moves to a second process
at a lower priority (see ``MailIndex``), so that under a flood the SMTP side wins the CPU.
Throwaway stores (tests, the pytest plugin) run the same loop in a thread, which costs nothing
to start. Either way it talks to the store over a pair of pipes: the store wakes it up after
each commit, it answers with ``Progress`` after each chunk.

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
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from multiprocessing.connection import Connection
from pathlib import Path

from mail_sandbox.store.mail_index import (
    IndexerSettings,
    MailIndex,
    ParseJob,
    Parser,
    Progress,
    parse_all,
)
from mail_sandbox.store.parse import ParsedMessage

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

#: Next to the mailbox file: whoever holds a lock on it is the one indexer (IndexingTurn).
INDEXER_LOCK_SUFFIX = "-indexer.lock"
#: How much the parser process lowers its priority (``nice``): under a flood the SMTP loop and
#: the web side get the CPU first, and the backlog is parsed when they idle.
NICE = 10
#: Pause after a failed chunk (disk full, a lock held too long) before trying again.
RETRY_SECONDS = 0.5
#: An idle indexer looks for waiting mail this often even unasked: another process (a second
#: store on the same files, a tool filling them) may have added some.
IDLE_POLL_SECONDS = 1.0
#: A child that dies again this soon after a restart is restarted only after this pause.
RESTART_PAUSE_SECONDS = 1.0
STOP_TIMEOUT_SECONDS = 30.0
_ROOT = str(Path(__file__).resolve().parents[2])


def serve(
    requests: Connection,
    progress: Connection,
    settings: IndexerSettings,
    *,
    start_parser: Callable[[], Parser] | None = None,
) -> None:
    """The indexer's loop: index what waits, chunk by chunk, and report each on ``progress``.

    A request wakes it up (True) or stops it after the current chunk (None). The loop also ends
    when the store goes away (its end of the pipes closes). ``start_parser``: see ``MailIndex``.
    """
    index = MailIndex(settings, start_parser=start_parser)
    turn = IndexingTurn(settings.path + INDEXER_LOCK_SUFFIX)
    reported = -1
    more = True  # mail may wait from before a crash or a stop
    failing = False
    try:
        while True:
            # Wait for a request only when idle, and then only so long (IDLE_POLL_SECONDS);
            # otherwise just take what has arrived.
            timeout = 0 if more else IDLE_POLL_SECONDS
            while requests.poll(timeout):
                if requests.recv() is None:
                    return
                timeout = 0
            try:
                if turn.take():
                    step, more = index.index()
                else:
                    # Another store's indexer works on these files: watch it instead.
                    step, more = index.observe(), False
            except Exception as exc:  # noqa: BLE001 - sqlite3.Error or worse: retried either way
                if not failing:
                    logger.error("mail store %s: indexing failed, retrying: %s", settings.path, exc)
                failing = more = True
                time.sleep(RETRY_SECONDS)
                continue
            if failing:
                logger.warning("mail store %s: indexing works again", settings.path)
            failing = False
            if step.ids or step.pruned or step.upto != reported:
                progress.send(step)
                reported = step.upto
    except (EOFError, OSError):
        return  # the store closed its end: nothing is left to report to
    finally:
        turn.close()
        index.close()


class IndexingTurn:
    """One indexer per mailbox at a time, across processes: the one holding a lock on a file.

    Two stores open on the same files (a server and a tool filling its mailbox, say) would
    otherwise both parse every waiting message. The lock goes with the process that holds it,
    so when that one ends another indexer takes over. Where ``fcntl`` is missing (Windows),
    every indexer works.
    """

    def __init__(self, path: str) -> None:
        self._fd: int | None = None
        self.held = fcntl is None
        if fcntl is not None:
            try:
                self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                logger.warning("mail store: cannot take turns indexing (%s); indexing anyway", exc)
                self.held = True

    def take(self) -> bool:
        """Whether this indexer may index now (it keeps its turn until it closes)."""
        if not self.held and self._fd is not None and fcntl is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            self.held = True
        return self.held

    def close(self) -> None:
        """Give the turn up."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Indexer:
    """Runs ``serve`` for one store, in a child process or a thread, and relays its progress.

    ``on_progress`` is called from a thread of this class for every ``Progress``. A child that
    dies (killed, out of memory) is started again; it resumes from the incoming file.
    """

    def __init__(
        self,
        settings: IndexerSettings,
        on_progress: Callable[[Progress], None],
        *,
        in_process: bool,
    ) -> None:
        self.settings = settings
        self.in_process = in_process
        self._on_progress = on_progress
        self._lock = threading.Lock()
        self._stopping = False
        self._requested = 0
        # At most one wake-up is in the pipe at a time, so a slow child never fills it.
        self._woken = False
        self._requests: Connection | None = None
        self._worker: subprocess.Popen[bytes] | threading.Thread | None = None
        self._relay: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The child process's id, or None when the indexer runs in a thread."""
        worker = self._worker
        return worker.pid if isinstance(worker, subprocess.Popen) else None

    def start(self) -> None:
        """Start the indexer and the thread that relays its progress."""
        with self._lock:
            progress = self._launch()
        self._relay = threading.Thread(
            target=self._relay_progress,
            args=(progress,),
            name="mail-store-index-relay",
            daemon=True,
        )
        self._relay.start()

    def request(self, upto: int) -> None:
        """Ask for everything up to id ``upto`` to be indexed."""
        with self._lock:
            self._requested = max(self._requested, upto)
            self._wake()

    def stop(self) -> None:
        """Let the indexer finish its chunk and stop; waits for it and for the relay thread."""
        with self._lock:
            self._stopping = True
            if self._requests is not None:
                with contextlib.suppress(OSError):
                    self._requests.send(None)
            worker = self._worker
        if isinstance(worker, subprocess.Popen):
            try:
                worker.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                logger.error("mail store: the indexer did not stop; killing it")
                worker.kill()
                worker.wait()
        elif worker is not None:
            worker.join(timeout=STOP_TIMEOUT_SECONDS)
        if self._relay is not None:
            self._relay.join(timeout=STOP_TIMEOUT_SECONDS)
        with self._lock:
            if self._requests is not None:
                self._requests.close()
                self._requests = None

    def _wake(self) -> None:
        """Wake the indexer unless a wake-up is on its way already (lock held)."""
        if self._woken or self._requests is None or self._stopping:
            return
        with contextlib.suppress(OSError):
            # A dead child is restarted by the relay thread, which wakes the new one.
            self._requests.send(True)
            self._woken = True

    def _launch(self) -> Connection:
        """Start a worker (lock held); returns the end of the pipe its progress arrives on."""
        requests_in, requests_out = multiprocessing.Pipe(duplex=False)
        progress_in, progress_out = multiprocessing.Pipe(duplex=False)
        if self.in_process:
            self._worker = spawn_python(
                "child_main", [json.dumps(asdict(self.settings))], (requests_in, progress_out)
            )
            # The child has its own copies now; ours would keep the pipes open after it died.
            requests_in.close()
            progress_out.close()
        else:
            self._worker = threading.Thread(
                target=_serve_and_close,
                args=(requests_in, progress_out, self.settings),
                name="mail-store-indexer",
                daemon=True,
            )
            self._worker.start()
        self._requests = requests_out
        self._woken = False
        self._wake()
        return progress_in

    def _relay_progress(self, progress: Connection) -> None:
        started = time.monotonic()
        while True:
            try:
                step = progress.recv()
            except (EOFError, OSError):
                progress.close()
                with self._lock:
                    if self._stopping:
                        return
                logger.error(
                    "mail store %s: the indexer stopped; starting it again", self.settings.path
                )
                restarted = self._restart(started)
                if restarted is None:
                    return
                progress, started = restarted, time.monotonic()
                continue
            except Exception as exc:  # noqa: BLE001 - a report lost; the next one covers it
                # Reports are cumulative (``upto``): a lost one only delays the next wake-up.
                logger.error(
                    "mail store %s: unreadable indexer report: %s", self.settings.path, exc
                )
                continue
            with self._lock:
                # Each report answers the wake-ups before it; mail committed since it was
                # made needs another.
                self._woken = False
                if self._requested > step.upto:
                    self._wake()
            try:
                self._on_progress(step)
            except Exception:
                logger.exception("mail store: handling the indexer's progress failed")

    def _restart(self, started: float) -> Connection | None:
        """A new worker after one ended; None once stopping. Keeps trying while starting one
        fails (no memory or processes to spare), so that indexing resumes when it can."""
        pause = time.monotonic() - started < RESTART_PAUSE_SECONDS
        while True:
            if pause:
                time.sleep(RESTART_PAUSE_SECONDS)
            with self._lock:
                if self._stopping:
                    return None
                try:
                    self._reap()
                    return self._launch()
                except (OSError, RuntimeError) as exc:
                    logger.error(
                        "mail store %s: cannot start the indexer (%s); trying again",
                        self.settings.path,
                        exc,
                    )
            pause = True

    def _reap(self) -> None:
        """Collect a dead child (lock held)."""
        if isinstance(self._worker, subprocess.Popen):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._worker.wait(timeout=STOP_TIMEOUT_SECONDS)
        if self._requests is not None:
            self._requests.close()
            self._requests = None


def _serve_and_close(requests: Connection, progress: Connection, settings: IndexerSettings):
    try:
        serve(requests, progress, settings)
    finally:
        requests.close()
        progress.close()


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


def spawn_python(function: str, args: list[str], ends: tuple[Connection, ...]):
    """A Python child running ``function(argv)`` of this module: ``args``, then the file
    descriptors of ``ends``, which it inherits (and nothing else)."""
    fds = tuple(end.fileno() for end in ends)
    path = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH", "")) if p)
    # -c rather than -m: run as __main__, this module's classes would not unpickle here.
    code = (
        f"import sys; from mail_sandbox.store.indexer import {function}; {function}(sys.argv[1:])"
    )
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
