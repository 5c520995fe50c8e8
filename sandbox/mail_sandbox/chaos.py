"""Chaos: SMTP fault injection with Mailpit's triggers, so an app's failure paths can be tested.

Three triggers, as Mailpit has them: ``Sender`` fails MAIL FROM, ``Recipient`` fails RCPT TO and
``Authentication`` fails AUTH, each with an SMTP ``ErrorCode`` (400-599) answered with a
``Probability`` (0-100 percent). Their JSON shape is Mailpit's ``GET/PUT /api/v1/chaos`` body.

``ChaosTriggers`` is immutable; ``ChaosControl`` holds the running server's current set and
swaps it whole on each change, so the SMTP side (or a test's thread) always reads one consistent
set without a lock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Protocol

TRIGGERS = ("Sender", "Recipient", "Authentication")
DEFAULT_ERROR_CODES = {"Sender": 451, "Recipient": 451, "Authentication": 535}
NOT_ENABLED = "Chaos is not enabled (start mail-sandbox with --enable-chaos)"

# Mailpit's own spellings of the trigger names (its CLI and API accept all of these).
_NAMES = {
    "sender": "Sender",
    "recipient": "Recipient",
    "recipients": "Recipient",
    "auth": "Authentication",
    "authentication": "Authentication",
}
_FIELDS = {"errorcode": "ErrorCode", "probability": "Probability"}


class ChaosError(ValueError):
    """Triggers that cannot be set; ``message`` says why, for a 400 answer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RandomSource(Protocol):
    """What ``roll`` needs from a random number generator (``random.Random`` has it)."""

    def randrange(self, stop: int, /) -> int:
        """A whole number from 0 to ``stop - 1``."""
        ...


@dataclass(frozen=True, slots=True)
class Trigger:
    """Answer ``error_code`` with ``probability`` percent chance."""

    error_code: int
    probability: int = 0

    def __post_init__(self) -> None:
        for name, value in (("ErrorCode", self.error_code), ("Probability", self.probability)):
            if type(value) is not int:
                raise ChaosError(f"{name} must be a whole number")
        if not 400 <= self.error_code <= 599:
            raise ChaosError("error code must be between 400 and 599")
        if not 0 <= self.probability <= 100:
            raise ChaosError("probability must be between 0 and 100")

    def to_json(self) -> dict[str, int]:
        """Mailpit's ``{"ErrorCode", "Probability"}``."""
        return {"ErrorCode": self.error_code, "Probability": self.probability}


def _default(name: str) -> Trigger:
    return Trigger(DEFAULT_ERROR_CODES[name], 0)


@dataclass(frozen=True, slots=True)
class ChaosTriggers:
    """The three triggers; the defaults never fire."""

    sender: Trigger = field(default_factory=lambda: _default("Sender"))
    recipient: Trigger = field(default_factory=lambda: _default("Recipient"))
    authentication: Trigger = field(default_factory=lambda: _default("Authentication"))

    @classmethod
    def from_json(cls, data: Any) -> ChaosTriggers:
        """Triggers from a ``PUT /api/v1/chaos`` body.

        As in Mailpit, an omitted trigger is reset to its default code with probability 0, and
        an omitted or zero ErrorCode means the default code. Unlike Mailpit, nothing changes
        unless the whole body is valid, and unknown names are refused rather than ignored.
        """
        if not isinstance(data, dict):
            raise ChaosError("chaos triggers must be a JSON object")
        triggers: dict[str, Trigger] = {}
        for key, value in data.items():
            name = _NAMES.get(str(key).lower())
            if name is None:
                raise ChaosError(f"unknown chaos trigger {key!r} (expected {', '.join(TRIGGERS)})")
            if name in triggers:
                raise ChaosError(f"chaos trigger {name} is given twice")
            try:
                triggers[name] = _trigger_from_json(name, value)
            except ChaosError as exc:
                raise ChaosError(f"{name}: {exc.message}") from None
        return cls(**{name.lower(): trigger for name, trigger in triggers.items()})

    @classmethod
    def always(
        cls,
        *,
        sender: int | None = None,
        recipient: int | None = None,
        authentication: int | None = None,
    ) -> ChaosTriggers:
        """Triggers that always answer the given codes (``always(recipient=451)``)."""
        codes = {"sender": sender, "recipient": recipient, "authentication": authentication}
        return cls(**{name: Trigger(code, 100) for name, code in codes.items() if code is not None})

    def to_json(self) -> dict[str, dict[str, int]]:
        """Mailpit's ``{"Sender": {...}, "Recipient": {...}, "Authentication": {...}}``."""
        return {name: self.trigger(name).to_json() for name in TRIGGERS}

    def trigger(self, name: str) -> Trigger:
        """The trigger called ``name`` (any of Mailpit's spellings)."""
        canonical = _NAMES.get(name.lower())
        if canonical is None:
            raise ChaosError(f"unknown chaos trigger {name!r} (expected {', '.join(TRIGGERS)})")
        return getattr(self, canonical.lower())

    def roll(self, trigger_name: str, rng: RandomSource) -> int | None:
        """The SMTP code to answer now for ``trigger_name``, or None to carry on normally."""
        trigger = self.trigger(trigger_name)
        if trigger.probability == 0:
            return None
        # randrange(100) is 0-99, so probability 100 always fires and 1 fires one time in 100.
        if rng.randrange(100) < trigger.probability:
            return trigger.error_code
        return None


