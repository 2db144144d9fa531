"""Calibration of curve predictions: a fixed default scale, or split-conformal from finished curves.

A prediction's spread is multiplied by a scale ``lambda`` (:meth:`CurvePrediction.with_scale`). The
*score* of a finished curve at a prefix is the smallest ``lambda`` whose central interval contains
the curve's real final value (:func:`interval_score`). Given the scores ``s_1..s_m`` of ``m`` finished
curves at the same relative prefix length, the split-conformal scale (Vovk, Gammerman & Shafer,
"Algorithmic Learning in a Random World", 2005; Lei et al., JASA 2018) is the
``ceil((m + 1) * confidence)``-th smallest score: for a new curve exchangeable with them, the
``confidence`` interval scaled by it contains the final value with probability at least
``confidence``. Trials of a random search are exchangeable; trials of an adaptive sampler, or
survivors of pruning, only roughly so, which is why the benchmark reports the coverage it reaches.

:data:`DEFAULT_SCALE` is used until ``min_curves`` finished curves exist: the 90% quantile of the
scores of the curves in the benchmark's *training* set (synthetic pow3 curves, the DeBERTaV3 search
and the torch tabular MLP, all prefixes pooled: 0.644; ``python -m benchmarks run curves``), whose
coverage is then reported on held-out curves (docs/learning_curves.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from tune_extras.curves._model import CurvePrediction, extrapolate

DEFAULT_SCALE = 0.65
"""Scale of the 90% interval used before a study has its own calibration curves."""

CALIBRATION_FRACTIONS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""Relative prefix lengths ``step / final_step`` at which finished curves are scored."""


def interval_score(prediction: CurvePrediction, final: float, confidence: float = 0.9) -> float:
    """The smallest scale whose central ``confidence`` interval (around the mean) contains ``final``.

    ``|final - center| / (q - center)`` with ``q`` the unscaled upper (or lower) quantile on the
    side of ``final``; 0 when ``final`` is the center, ``inf`` for a point prediction that misses.
    """
    raw = prediction.with_scale(1.0)
    center = raw.center
    miss = abs(final - center)
    if miss == 0:
        return 0.0
    level = (1 + confidence) / 2 if final > center else (1 - confidence) / 2
    width = abs(float(raw.ppf(level)) - center)
    return miss / width if width > 0 else math.inf


def prefix_score(
    steps: ArrayLike,
    values: ArrayLike,
    fraction: float,
    confidence: float = 0.9,
    *,
    warmup_fraction: float = 0.1,
    evidence_power: float = 0.3,
    discrepancy: float = 0.5,
) -> float | None:
    """Score of a finished curve (sorted steps > 0, finite values) predicted from a prefix.

    The prefix holds the points with ``step <= fraction * final_step``; ``None`` if it has fewer
    than four points or all of them. The keyword arguments go to
    :func:`~tune_extras.curves.extrapolate`.
    """
    t = np.asarray(steps, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    k = int(np.searchsorted(t, fraction * t[-1], side="right"))
    if not 4 <= k < t.size:
        return None
    prediction = extrapolate(
        t[:k],
        y[:k],
        float(t[-1]),
        warmup_fraction=warmup_fraction,
        evidence_power=evidence_power,
        discrepancy=discrepancy,
    )
    return interval_score(prediction, float(y[-1]), confidence)


def curve_scores(
    steps: ArrayLike,
    values: ArrayLike,
    confidence: float = 0.9,
    fractions: Iterable[float] = CALIBRATION_FRACTIONS,
    **model: float,
) -> dict[float, float]:
    """:func:`prefix_score` of a finished curve at each relative prefix length in ``fractions``.

    Fractions whose prefix has fewer than four points (or all of them) are left out; so is every
    fraction for a curve with a non-finite value.
    """
    t = np.asarray(steps, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if t.size < 5 or not np.all(np.isfinite(y)):
        return {}
    order = np.argsort(t, kind="stable")
    t, y = t[order], y[order]
    scores = {}
    for fraction in fractions:
        score = prefix_score(t, y, fraction, confidence, **model)
        if score is not None:
            scores[fraction] = score
    return scores


def conformal_scale(scores: Sequence[float], confidence: float = 0.9) -> float | None:
    """The split-conformal scale from ``m`` scores, or ``None`` if ``m`` is too small for one.

    ``ceil((m + 1) * confidence)``-th smallest score; it exists once
    ``m >= confidence / (1 - confidence)`` (9 scores at 90%).
    """
    m = len(scores)
    rank = math.ceil((m + 1) * confidence)
    if rank > m:
        return None
    return float(np.sort(np.asarray(scores, dtype=np.float64))[rank - 1])


def nearest_fraction(fraction: float, fractions: Sequence[float] = CALIBRATION_FRACTIONS) -> float:
    """The calibration fraction closest to a prefix's relative length."""
    return min(fractions, key=lambda f: abs(f - fraction))
