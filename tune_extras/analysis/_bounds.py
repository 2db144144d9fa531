"""Physical bounds of an objective: given, read from the metric's name, or inferred from the data.

A loss cannot go below 0 and an accuracy lives in [0, 1]; a fit of the tail knows neither, so its
intervals and extrapolations can leave the possible range (a best possible loss of -0.29). The
analyzer clips every estimate, interval end and band to these bounds and says where they came from.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

#: Metric names (lower case, word parts) that are shares in [0, 1] when the data lie there.
_SHARE_NAMES = (
    "acc",
    "accuracy",
    "auc",
    "auroc",
    "f1",
    "precision",
    "recall",
    "error_rate",
    "err",
    "iou",
    "map",
    "r2_clipped",
)
#: Metric names that are non-negative.
_NONNEGATIVE_NAMES = ("loss", "error", "mse", "rmse", "mae", "perplexity", "ppl", "nll", "time")


@dataclass(frozen=True)
class Bounds:
    """Closed range ``[low, high]`` of possible objective values (``None``: unbounded that side)."""

    low: float | None = None
    high: float | None = None
    source: str = "none"  # "given", "metric name", "data", or "none"

    def __post_init__(self) -> None:
        for name, value in (("low", self.low), ("high", self.high)):
            if value is not None and not math.isfinite(value):
                raise ValueError(f"bounds {name} must be finite or None, got {value!r}")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"bounds need low < high, got ({self.low}, {self.high})")

    @property
    def lo(self) -> float:
        return -math.inf if self.low is None else self.low

    @property
    def hi(self) -> float:
        return math.inf if self.high is None else self.high

    def clip(self, value: float) -> float:
        """``value`` clipped to the bounds (NaN stays NaN)."""
        if math.isnan(value):
            return value
        return float(min(max(value, self.lo), self.hi))

    def clip_array(self, values: ArrayLike) -> np.ndarray:
        return np.asarray(np.clip(np.asarray(values, dtype=float), self.lo, self.hi))

    def describe(self) -> str:
        if self.low is None and self.high is None:
            return "none"
        if self.high is None:
            span = f"at least {self.low:g}"
        elif self.low is None:
            span = f"at most {self.high:g}"
        else:
            span = f"from {self.low:g} to {self.high:g}"
        why = {
            "given": "given",
            "metric name": "from the metric's name; pass bounds= to change",
            "data": "inferred from the observed values; pass bounds= to change",
        }.get(self.source, self.source)
        return f"{span} ({why})"

    def as_dict(self) -> dict[str, float | str | None]:
        return {"low": self.low, "high": self.high, "source": self.source}


def parse_bounds(text: str) -> tuple[float | None, float | None]:
    """``"LO,HI"`` (either side may be empty, ``-inf`` or ``inf``) -> a bounds pair.

    Raises:
        ValueError: Naming the text, for anything else.
    """
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError(f"--bounds takes LO,HI (e.g. 0, or 0,1), got {text!r}")
    out: list[float | None] = []
    for part in parts:
        part = part.strip()
        if part.lower() in ("", "none", "inf", "+inf", "-inf"):
            out.append(None)
            continue
        try:
            out.append(float(part))
        except ValueError:
            raise ValueError(f"--bounds takes two numbers LO,HI, got {text!r}") from None
    return out[0], out[1]


def _name_words(name: str | None) -> set[str]:
    if not name:
        return set()
    lower = name.lower()
    return set(re.split(r"[^a-z0-9]+", lower)) | {lower}


def resolve_bounds(
    bounds: tuple[float | None, float | None] | str | None,
    values: ArrayLike,
    direction: str,
    metric_name: str | None = None,
) -> Bounds:
    """The bounds to use: ``bounds`` as given, or (``"auto"``) from the metric name and the data.

    Inference (``"auto"``), most specific first:

    * a share-like name (accuracy, auc, f1, ...) with data in [0, 1] -> ``[0, 1]``; in [0, 100]
      -> ``[0, 100]`` (percent);
    * a loss-like name (loss, error, mse, ...) with data >= 0 -> ``[0, inf)``;
    * no telling name: a loss (minimised) whose values are all >= 0 -> ``[0, inf)`` (a value that
      never went below 0 is taken as a non-negative loss); a score (maximised) whose values lie in
      [0, 1] -> ``[0, 1]``; a score whose values are all <= 0 -> ``(-inf, 0]``.

    ``None`` or ``(None, None)`` turns clipping off.
    """
    if bounds is None:
        return Bounds(source="none")
    if not isinstance(bounds, str):
        if not isinstance(bounds, tuple | list) or len(bounds) != 2:
            raise ValueError(f"bounds must be 'auto', None or a pair (low, high), got {bounds!r}")
        low, high = (None if b is None else float(b) for b in bounds)
        source = "none" if low is None and high is None else "given"
        return Bounds(low, high, source)
    if bounds != "auto":
        raise ValueError(f"bounds must be 'auto', None or a pair (low, high), got {bounds!r}")
    y = np.asarray(values, dtype=float)
    y = y[np.isfinite(y)]
    if y.size == 0:
        return Bounds(source="none")
    lo, hi = float(y.min()), float(y.max())
    words = _name_words(metric_name)
    if words & set(_SHARE_NAMES):
        if lo >= 0.0 and hi <= 1.0:
            return Bounds(0.0, 1.0, "metric name")
        if lo >= 0.0 and hi <= 100.0:
            return Bounds(0.0, 100.0, "metric name")
    if words & set(_NONNEGATIVE_NAMES) and lo >= 0.0:
        return Bounds(0.0, None, "metric name")
    if direction == "minimize":
        return Bounds(0.0, None, "data") if lo >= 0.0 else Bounds(source="none")
    if lo >= 0.0 and hi <= 1.0:
        return Bounds(0.0, 1.0, "data")
    if hi <= 0.0:
        return Bounds(None, 0.0, "data")
    if lo >= 0.0:
        return Bounds(0.0, None, "data")
    return Bounds(source="none")
