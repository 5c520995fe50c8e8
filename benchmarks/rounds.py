"""Figures measured over rounds: each round measures the floor and ours back to back, and a row
is judged on the median of the per-round ratios.

A shared machine's load moves both servers' figures within one round together, so a ratio of
figures from the same round is steadier than any figure alone; a ratio of medians would pair a
figure of ours with one of the floor from another moment.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def ratio(ours: float | None, floor: float | None) -> float | None:
    """``ours / floor``, where both exist and the floor is not 0."""
    if ours is None or floor is None or floor == 0 or math.isnan(ours) or math.isnan(floor):
        return None
    return ours / floor


def median(values: Iterable[float | None]) -> float | None:
    """The median of the figures that exist (None and NaN left out); None when none do."""
    present = [value for value in values if value is not None and not math.isnan(value)]
    return statistics.median(present) if present else None


@dataclass(frozen=True)
class Round:
    """One round's figure of ours and the floor's, measured back to back on fresh servers;
    None where that run measured nothing."""

    ours: float | None
    floor: float | None

    @property
    def ratio(self) -> float | None:
        """``ours / floor`` of this round alone."""
        return ratio(self.ours, self.floor)

    def as_json(self) -> dict[str, float | None]:
        """This round's figures and ratio, JSON-ready."""
        return {
            "value": self.ours,
            "floor": self.floor,
            "ratio": None if self.ratio is None else round(self.ratio, 3),
        }


def median_ratio(rounds: Sequence[Round]) -> float | None:
    """The median of the ratios of the rounds that measured both servers."""
    return median(each.ratio for each in rounds)


def describe_ratios(rounds: Sequence[Round]) -> str:
    """The per-round ratios in order, e.g. ``rounds 0.91/0.97/1.02`` (``-``: not measured)."""
    cells = ["-" if each.ratio is None else f"{each.ratio:.2f}" for each in rounds]
    return "rounds " + "/".join(cells)
