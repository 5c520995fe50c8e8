"""The benchmark's one table: each figure, the floor's, their ratio, the target and PASS/FAIL."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Target:
    """A goal for a figure: ``ours / floor`` at least or at most ``value`` (``ratio=True``),
    or ``ours`` itself at least or at most ``value``."""

    value: float
    at_most: bool
    ratio: bool = False

    def met(self, ours: float | None, floor: float | None) -> bool | None:
        """Whether the figures meet the goal; None when a figure is missing."""
        figure = _ratio(ours, floor) if self.ratio else ours
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
    why); ``floor`` is the floor's figure where one applies."""

    figure: str
    value: float | None
    unit: str
    floor: float | None = None
    target: Target | None = None
    detail: str = ""

    @property
    def ratio(self) -> float | None:
        """``value / floor``, where both exist."""
        return _ratio(self.value, self.floor)

    @property
    def result(self) -> str:
        """PASS, FAIL, n/a (a figure missing) or - (no target: for information)."""
        if self.target is None:
            return "-"
        met = self.target.met(self.value, self.floor)
        return "n/a" if met is None else "PASS" if met else "FAIL"

    def as_json(self) -> dict[str, Any]:
        """This row with its ratio, target and result, JSON-ready."""
        return {
            "figure": self.figure,
            "value": self.value,
            "unit": self.unit,
            "floor": self.floor,
            "ratio": None if self.ratio is None else round(self.ratio, 3),
            "target": self.target.describe(self.unit) if self.target else None,
            "result": self.result,
            "detail": self.detail,
        }


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
    return "\n".join(lines)


def write_json(path: Path, rows: list[Row], **extra: Any) -> None:
    """Write the rows, and whatever else describes the run, as JSON to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {**extra, "rows": [row.as_json() for row in rows]}
    path.write_text(json.dumps(document, indent=2) + "\n")


def _ratio(ours: float | None, floor: float | None) -> float | None:
    if ours is None or floor is None or floor == 0 or math.isnan(ours) or math.isnan(floor):
        return None
    return ours / floor


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
