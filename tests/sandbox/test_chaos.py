"""Chaos triggers read and written in Mailpit's shape, and fired with their probability."""

from __future__ import annotations

import random
from typing import Any

import pytest

from mail_sandbox.chaos import (
    NOT_ENABLED,
    ChaosControl,
    ChaosError,
    ChaosTriggers,
    Trigger,
    smtp_reply,
)

DEFAULTS = {
    "Sender": {"ErrorCode": 451, "Probability": 0},
    "Recipient": {"ErrorCode": 451, "Probability": 0},
    "Authentication": {"ErrorCode": 535, "Probability": 0},
}


class FixedRandom:
    """A random source that always draws ``value`` and counts its draws."""

    def __init__(self, value: int) -> None:
        self.value = value
        self.draws = 0

    def randrange(self, stop: int, /) -> int:
        """Always ``value`` (which must be below ``stop``)."""
        assert 0 <= self.value < stop
        self.draws += 1
        return self.value


def test_defaults_are_mailpits_and_never_fire() -> None:
    triggers = ChaosTriggers()
    assert triggers.to_json() == DEFAULTS
    assert list(triggers.to_json()) == ["Sender", "Recipient", "Authentication"]
    rng = FixedRandom(0)
    assert [triggers.roll(name, rng) for name in DEFAULTS] == [None, None, None]
    assert rng.draws == 0


def test_from_json_sets_given_triggers_and_resets_omitted_ones() -> None:
    triggers = ChaosTriggers.from_json({"Recipient": {"ErrorCode": 550, "Probability": 100}})
    assert triggers.to_json() == {**DEFAULTS, "Recipient": {"ErrorCode": 550, "Probability": 100}}
    assert ChaosTriggers.from_json({}).to_json() == DEFAULTS


def test_omitted_or_zero_error_code_means_the_default_code() -> None:
    triggers = ChaosTriggers.from_json(
        {
            "Sender": {"Probability": 10},
            "Recipient": {"ErrorCode": 0, "Probability": 20},
            "Authentication": {"Probability": 30, "ErrorCode": None},
        }
    )
    assert triggers.to_json() == {
        "Sender": {"ErrorCode": 451, "Probability": 10},
        "Recipient": {"ErrorCode": 451, "Probability": 20},
        "Authentication": {"ErrorCode": 535, "Probability": 30},
    }


def test_names_match_as_mailpit_matches_them() -> None:
    triggers = ChaosTriggers.from_json(
        {
            "sender": {"errorcode": 421, "probability": 5},
            "RECIPIENTS": {"ErrorCode": 452, "Probability": 6},
            "auth": None,
        }
    )
    assert triggers.sender == Trigger(421, 5)
    assert triggers.trigger("recipient") == Trigger(452, 6)
    assert triggers.trigger("Authentication") == Trigger(535, 0)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ([], "chaos triggers must be a JSON object"),
        ("Recipient", "chaos triggers must be a JSON object"),
        ({"Recipent": {"Probability": 5}}, "unknown chaos trigger 'Recipent'"),
        ({"Recipient": {"Code": 451}}, "Recipient: unknown field 'Code'"),
        ({"Recipient": 451}, "Recipient: a trigger must be a JSON object"),
        ({"Recipient": {}, "recipients": {}}, "chaos trigger Recipient is given twice"),
        (
            {"Sender": {"ErrorCode": 399, "Probability": 1}},
            "error code must be between 400 and 599",
        ),
        (
            {"Sender": {"ErrorCode": 600, "Probability": 1}},
            "error code must be between 400 and 599",
        ),
        ({"Sender": {"ErrorCode": -451}}, "error code must be between 400 and 599"),
        ({"Recipient": {"Probability": 101}}, "Recipient: probability must be between 0 and 100"),
        ({"Recipient": {"Probability": -1}}, "probability must be between 0 and 100"),
        ({"Recipient": {"ErrorCode": "451"}}, "Recipient: ErrorCode must be a whole number"),
        ({"Recipient": {"ErrorCode": 451.5}}, "ErrorCode must be a whole number"),
        ({"Recipient": {"ErrorCode": True}}, "ErrorCode must be a whole number"),
        ({"Recipient": {"Probability": "50"}}, "Probability must be a whole number"),
        ({"Recipient": {"Probability": 50.0}}, "Probability must be a whole number"),
        ({"Authentication": {"Probability": [1]}}, "Probability must be a whole number"),
    ],
)
def test_bad_bodies_are_refused_with_a_reason(body: Any, error: str) -> None:
    with pytest.raises(ChaosError) as caught:
        ChaosTriggers.from_json(body)
    assert error in caught.value.message


