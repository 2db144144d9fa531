"""A reported number: an estimate and interval whose every part is finite, or absent with a reason."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: Trial counts beyond this are "not reachable by random search".
MAX_TRIALS = 1_000_000


def fmt(value: float) -> str:
    """A finite number in 4 significant digits, without exponent noise for ordinary sizes."""
    if value == 0:
        return "0"
    text = f"{value:.4g}"
    return text


def fmt_trials(value: float) -> str:
    return f"{math.ceil(value):,}"


@dataclass(frozen=True)
class Quantity:
    """``estimate`` with a ``level`` interval ``[low, high]``; ``None`` where the data cannot say.

    ``notes`` explains every missing or clipped part in plain words.
    """

    estimate: float | None
    low: float | None = None
    high: float | None = None
    level: float | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("estimate", "low", "high"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"Quantity.{name} must be finite or None, got {value}")

    def text(self, missing_low: str = "?", missing_high: str = "?", integer: bool = False) -> str:
        """``"0.12 [0.1, 0.15]"``; missing parts are replaced by the given words."""
        if self.estimate is None:
            return "not estimated"
        show = (lambda x: f"{x:.0f}") if integer else fmt
        out = show(self.estimate)
        if self.level is not None:
            low = show(self.low) if self.low is not None else missing_low
            high = show(self.high) if self.high is not None else missing_high
            out += f"   {self.level:.0%} interval [{low}, {high}]"
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "estimate": self.estimate,
            "low": self.low,
            "high": self.high,
            "level": self.level,
            "notes": list(self.notes),
        }
