"""When the PostgreSQL store's indexer gives way to new mail: only in a flood (judged by how
fast mail arrives, not by how fast it is indexed), on a machine with no CPU to spare, while mail
keeps coming, and never further behind than ``MAX_DEFERRED``."""

from __future__ import annotations

import pytest

from mail_sandbox.store.postgres import flood_pace
from mail_sandbox.store.postgres.flood_pace import (
    FLOOD_RATE,
    IDLE_CORES,
    MAX_DEFERRED,
    QUIET_SECONDS,
    RATE_SECONDS,
    FloodPace,
)
from mail_sandbox.store.sqlite.mail_index import Progress


class Machine:
    """The clock, the idle CPU and the waiting ids the pace sees."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1000.0
        self.idle = 0.0
        self.oldest, self.newest = 1, 1
        monkeypatch.setattr(flood_pace.time, "monotonic", lambda: self.now)
        monkeypatch.setattr(flood_pace, "_waiting", lambda _conn: (self.oldest, self.newest))
        monkeypatch.setattr(flood_pace, "_ids_given", lambda _conn: self.newest)
        monkeypatch.setattr(flood_pace.IdleCpu, "idle_cores", lambda _self: self.idle)

    def arrive(self, count: int) -> None:
        self.newest += count
        self.now += QUIET_SECONDS * 1.01


def step(count: int) -> Progress:
    return Progress(upto=count, ids=[f"m{n}" for n in range(count)], mailboxes=["default"] * count)


@pytest.fixture()
def machine(monkeypatch):
    return Machine(monkeypatch)


def indexed_while_arriving(pace: FloodPace, machine: Machine, per_second: float) -> None:
    """Two steps ``RATE_SECONDS`` apart, mail arriving at ``per_second`` meanwhile."""
    pace.indexed(None, step(10))
    machine.newest += round(per_second * RATE_SECONDS)
    machine.now += RATE_SECONDS
    pace.indexed(None, step(10))


def flooded(pace: FloodPace, machine: Machine) -> None:
    indexed_while_arriving(pace, machine, FLOOD_RATE * 1.2)


def test_mail_at_a_low_rate_is_indexed_at_once(machine):
    pace = FloodPace()
    indexed_while_arriving(pace, machine, FLOOD_RATE * 0.9)
    machine.arrive(5)
    assert pace.pause(None) == 0


def test_a_flood_on_a_busy_machine_waits_while_mail_keeps_coming(machine):
    pace = FloodPace()
    flooded(pace, machine)
    machine.arrive(100)
    assert pace.pause(None) == QUIET_SECONDS
    machine.arrive(100)
    assert pace.pause(None) == QUIET_SECONDS
    machine.arrive(0)  # the flood has passed
    assert pace.pause(None) == 0


def test_a_flood_is_indexed_at_once_where_cpu_is_to_spare(machine):
    pace = FloodPace()
    flooded(pace, machine)
    machine.idle = IDLE_CORES
    machine.arrive(100)
    assert pace.pause(None) == 0


def test_a_flood_is_never_left_further_behind_than_max_deferred(machine):
    pace = FloodPace()
    flooded(pace, machine)
    machine.arrive(10)
    machine.oldest = machine.newest - (MAX_DEFERRED - 1)
    assert pace.pause(None) == QUIET_SECONDS
    machine.arrive(1)
    assert pace.pause(None) == 0


def test_whether_mail_still_comes_is_judged_over_a_while(machine):
    pace = FloodPace()
    flooded(pace, machine)
    machine.now += QUIET_SECONDS / 2
    # Too soon to tell a pause in the flood from its end: look again later.
    assert pace.pause(None) == pytest.approx(QUIET_SECONDS / 2)
