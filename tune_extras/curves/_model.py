"""Predictive distribution of a learning curve's value at a later step, by Bayesian model averaging.

Model (per shape ``k`` of :mod:`tune_extras.curves._families`)::

    y_i = c + a * phi_k(u_i) + eps_i,   eps_i ~ Normal(0, sigma^2) independent,   u_i = t_i / T

with flat priors on ``(c, a)`` and Jeffreys' prior ``1/sigma`` on the noise. Each shape's predictive
of a new observation at ``u = 1`` (the target step ``T``) is then the classical regression
prediction interval: Student t with ``n - 2`` degrees of freedom, location ``c_hat + a_hat phi_k(1)``
and squared scale ``RSS_k / (n - 2) * (1 + 1/n + (phi_k(1) - phibar)^2 / S_phi)``.
The shapes are averaged with the BIC approximation of their posterior probabilities (Raftery,
"Bayesian Model Selection in Social Research", 1995)::

    log w_k = evidence_power * (-(n / 2) log(RSS_k / S_yy) - (p_k / 2) log n)

(``p_k = 1`` slope; the flat shape has ``p = 0``). ``evidence_power < 1`` tempers the evidence,
which real curves, whose residuals are correlated, overstate. The result is a mixture of Student t
distributions, :class:`CurvePrediction`, whose spread is then multiplied by a calibration ``scale``
(:mod:`tune_extras.curves._calibration`): a curve-by-curve model cannot know how far real curves
wander from every smooth shape, and the scale is what makes a 90% interval cover 90%.

One prediction costs a few hundred microseconds (109 shapes, vectorised over the points).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from tune_extras.curves._families import FloatArray, basis_matrix, default_shapes
from tune_extras.curves._settings import DEFAULT_SETTINGS, CurveSettings

_SHAPES = default_shapes()
_PHI_TARGET = basis_matrix(_SHAPES, np.ones(1))[:, 0]  # every shape at u = 1, the target step
Z90 = 1.6448536269514722
"""Standard normal 95% quantile: a central 90% interval is ``mean +- Z90 * sd``."""


@dataclass(frozen=True, eq=False)
class CurvePrediction:
    """Predictive distribution of a curve's value at ``target_step``: a scaled Student-t mixture.

    ``Y = center + scale * (X - center)`` where ``X`` is the mixture ``sum_k weights_k *
    t(dofs_k, locations_k, scales_k)`` and ``center`` its mean. Values are in the curve's own units
    and direction (accuracies stay accuracies).
    """

    target_step: float
    weights: FloatArray
    locations: FloatArray
    scales: FloatArray
    dofs: FloatArray
    scale: float = 1.0

    @property
    def center(self) -> float:
        return float(self.weights @ self.locations)

    @property
    def mean(self) -> float:
        """Mean of the predictive distribution."""
        return self.center

    @property
    def std(self) -> float:
        """Standard deviation (infinite if a component has two or fewer degrees of freedom)."""
        if float(self.dofs.min()) <= 2:
            return math.inf
        # Law of total variance about the mean (not E[Y^2] - E[Y]^2, which cancels when the
        # curve sits far from 0 relative to its spread).
        offsets = self.locations - self.center
        variance = self.weights @ (self.scales**2 * self.dofs / (self.dofs - 2) + offsets**2)
        return self.scale * math.sqrt(max(float(variance), 0.0))

    def with_scale(self, scale: float) -> CurvePrediction:
        """The same prediction with its spread multiplied by ``scale`` (a calibration)."""
        if not scale > 0 or not math.isfinite(scale):
            raise ValueError(f"scale must be a positive finite number, got {scale!r}")
        return CurvePrediction(
            self.target_step, self.weights, self.locations, self.scales, self.dofs, scale
        )

    def cdf(self, x: ArrayLike) -> NDArray[np.float64]:
        """``P(Y <= x)``."""
        x = np.asarray(x, dtype=np.float64)
        raw = self.center + (x[..., None] - self.center) / self.scale
        z = (raw - self.locations) / self.scales
        return np.asarray(
            np.clip(special.stdtr(self.dofs, z) @ self.weights, 0.0, 1.0), dtype=np.float64
        )

    def sf(self, x: ArrayLike) -> NDArray[np.float64]:
        """``P(Y > x)``."""
        return 1.0 - self.cdf(x)

    def ppf(self, q: ArrayLike) -> NDArray[np.float64]:
        """Quantiles, by root finding on the mixture's cdf.

        A mixture's ``q``-quantile lies between the smallest and the largest of its components'
        ``q``-quantiles: from that bracket, Brent's method for one level (about ten cdf
        evaluations), bisection halving it 45 times for several.
        """
        q = np.asarray(q, dtype=np.float64)
        if np.any((q <= 0) | (q >= 1)):
            raise ValueError("quantile levels must lie in (0, 1)")
        parts = self.locations + self.scales * special.stdtrit(self.dofs, q[..., None])
        lo = self.center + self.scale * (parts.min(axis=-1) - self.center)
        hi = self.center + self.scale * (parts.max(axis=-1) - self.center)
        if q.ndim == 0 and hi > lo and float(self.cdf(lo)) < float(q) < float(self.cdf(hi)):
            level = float(q)
            root = optimize.brentq(
                lambda x: float(self.cdf(x)) - level,
                float(lo),
                float(hi),
                xtol=max(1e-13 * abs(float(hi - lo)), 1e-300),  # relative to the bracket
            )
            return np.asarray(root, dtype=np.float64)
        for _ in range(45):
            mid = 0.5 * (lo + hi)
            below = self.cdf(mid) < q
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        return np.asarray(0.5 * (lo + hi), dtype=np.float64)

    def interval(self, confidence: float = 0.9) -> tuple[float, float]:
        """Central predictive interval of the given probability."""
        low, high = self.ppf([(1 - confidence) / 2, (1 + confidence) / 2])
        return float(low), float(high)


def _prepare(
    steps: ArrayLike, values: ArrayLike, target_step: float, min_points: int
) -> tuple[FloatArray, FloatArray]:
    t = np.asarray(steps, dtype=np.float64).ravel()
    y = np.asarray(values, dtype=np.float64).ravel()
    if t.shape != y.shape:
        raise ValueError(f"steps and values differ in length ({t.size} vs {y.size})")
    if t.size < min_points:
        raise ValueError(f"a curve needs at least {min_points} points to extrapolate, got {t.size}")
    if not np.all(np.isfinite(y)):
        raise ValueError("curve values must be finite (a NaN/inf curve has diverged)")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError("steps must be finite and > 0")
    order = np.argsort(t, kind="stable")
    t, y = t[order], y[order]
    if not math.isfinite(target_step) or target_step < t[-1]:
        raise ValueError(f"target_step ({target_step}) must be >= the last step ({t[-1]})")
    return t, y


def _bin(
    t: FloatArray, y: FloatArray, bins: int
) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    """Consecutive points averaged into at most ``bins`` bins: (t, y, weights, within-bin SS)."""
    if t.size <= bins:
        return t, y, np.ones_like(t), 0.0
    edges = np.linspace(0, t.size, bins + 1).astype(int)
    counts = np.diff(edges).astype(np.float64)
    index = np.repeat(np.arange(bins), np.diff(edges))
    t_mean = np.bincount(index, t) / counts
    y_mean = np.bincount(index, y) / counts
    within = float(np.sum((y - y_mean[index]) ** 2))
    return t_mean, y_mean, counts, within


def extrapolate(
    steps: ArrayLike,
    values: ArrayLike,
    target_step: float,
    *,
    settings: CurveSettings = DEFAULT_SETTINGS,
) -> CurvePrediction:
    """Predictive distribution of the curve's value at ``target_step`` from its first points.

    Args:
        steps: Steps (> 0) at which the values were recorded, in any order.
        values: The curve's finite values (either direction: the model is symmetric).
        target_step: The step to predict (``>= max(steps)``); usually the trial's last step.
        settings: The model's constants (:class:`~tune_extras.curves.CurveSettings`): the first
            ``floor(warmup_fraction * n)`` points are left out of the fit (early points, a
            warm-up or the first steep drop, follow no smooth shape); ``evidence_power`` tempers
            each shape's evidence; a Gaussian model error of ``discrepancy`` times the predicted
            change ``|E[Y] - recent|`` divided by 1.645 (``recent``: the mean of the last three
            values) is added to every shape: the further a curve is still to travel, the less its
            smooth fit is to be trusted.

    Returns:
        The uncalibrated prediction (``scale = 1``); multiply its spread with
        :meth:`CurvePrediction.with_scale`.

    Example:
        >>> import numpy as np
        >>> from tune_extras.curves import extrapolate
        >>> t = np.arange(1, 31)
        >>> loss = 0.2 + 0.8 * t**-0.7
        >>> p = extrapolate(t, loss, target_step=100)
        >>> truth = 0.2 + 0.8 * 100**-0.7
        >>> round(p.mean, 3), round(truth, 3)
        (0.235, 0.232)
        >>> low, high = p.interval(0.9)
        >>> bool(low < truth < high)
        True
    """
    t, y = _prepare(steps, values, float(target_step), settings.min_points)
    recent = float(y[-3:].mean())
    skip = min(int(settings.warmup_fraction * t.size), t.size - settings.min_points)
    t, y, w, within = _bin(t[skip:], y[skip:], settings.max_points)
    n = float(w.sum())
    u = t / float(target_step)
    phi = basis_matrix(_SHAPES, u)  # (K, m)
    # Centre and scale each shape over the points (regression is invariant to both).
    phi_mean = phi @ w / n
    centred = phi - phi_mean[:, None]
    spread = np.sqrt(np.maximum(centred**2 @ w / n, 0.0))
    usable = spread > 1e-12 * np.maximum(1.0, np.abs(phi_mean))
    spread = np.where(usable, spread, 1.0)
    x = centred / spread[:, None]
    x_target = (_PHI_TARGET - phi_mean) / spread
    y_mean = float(y @ w / n)
    y_scale = float(np.abs(y).max())
    if not y_scale > 1e-150:
        y_scale = 1.0  # an all-zero curve (squares of tinier scales would underflow)
    dy = (y - y_mean) / y_scale
    s_yy = float(dy**2 @ w) + within / y_scale**2
    s_xx = np.where(usable, x**2 @ w, 1.0)
    s_xy = np.where(usable, x @ (w * dy), 0.0)
    floor = 1e-24 * n  # keeps exact (noise-free) curves finite
    s_yy = max(s_yy, floor)
    r2 = np.clip(s_xy**2 / (s_xx * s_yy), 0.0, 1.0 - 1e-15)
    log_evidence = np.where(usable, -0.5 * n * np.log1p(-r2) - 0.5 * math.log(n), 0.0)
    log_weights = settings.evidence_power * log_evidence
    weights = np.exp(log_weights - log_weights.max())
    weights /= weights.sum()
    slope = np.where(usable, s_xy / s_xx, 0.0)
    location = y_mean / y_scale + slope * x_target
    dof = np.where(usable, n - 2, n - 1)
    residual = np.maximum(s_yy * (1.0 - r2), floor) / dof
    leverage = 1.0 + 1.0 / n + np.where(usable, x_target**2 / s_xx, 0.0)
    locations = location * y_scale
    change = abs(float(weights @ locations) - recent)
    model_error = settings.discrepancy * change / Z90
    scales = np.sqrt(residual * leverage * y_scale**2 + model_error**2)
    keep = weights > 1e-9  # shapes the data rule out: dropping them moves no probability > 1e-7
    weights = weights[keep] / weights[keep].sum()
    return CurvePrediction(float(target_step), weights, locations[keep], scales[keep], dof[keep])