@pytest.mark.parametrize("code", [400, 451, 550, 599])
@pytest.mark.parametrize("name", ["Sender", "Recipient", "Authentication"])
def test_probability_100_always_answers_the_code(name: str, code: int) -> None:
    triggers = ChaosTriggers.from_json({name: {"ErrorCode": code, "Probability": 100}})
    rng = random.Random(1)
    assert {triggers.roll(name, rng) for _ in range(200)} == {code}
    others = [other for other in DEFAULTS if other != name]
    assert {triggers.roll(other, rng) for other in others for _ in range(50)} == {None}


def test_a_trigger_fires_exactly_when_the_draw_is_below_its_probability() -> None:
    # Every probability against every possible draw: P% of the draws fire, no more, no less.
    for probability in range(101):
        triggers = ChaosTriggers(recipient=Trigger(452, probability))
        fired = [draw for draw in range(100) if triggers.roll("Recipient", FixedRandom(draw))]
        assert fired == list(range(probability)), probability


def test_roughly_the_asked_share_of_attempts_fail() -> None:
    triggers = ChaosTriggers(sender=Trigger(421, 25))
    rng = random.Random(20261125)
    fired = sum(triggers.roll("Sender", rng) == 421 for _ in range(4000))
    assert 850 < fired < 1150


def test_always_builds_certain_triggers() -> None:
    triggers = ChaosTriggers.always(recipient=451, authentication=454)
    assert triggers.to_json() == {
        "Sender": {"ErrorCode": 451, "Probability": 0},
        "Recipient": {"ErrorCode": 451, "Probability": 100},
        "Authentication": {"ErrorCode": 454, "Probability": 100},
    }
    with pytest.raises(ChaosError, match="between 400 and 599"):
        ChaosTriggers.always(sender=250)


def test_unknown_trigger_name_is_an_error() -> None:
    with pytest.raises(ChaosError, match="unknown chaos trigger 'Data'"):
        ChaosTriggers().roll("Data", FixedRandom(0))


def test_smtp_reply_is_mailpits_line() -> None:
    assert smtp_reply("Sender", 451) == "451 Chaos sender error"
    assert smtp_reply("recipients", 550) == "550 Chaos recipient error"
    assert smtp_reply("auth", 535) == "535 Chaos authentication error"


def test_control_while_disabled_never_fires_and_refuses_changes() -> None:
    control = ChaosControl(enabled=False, rng=FixedRandom(0))
    assert control.enabled is False
    for attempt in (
        control.to_json,
        lambda: control.update({}),
        lambda: control.set(ChaosTriggers.always(recipient=451)),
    ):
        with pytest.raises(ChaosError) as caught:
            attempt()
        assert caught.value.message == NOT_ENABLED
    assert control.roll("Recipient") is None
    assert control.reply("Recipient") is None


def test_control_applies_updates_whole_or_not_at_all() -> None:
    control = ChaosControl(enabled=True, rng=FixedRandom(0))
    assert control.to_json() == DEFAULTS
    answer = control.update({"Recipient": {"ErrorCode": 451, "Probability": 100}})
    assert answer == control.to_json()
    assert control.reply("Recipient") == "451 Chaos recipient error"
    assert control.reply("Sender") is None

    with pytest.raises(ChaosError):
        control.update(
            {"Sender": {"ErrorCode": 421, "Probability": 100}, "Recipient": {"Probability": 500}}
        )
    assert control.triggers.sender == Trigger(451, 0)
    assert control.roll("Recipient") == 451

    control.set(ChaosTriggers.always(sender=421))
    assert (control.roll("Sender"), control.roll("Recipient")) == (421, None)
    control.reset()
    assert control.to_json() == DEFAULTS
    assert control.roll("Sender") is None
