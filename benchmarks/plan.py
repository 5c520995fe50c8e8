"""How much the benchmark measures: the full plan, and the quick one for a smoke run."""

from __future__ import annotations

from dataclasses import dataclass

KB = 1024


@dataclass(frozen=True)
class Plan:
    """How much of everything to do. Every load and probe is bounded in time, so that the full
    plan ends within about six minutes on two busy cores and the quick one within a minute and
    a half. ``rounds`` is how often the ingest part measures the floor and ours; the K=20 and
    K=1 samples stay large enough for a steady p95 in each round."""

    quick: bool
    rounds: int
    k20_total: int
    k1_total: int
    big_total: int
    long_total: int
    warmup: int
    api_requests: int
    probe_seconds: float
    visible_count: int
    load_time_limit: float
    long_time_limit: float
    uvloop_reference: bool
    probes_at_10k: bool
    probes_while_ingesting: bool
    first_fill: int
    fill_time_limit: float
    #: How long the long run waits for the server to index what the store's API added.
    index_wait: float
    #: Mailboxes on the crowded server of the mailboxes part, and messages in each.
    mailboxes: int = 1000
    per_mailbox: int = 100
    connections: int = 10
    size: int = 4 * KB
    big_size: int = 200 * KB
    visible_rate: float = 100.0
    reset_requests: int = 50
    slow_smtp_delay: float = 2.0
    #: The PostgreSQL part: K=20 and K=1 loads (smaller than the SQLite ones, since the server
    #: there is slower and every round runs it twice: one process, then two), their time limit,
    #: and how many messages the list/search probes find stored, filled within the fill's limit.
    pg_k20_total: int = 4_000
    pg_k1_total: int = 2_000
    pg_load_time_limit: float = 6.0
    pg_stored: int = 100_000
    pg_fill_time_limit: float = 110.0

    @property
    def visible_time_limit(self) -> float:
        """How long a visibility probe may take: its paced sends' time and half again, plus 2 s
        for a slow start."""
        return self.visible_count / self.visible_rate * 1.5 + 2

    @classmethod
    def full(cls) -> Plan:
        """Every figure, on samples large enough to judge it."""
        return cls(
            quick=False,
            rounds=3,
            k20_total=10_000,
            k1_total=5_000,
            big_total=400,
            long_total=100_000,
            warmup=200,
            api_requests=200,
            probe_seconds=3.0,
            visible_count=500,
            load_time_limit=10.0,
            long_time_limit=25.0,
            uvloop_reference=True,
            probes_at_10k=True,
            probes_while_ingesting=True,
            first_fill=10_000,
            fill_time_limit=55.0,
            index_wait=60.0,
        )

    @classmethod
    def quick_plan(cls) -> Plan:
        """A smoke run: small samples, 20,000 stored instead of 100,000, fewer probes."""
        return cls(
            quick=True,
            rounds=3,
            k20_total=1_500,
            k1_total=800,
            big_total=100,
            long_total=20_000,
            warmup=100,
            api_requests=30,
            probe_seconds=1.5,
            visible_count=100,
            load_time_limit=4.0,
            long_time_limit=10.0,
            uvloop_reference=False,
            probes_at_10k=False,
            probes_while_ingesting=False,
            first_fill=2_000,
            fill_time_limit=8.0,
            index_wait=8.0,
            mailboxes=100,
            pg_k20_total=800,
            pg_k1_total=400,
            pg_load_time_limit=3.0,
            pg_stored=5_000,
            pg_fill_time_limit=15.0,
        )
