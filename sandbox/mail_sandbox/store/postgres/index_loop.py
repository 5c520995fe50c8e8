"""The PostgreSQL store's indexer: a loop that moves waiting messages into the listed tables.

It runs in a child process of lower priority (``children.NICE``), as the file store's parser
does, and gives way to new mail in a flood (``FloodPace``): parsing and the trigram indexes'
work cost several times what taking a message in does, so under a flood the SMTP side gets the
CPU first and the backlog is indexed when it idles. It
talks to its store over two pipes (``sqlite.indexer.Indexer``): woken after each commit of new
mail, it answers with a ``Progress`` after each step. It also looks unasked every
``IDLE_POLL_SECONDS``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from multiprocessing.connection import Connection

import psycopg

from mail_sandbox.store.postgres.flood_pace import FloodPace
from mail_sandbox.store.postgres.index_rows import index_step
from mail_sandbox.store.sqlite.children import NICE
from mail_sandbox.store.sqlite.index_loop import RETRY_SECONDS, take_requests
from mail_sandbox.store.sqlite.indexer import IndexerProgram
from mail_sandbox.store.sqlite.mail_index import Progress

logger = logging.getLogger(__name__)

#: An idle indexer looks for waiting mail this often even unasked: for what a killed server
#: left, or what another server's store acknowledged while its indexer was busy.
IDLE_POLL_SECONDS = 0.25
#: How long connecting may take before the database counts as away for this round.
CONNECT_SECONDS = 5


@dataclass(frozen=True, slots=True)
class PostgresIndexerSettings:
    """What the indexer needs, passed to the child as JSON: the database, the announcing
    store's ``origin`` (see ``notices``), and ``label`` for the log."""

    url: str
    origin: str
    label: str


def serve(requests: Connection, progress: Connection, settings: PostgresIndexerSettings) -> None:
    """Index what waits, step by step, reporting each step on ``progress``, until a request
    says stop (None) or the store's end of the pipes closes."""
    conn: psycopg.Connection | None = None
    pace = FloodPace()
    upto = 0
    more = True  # mail may wait from before a crash or a stop
    failing = False
    asked = 0  # the newest id this server's store asked to have indexed
    try:
        while True:
            taken = take_requests(requests, more=more, idle=IDLE_POLL_SECONDS)
            if taken is None:
                return
            asked = max(asked, taken)
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(settings.url, connect_timeout=CONNECT_SECONDS)
                pause = pace.pause(conn)
                if pause:
                    # A stop request ends the pause at once.
                    if requests.poll(pause) and requests.recv() is None:
                        return
                    continue
                step = index_step(conn, origin=settings.origin, upto=upto)
                pace.indexed(conn, step)
            except Exception as exc:  # noqa: BLE001 - the database away, or worse: retried
                if not failing:
                    logger.error("mail store %s: indexing failed: %s", settings.label, exc)
                failing = more = True
                if conn is not None:
                    conn.close()
                if requests.poll(RETRY_SECONDS) and requests.recv() is None:
                    return
                continue
            if failing:
                logger.warning("mail store %s: indexing works again", settings.label)
            failing = False
            more = step is not None
            if step is not None:
                upto = step.upto
                progress.send(step)
            elif asked > upto:
                # Nothing waits that another indexer does not hold: what the store asked for
                # is indexed or being indexed elsewhere. Saying so lets it wake this one again.
                upto = asked
                progress.send(Progress(upto=upto))
    except (EOFError, OSError):
        return  # the store closed its end: nothing is left to report to
    finally:
        if conn is not None:
            conn.close()


def serve_and_close(
    requests: Connection, progress: Connection, settings: PostgresIndexerSettings
) -> None:
    """``serve``, then close both pipes: how a thread runs the indexer."""
    try:
        serve(requests, progress, settings)
    finally:
        requests.close()
        progress.close()


def child_main(argv: list[str]) -> None:
    """Entry point of the indexer process: settings as JSON, then the two pipe descriptors."""
    settings = PostgresIndexerSettings(**json.loads(argv[0]))
    logging.basicConfig(format="mail-sandbox indexer: %(levelname)s %(message)s")
    logging.getLogger("psycopg").setLevel(logging.ERROR)
    with contextlib.suppress(OSError):
        os.nice(NICE)
    serve_and_close(
        Connection(int(argv[1]), writable=False), Connection(int(argv[2]), readable=False), settings
    )


#: What a PostgreSQL store's ``Indexer`` runs.
POSTGRES_INDEXER = IndexerProgram(__name__, "child_main", serve_and_close)
