"""Indexing off the path of the 250: runs ``index_loop.serve`` in a child process or a thread.

Parsing and indexing cost about half a millisecond per message, most of it Python holding the
GIL, so a server runs the indexer in a child process: the SMTP event loop keeps the GIL. The
indexer runs at normal priority, so that a message shows within milliseconds even on a busy
machine; when a backlog builds up, parsing (more than half the work) moves to a second process
at a lower priority (see ``MailIndex``), so that under a flood the SMTP side wins the CPU.
Throwaway stores (tests, the pytest plugin) run the same loop in a thread, which costs nothing
to start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from typing import Any

from mail_sandbox.store.sqlite.children import STOP_TIMEOUT_SECONDS, spawn_python
from mail_sandbox.store.sqlite.index_loop import serve_and_close
from mail_sandbox.store.sqlite.mail_index import Progress

logger = logging.getLogger(__name__)

#: A child that dies again this soon after a restart is restarted only after this pause.
RESTART_PAUSE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class IndexerProgram:
    """What an indexer runs: ``module``'s ``function(argv)`` in a child process, given the
    settings as JSON and then its two pipes' descriptors; or ``in_thread(requests, progress,
    settings)`` in a thread, closing both pipes when it ends."""

    module: str
    function: str
    in_thread: Callable[[Connection, Connection, Any], None]


#: The file store's indexer.
FILE_INDEXER = IndexerProgram("mail_sandbox.store.sqlite.children", "child_main", serve_and_close)


class Indexer:
    """Runs ``program`` (``serve`` of a file store by default) for one store, in a child
    process or a thread, and relays its progress; ``label`` names the store in the log.

    ``on_progress`` is called for every ``Progress``, in order, from the relay thread of this
    class (``in_relay_thread``); one that raises is logged and the relay goes on. A child that
    dies (killed, out of memory) is started again; it resumes from the incoming file.
    """

    def __init__(
        self,
        settings: Any,
        on_progress: Callable[[Progress], None],
        *,
        in_child_process: bool,
        label: str,
        program: IndexerProgram = FILE_INDEXER,
    ) -> None:
        self.settings = settings
        self._label = label
        self._program = program
        self.in_child_process = in_child_process
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

    def in_relay_thread(self) -> bool:
        """Whether the caller runs on the relay thread (inside ``on_progress``)."""
        return threading.current_thread() is self._relay

    def request(self, upto: int) -> None:
        """Ask for everything up to id ``upto`` to be indexed."""
        with self._lock:
            self._requested = max(self._requested, upto)
            self._wake()

    def stop(self) -> None:
        """Let the indexer finish its chunk and stop; waits for it and for the relay thread
        (unless called from that thread, which then ends after its current report)."""
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
        if self._relay is not None and not self.in_relay_thread():
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
            # A dead child is restarted by the relay thread, which wakes the new one. The
            # request names the newest id asked for, so that an indexer that finds it taken by
            # another process's indexer can say it has been seen to.
            self._requests.send(self._requested)
            self._woken = True

    def _launch(self) -> Connection:
        """Start a worker (lock held); returns the end of the pipe its progress arrives on."""
        requests_in, requests_out = multiprocessing.Pipe(duplex=False)
        progress_in, progress_out = multiprocessing.Pipe(duplex=False)
        if self.in_child_process:
            self._worker = spawn_python(
                self._program.function,
                [json.dumps(asdict(self.settings))],
                (requests_in, progress_out),
                module=self._program.module,
            )
            # The child has its own copies now; ours would keep the pipes open after it died.
            requests_in.close()
            progress_out.close()
        else:
            self._worker = threading.Thread(
                target=self._program.in_thread,
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
                logger.error("mail store %s: the indexer stopped; starting it again", self._label)
                restarted = self._restart(started)
                if restarted is None:
                    return
                progress, started = restarted, time.monotonic()
                continue
            except Exception as exc:  # noqa: BLE001 - a report lost; the next one covers it
                # Reports are cumulative (``upto``): a lost one only delays the next wake-up.
                logger.error("mail store %s: unreadable indexer report: %s", self._label, exc)
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
                        self._label,
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
