"""Calibration of curve predictions: split-conformal scales per prefix length, levels per trial.

A prediction's spread is multiplied by a scale ``lambda`` (:meth:`CurvePrediction.with_scale`).
The *score* of a curve at a prefix is the smallest ``lambda`` whose central interval contains the
value the prefix was to predict (:func:`interval_score`). Given the scores ``s_1..s_m`` of ``m``
curves at the same relative prefix length, the split-conformal scale (Vovk, Gammerman & Shafer,
"Algorithmic Learning in a Random World", 2005; Lei et al., JASA 2018) is the
``ceil((m + 1) * confidence)``-th smallest score (:func:`conformal_scale`): for a new curve
exchangeable with them, the ``confidence`` interval scaled by it contains the value with
probability at least ``confidence``.

A study rarely has many *finished* curves: under pruning most trials stop early. Every curve that
ended, finished or stopped, is still a curve up to its own last step, its *horizon*: its prefix at
``fraction * horizon`` predicts its value at the horizon (:class:`CalibrationCurve`). The model
works in relative time ``step / horizon``, so these scores at shorter horizons calibrate the
prediction at the same relative prefix length of a longer run (docs/learning_curves.md measures
how well).

Per-trial levels (:func:`conformal_level`): a trial is judged at many reports; what should be
bounded is the chance that a trial is *ever* stopped wrongly, not the chance at one report. For
each calibration curve ``j`` the smallest calibrated probability ``V_j = min_f P_f(Y <= y_j)`` that
its predictions at the prefix lengths ``f`` gave to doing as well as it did is a conformity score
of the whole trial; the ``floor((m + 1) * alpha)``-th smallest ``V_j`` is a level ``a`` with
``P(V_new < a) <= alpha`` for an exchangeable new trial (the lower split-conformal quantile). A
rule that stops only when the probability of beating the reference is below ``a`` stops a trial
that would end better than the reference with probability at most ``alpha``, over its whole run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from tune_extras.curves._model import CurvePrediction, extrapolate
from tune_extras.curves._settings import DEFAULT_SETTINGS, CurveSettings

DEFAULT_SCALE = DEFAULT_SETTINGS.default_scale
"""Scale of the 90% interval used before a study has its own calibration curves."""


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


def prefix_prediction(
    steps: np.ndarray,
    values: np.ndarray,
    fraction: float,
    settings: CurveSettings = DEFAULT_SETTINGS,
) -> CurvePrediction | None:
    """Uncalibrated prediction of ``values[-1]`` from the points at ``step <= fraction * steps[-1]``.

    ``steps`` sorted and ``> 0``, values finite. ``None`` when that prefix has fewer than
    ``settings.min_points`` points, or all of them.
    """
    k = int(np.searchsorted(steps, fraction * steps[-1], side="right"))
    if not settings.min_points <= k < steps.size:
        return None
    return extrapolate(steps[:k], values[:k], float(steps[-1]), settings=settings)


def curve_scores(
    steps: ArrayLike,
    values: ArrayLike,
    confidence: float = 0.9,
    fractions: Iterable[float] | None = None,
    settings: CurveSettings = DEFAULT_SETTINGS,
) -> dict[float, float]:
    """:func:`interval_score` of a curve's last value from its prefix at each of ``fractions``.

    ``fractions`` default to ``settings.fractions``. Fractions whose prefix is too short (or the
    whole curve) are left out; so is every fraction for a curve with a non-finite value.
    """
    t = np.asarray(steps, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if t.size <= settings.min_points or not np.all(np.isfinite(y)):
        return {}
    order = np.argsort(t, kind="stable")
    t, y = t[order], y[order]
    scores = {}
    for fraction in settings.fractions if fractions is None else fractions:
        prediction = prefix_prediction(t, y, fraction, settings)
        if prediction is not None:
            scores[fraction] = interval_score(prediction, float(y[-1]), confidence)
    return scores


def conformal_scale(
    scores: ArrayLike, confidence: float = 0.9, weights: ArrayLike | None = None
) -> float | None:
    """The split-conformal scale from ``m`` scores, or ``None`` if ``m`` is too small for one.

    Unweighted: the ``ceil((m + 1) * confidence)``-th smallest score; it exists once
    ``m >= confidence / (1 - confidence)`` (9 scores at 90%). With ``weights`` (in ``(0, 1]``,
    how much each calibration curve resembles the one predicted), the weighted split-conformal
    quantile of Tibshirani, Barber, Candes & Ramdas ("Conformal Prediction Under Covariate
    Shift", NeurIPS 2019): the smallest score whose weighted share, the new curve counted with
    weight 1 at infinity, reaches ``confidence``.
    """
    values = np.asarray(scores, dtype=np.float64)
    if weights is None:
        m = values.size
        rank = math.ceil((m + 1) * confidence - 1e-9)
        return None if rank > m else float(np.sort(values)[rank - 1])
    w = np.asarray(weights, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    share = np.cumsum(w[order]) / (w.sum() + 1.0)
    reached = np.flatnonzero(share >= confidence - 1e-12)
    return float(values[order][reached[0]]) if reached.size else None


def lognormal_scale(
    scores: ArrayLike, confidence: float = 0.9, weights: ArrayLike | None = None
) -> float | None:
    """A scale from too few scores for a conformal one: a normal prediction bound on log-scores.

    With ``n`` (effective, ``(sum w)^2 / sum w^2``) log-scores of weighted mean ``mu`` and standard
    deviation ``sd``, ``exp(mu + t_{confidence, n - 1} * sd * sqrt(1 + 1/n))`` is the classical
    upper prediction bound for one more score (exact if log-scores are normal). ``None`` below 3
    scores. Zero scores (the value exactly at the centre) count as a thousandth of the smallest
    positive one.
    """
    values = np.asarray(scores, dtype=np.float64)
    w = np.ones_like(values) if weights is None else np.asarray(weights, dtype=np.float64)
    positive = values[values > 0]
    if values.size == 0 or w.sum() <= 0 or positive.size == 0:
        return None
    n = float(w.sum() ** 2 / (w**2).sum())
    if n < 3:
        return None
    logs = np.log(np.maximum(values, 1e-3 * positive.min()))
    mu = float(w @ logs / w.sum())
    sd = math.sqrt(float(w @ (logs - mu) ** 2 / w.sum()) * n / (n - 1))
    bound = mu + float(special.stdtrit(n - 1, confidence)) * sd * math.sqrt(1 + 1 / n)
    return float(min(math.exp(min(bound, 700.0)), 1e6))


def conformal_level(values: Sequence[float], alpha: float) -> float | None:
    """The lower split-conformal quantile: the ``floor((m + 1) * alpha)``-th smallest value.

    For ``m`` exchangeable per-trial scores ``V_j`` and a new one ``V``, ``P(V < level) <= alpha``.
    ``None`` while ``m < 1 / alpha - 1`` (19 values at ``alpha = 0.05``).
    """
    m = len(values)
    rank = math.floor((m + 1) * alpha + 1e-9)
    if rank < 1:
        return None
    return float(np.sort(np.asarray(values, dtype=np.float64))[rank - 1])


def nearest_fraction(fraction: float, fractions: Sequence[float]) -> float:
    """The calibration fraction closest to a prefix's relative length."""
    return min(fractions, key=lambda f: abs(f - fraction))


@dataclass(eq=False)
class CalibrationCurve:
    """A curve that ended (finished or stopped), in losses, with its predictions cached.

    ``steps`` sorted, shifted to start above 0; ``loss[-1]`` is the value at the horizon
    ``steps[-1]``. ``fingerprint`` identifies the curve it was built from (a cache entry is
    rebuilt when a key comes back with another curve).
    """

    steps: np.ndarray
    loss: np.ndarray
    fingerprint: tuple[Any, ...]
    predictions: dict[float, CurvePrediction | None] = field(default_factory=dict)
    scores: dict[tuple[float, float], float | None] = field(default_factory=dict)

    @property
    def final(self) -> float:
        return float(self.loss[-1])

    def prediction(self, fraction: float, settings: CurveSettings) -> CurvePrediction | None:
        """The uncalibrated prediction of the horizon's value from the prefix at ``fraction``."""
        if fraction not in self.predictions:
            self.predictions[fraction] = prefix_prediction(
                self.steps, self.loss, fraction, settings
            )
        return self.predictions[fraction]

    def score(self, fraction: float, confidence: float, settings: CurveSettings) -> float | None:
        """:func:`interval_score` at ``fraction`` (``None`` where the prefix cannot predict)."""
        key = (fraction, confidence)
        if key not in self.scores:
            prediction = self.prediction(fraction, settings)
            self.scores[key] = (
                None if prediction is None else interval_score(prediction, self.final, confidence)
            )
        return self.scores[key]
