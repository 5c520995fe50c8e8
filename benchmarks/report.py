"""The benchmark's one table: each figure, the floor's, their ratio, the target and PASS/FAIL.

A row measured over rounds shows the median of each figure and is judged on the median of its
per-round ratios (see ``benchmarks.rounds``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.rounds import Round, describe_ratios, median, median_ratio, ratio

#: Printed under a table that has rows over rounds.
ROUNDS_NOTE = (
    "Rows with rounds: measured and floor are the medians of the rounds; ratio, which PASS/FAIL "
    "is judged on, is the median of the per-round ratios (each round runs the floor and ours "
    "back to back on fresh servers)."
)


@dataclass(frozen=True)
class Target:
    """A goal for a figure: ``ours / floor`` at least or at most ``value`` (``ratio=True``),
    or ``ours`` itself at least or at most ``value``."""

    value: float
    at_most: bool
    ratio: bool = False

    def met(self, ours: float | None, ratio_to_floor: float | None) -> bool | None:
        """Whether the figure (or its ratio to the floor) meets the goal; None when missing."""
        figure = ratio_to_floor if self.ratio else ours
        if figure is None or math.isnan(figure):
            return None
        return figure <= self.value if self.at_most else figure >= self.value

    def describe(self, unit: str) -> str:
        """The goal in words, e.g. ``>= 1.00x floor`` or ``< 20 ms``."""
        sign = "<=" if self.at_most else ">="
        if self.ratio:
            return f"{sign} {self.value:.2f}x floor"
        return f"{sign} {_number(self.value)} {unit}".rstrip()


def at_least_floor(times: float = 1.0) -> Target:
    """``ours`` must be at least ``times`` the floor's figure."""
    return Target(times, at_most=False, ratio=True)


def at_most_floor(times: float) -> Target:
    """``ours`` must be at most ``times`` the floor's figure."""
    return Target(times, at_most=True, ratio=True)


def at_most(value: float) -> Target:
    """``ours`` must be ``value`` or less."""
    return Target(value, at_most=True)


def at_least(value: float) -> Target:
    """``ours`` must be ``value`` or more."""
    return Target(value, at_most=False)


@dataclass(frozen=True)
class Row:
    """One line of the table. ``value`` is None when it could not be measured (``detail`` says
    why); ``floor`` is the floor's figure where one applies. A row over ``rounds`` (made by
    ``over_rounds``) holds the medians as ``value`` and ``floor``."""

    figure: str
    value: float | None
    unit: str
    floor: float | None = None
    target: Target | None = None
    detail: str = ""
    rounds: tuple[Round, ...] = ()

    @classmethod
    def over_rounds(
        cls,
        figure: str,
        rounds: Sequence[Round],
        unit: str,
        target: Target | None = None,
        detail: str = "",
    ) -> Row:
        """A row of figures measured in ``rounds``; the detail starts with the per-round ratios."""
        return cls(
            figure,
            median(each.ours for each in rounds),
            unit,
            median(each.floor for each in rounds),
            target,
            "; ".join(part for part in (describe_ratios(rounds), detail) if part),
            tuple(rounds),
        )

    @property
    def ratio(self) -> float | None:
        """The median of the per-round ratios over rounds, else ``value / floor``."""
        if self.rounds:
            return median_ratio(self.rounds)
        return ratio(self.value, self.floor)

    @property
    def result(self) -> str:
        """PASS, FAIL, n/a (a figure missing) or - (no target: for information)."""
        if self.target is None:
            return "-"
        met = self.target.met(self.value, self.ratio)
        return "n/a" if met is None else "PASS" if met else "FAIL"

    def as_json(self) -> dict[str, Any]:
        """This row with its ratio, target and result (and each round's figures), JSON-ready."""
        document: dict[str, Any] = {
            "figure": self.figure,
            "value": self.value,
            "unit": self.unit,
            "floor": self.floor,
            "ratio": None if self.ratio is None else round(self.ratio, 3),
            "target": self.target.describe(self.unit) if self.target else None,
            "result": self.result,
            "detail": self.detail,
        }
        if self.rounds:
            document["rounds"] = [each.as_json() for each in self.rounds]
        return document


def format_table(rows: list[Row]) -> str:
    """The rows as a fixed-width text table."""
    header = ("figure", "measured", "floor", "ratio", "target", "result", "detail")
    cells = [header]
    for row in rows:
        cells.append(
            (
                row.figure,
                _value(row.value, row.unit),
                _value(row.floor, row.unit),
                "" if row.ratio is None else f"{row.ratio:.2f}x",
                row.target.describe(row.unit) if row.target else "",
                row.result,
                row.detail,
            )
        )
    widths = [max(len(line[i]) for line in cells) for i in range(len(header) - 1)]
    lines = []
    for number, line in enumerate(cells):
        fixed = [
            cell.rjust(width) if 0 < i < 4 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=False))
        ]
        lines.append("  ".join([*fixed, line[-1]]).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in [*widths, len(header[-1])]))
    if any(row.rounds for row in rows):
        lines.append("")
        lines.append(ROUNDS_NOTE)
    return "\n".join(lines)


def write_json(path: Path, rows: list[Row], **extra: Any) -> None:
    """Write the rows, and whatever else describes the run, as JSON to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {**extra, "rows": [row.as_json() for row in rows]}
    path.write_text(json.dumps(document, indent=2) + "\n")


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if math.isnan(value):
        return "n/a"
    return f"{_number(value)} {unit}".rstrip()