def _trigger_from_json(name: str, value: Any) -> Trigger:
    if value is None:
        return _default(name)
    if not isinstance(value, dict):
        raise ChaosError('a trigger must be a JSON object {"ErrorCode": 451, "Probability": 50}')
    fields: dict[str, Any] = {}
    for key, item in value.items():
        canonical = _FIELDS.get(str(key).lower())
        if canonical is None:
            raise ChaosError(f"unknown field {key!r} (expected ErrorCode, Probability)")
        fields[canonical] = item
    code = fields.get("ErrorCode")
    if code is None or (type(code) is int and code == 0):
        code = DEFAULT_ERROR_CODES[name]
    probability = fields.get("Probability")
    return Trigger(code, 0 if probability is None else probability)


def smtp_reply(trigger_name: str, code: int) -> str:
    """The SMTP reply line Mailpit sends when a trigger fires (``451 Chaos recipient error``)."""
    canonical = _NAMES.get(trigger_name.lower(), trigger_name)
    return f"{code} Chaos {canonical.lower()} error"


class ChaosControl:
    """A running server's chaos switch and its current triggers.

    Off unless the server was started with chaos enabled; while off nothing fires and reading
    or changing the triggers raises ``ChaosError`` (the API's 400), as in Mailpit.
    """

    def __init__(self, *, enabled: bool, rng: RandomSource | None = None) -> None:
        self._enabled = enabled
        self._rng: RandomSource = rng if rng is not None else random.Random()
        self._triggers = ChaosTriggers()

    @property
    def enabled(self) -> bool:
        """Whether chaos was enabled when the server started."""
        return self._enabled

    @property
    def triggers(self) -> ChaosTriggers:
        """The current triggers (defaults, which never fire, while chaos is off)."""
        return self._triggers

    def to_json(self) -> dict[str, dict[str, int]]:
        """The ``GET /api/v1/chaos`` body; ``ChaosError`` while chaos is off."""
        self._require_enabled()
        return self._triggers.to_json()

    def update(self, data: Any) -> dict[str, dict[str, int]]:
        """Apply a ``PUT /api/v1/chaos`` body and return the new triggers' JSON."""
        self._require_enabled()
        self._triggers = ChaosTriggers.from_json(data)
        return self._triggers.to_json()

    def set(self, triggers: ChaosTriggers) -> None:
        """Replace the triggers (the pytest plugin's ``mailbox.chaos(...)``)."""
        self._require_enabled()
        self._triggers = triggers

    def reset(self) -> None:
        """Back to the defaults, which never fire."""
        self._triggers = ChaosTriggers()

    def roll(self, trigger_name: str) -> int | None:
        """The SMTP code to answer now for ``trigger_name``, or None (always None while off)."""
        if not self._enabled:
            return None
        return self._triggers.roll(trigger_name, self._rng)

    def reply(self, trigger_name: str) -> str | None:
        """The full SMTP reply to send now for ``trigger_name``, or None to carry on."""
        code = self.roll(trigger_name)
        return None if code is None else smtp_reply(trigger_name, code)

    def _require_enabled(self) -> None:
        if not self._enabled:
            raise ChaosError(NOT_ENABLED)
