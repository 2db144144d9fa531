"""Which trials, at which step, a multi-fidelity (BOHB-like) sampler models.

BOHB (Falkner, Klein & Hutter 2018, "BOHB: Robust and Efficient Hyperparameter Optimization at
Scale", ICML) fits its density model on the largest budget with enough observations instead of on
finished trials alone. Here the budget is the *step* at which trials report intermediate values
(epochs, 1,000s of steps) and the history is whatever the pruner left behind:

* a trial's **value at step s** is its intermediate value at the largest reported step ``<= s``
  (so trials that report at different steps, or skip steps, still line up);
* a **pruned** trial counts at step ``s`` only if it reached ``s`` (``first step <= s <= last
  step``): it never counts as if it had finished;
* a **completed** trial counts at every step from its first report on; beyond its last report its
  value is its final value (a finished run stays finished); and it counts at the *final* rung
  (``step = inf``) with its objective value. A completed trial that reported nothing counts at the
  final rung only;
* **running** trials never count; the sampler adds them to the bad set (a constant liar).

The modelled rung is the largest step ``s`` (``inf`` first) at which at least ``min_points`` trials
count; its trials are ranked by their value there (lower is better; NaN and inf last) and split into
the best ``n_good = max(ceil(gamma n), min(min_good, n - 1))`` and the rest.

numpy only; a pure function of the history.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from tune_extras.samplers._space import FloatArray, IntArray

State = Literal["complete", "pruned", "running"]
FINAL = math.inf


@dataclass(frozen=True)
class TrainingSet:
    """The modelled rung and the split of its trials.

    Attributes:
        step: The rung (``inf`` for the objective values of completed trials).
        good: Row indices (into the history) of the good trials, best first.
        bad: Row indices of the other trials at the rung, best first.
        values: Value of each history row at the rung (NaN where the row does not count).
    """

    step: float
    good: IntArray
    bad: IntArray
    values: FloatArray


def _steps_and_values(curve: Mapping[float, float]) -> tuple[list[float], list[float]]:
    steps = sorted(float(s) for s in curve)
    lookup = {float(s): float(v) for s, v in curve.items()}
    return steps, [lookup[s] for s in steps]


def rung_counts(
    curves: Sequence[Mapping[float, float]], states: Sequence[State], steps: FloatArray
) -> IntArray:
    """How many trials count at each of ``steps`` (``inf`` allowed): see the module docstring."""
    steps = np.asarray(steps, dtype=np.float64)
    counts = np.zeros(steps.shape, dtype=np.int64)
    for curve, state in zip(curves, states, strict=True):
        if state == "running":
            continue
        if state == "complete":
            counts += steps == FINAL
            if curve:
                first = min(float(s) for s in curve)
                counts += (steps >= first) & (steps < FINAL)
        elif curve:
            first, last = min(float(s) for s in curve), max(float(s) for s in curve)
            counts += (steps >= first) & (steps <= last)
    return counts


def values_at(
    curves: Sequence[Mapping[float, float]],
    states: Sequence[State],
    finals: Sequence[float],
    step: float,
) -> FloatArray:
    """Each trial's value at ``step`` (NaN where it does not count); ``finals``: objective values."""
    out = np.full(len(curves), np.nan)
    for row, (curve, state, final) in enumerate(zip(curves, states, finals, strict=True)):
        if state == "running":
            continue
        if step == FINAL:
            if state == "complete":
                out[row] = _worst_if_not_finite(final)
            continue
        if not curve:
            continue
        known, values = _steps_and_values(curve)
        if step < known[0] or (state == "pruned" and step > known[-1]):
            continue
        if state == "complete" and step > known[-1]:
            out[row] = _worst_if_not_finite(final)
            continue
        out[row] = _worst_if_not_finite(values[bisect.bisect_right(known, step) - 1])
    return out


def _worst_if_not_finite(value: float) -> float:
    return value if math.isfinite(value) else math.inf


def choose_rung(
    curves: Sequence[Mapping[float, float]], states: Sequence[State], min_points: int
) -> float | None:
    """The largest step (``inf`` first) at which at least ``min_points`` trials count, or None."""
    reported = sorted(
        {
            float(s)
            for curve, state in zip(curves, states, strict=True)
            if state != "running"
            for s in curve
        }
    )
    steps = np.array([*reported, FINAL], dtype=np.float64)
    counts = rung_counts(curves, states, steps)
    enough = np.flatnonzero(counts >= min_points)
    return float(steps[enough[-1]]) if enough.size else None


def training_set(
    curves: Sequence[Mapping[float, float]],
    states: Sequence[State],
    finals: Sequence[float],
    min_points: int,
    gamma: float = 0.15,
    min_good: int = 1,
) -> TrainingSet | None:
    """The rung to model and its good/bad split, or None while no rung has ``min_points`` trials.

    Args:
        curves: Each trial's intermediate values ``{step: value}`` (lower is better).
        states: ``"complete"``, ``"pruned"`` or ``"running"`` per trial (leave failed trials out).
        finals: Each trial's objective value (lower is better; ignored unless complete).
        min_points: Trials needed at a rung to model it (>= 2).
        gamma: Share of the rung's trials that are good, in ``(0, 1)``.
        min_good: At least this many good trials (while leaving one bad), as BOHB's ``d + 1``.

    Example:
        >>> curves = [{1: 0.9, 2: 0.5}, {1: 0.7}, {1: 0.8, 2: 0.6}, {1: 0.4}]
        >>> states = ["complete", "pruned", "complete", "pruned"]
        >>> ts = training_set(curves, states, [0.5, 0.0, 0.6, 0.0], min_points=3)
        >>> ts.step, ts.good.tolist(), ts.bad.tolist()
        (1.0, [3], [1, 2, 0])
    """
    if min_points < 2:
        raise ValueError(f"min_points must be >= 2, got {min_points}")
    if not 0.0 < gamma < 1.0:
        raise ValueError(f"gamma must be in (0, 1), got {gamma}")
    step = choose_rung(curves, states, min_points)
    if step is None:
        return None
    values = values_at(curves, states, finals, step)
    rows = np.flatnonzero(~np.isnan(values))
    order = rows[np.argsort(values[rows], kind="stable")]
    n = order.size
    n_good = max(math.ceil(gamma * n), min(min_good, n - 1))
    return TrainingSet(
        step=step,
        good=np.asarray(order[:n_good], dtype=np.int64),
        bad=np.asarray(order[n_good:], dtype=np.int64),
        values=values,
    )


__all__ = [
    "FINAL",
    "State",
    "TrainingSet",
    "choose_rung",
    "rung_counts",
    "training_set",
    "values_at",
]
