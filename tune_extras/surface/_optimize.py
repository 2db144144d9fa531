"""Maximising the tail criterion at one effective dimension: box, starts, L-BFGS-B, profiles, Hessian.

All in the standardised units of :mod:`tune_extras.surface._tail`, parameters
``theta = (a, log w, log c, log s)`` (:mod:`tune_extras.surface._likelihood`). The effective
dimension ``c`` is an integer (the rank of the loss surface's Hessian at the optimum, Lourie, He &
Cho 2025), so every model holds it fixed (``lower = upper`` for ``log c``) and
:mod:`tune_extras.surface._dimension` fits one model per value of ``c``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from tune_extras.surface._likelihood import LOG_C, LOG_S, LOG_W, A, criterion, objective
from tune_extras.surface._tail import Tail

FloatArray = NDArray[np.float64]

#: Widest range of ``a`` below the tail's best value, in tail spreads: further is "no lower limit".
A_FLOOR = -50.0
#: Highest ``a`` in tail spreads: the best possible value lies below the tail's worst value.
A_CEILING = 0.99
_LOG_W = (math.log(1e-3), math.log(1e6))
#: Relative noise ``s = sigma / w`` from 1e-6 (numerically the noiseless law) to 5.
_LOG_S = (math.log(1e-6), math.log(5.0))


@dataclass(frozen=True)
class Model:
    """The criterion of one tail at one effective dimension ``c``, inside a parameter box."""

    tail: Tail
    c: int
    lower: FloatArray
    upper: FloatArray
    a_floor_is_physical: bool  # the lower end of ``a`` is a user bound, not A_FLOOR
    a_ceiling_is_physical: bool  # the upper end of ``a`` is a user bound, not A_CEILING

    def value(self, theta: FloatArray) -> float:
        return objective(theta, self.tail)

    def value_and_grad(self, theta: FloatArray) -> tuple[float, FloatArray]:
        return criterion(theta, self.tail)

    def clip(self, theta: FloatArray) -> FloatArray:
        return np.clip(theta, self.lower, self.upper)

    def at_bound(self, theta: FloatArray) -> NDArray[np.bool_]:
        """Parameters at (within 1e-4 of the box side from) a bound; fixed ones always are."""
        span = np.maximum(self.upper - self.lower, 1e-12)
        return (theta - self.lower < 1e-4 * span) | (self.upper - theta < 1e-4 * span)


def make_model(tail: Tail, c: int, a_range: tuple[float, float]) -> Model:
    """The box: ``a`` within the physical ``a_range`` (loss units) and below the tail's worst value,
    ``c`` fixed, ``w`` and ``s`` within wide fixed ranges."""
    a_low = max(A_FLOOR, (a_range[0] - tail.loc) / tail.scale)
    a_high = min(A_CEILING, (a_range[1] - tail.loc) / tail.scale)
    a_low = min(a_low, a_high - 1e-6)
    log_c = math.log(c)
    lower = np.array([a_low, _LOG_W[0], log_c, _LOG_S[0]])
    upper = np.array([a_high, _LOG_W[1], log_c, _LOG_S[1]])
    return Model(tail, c, lower, upper, a_low > A_FLOOR, a_high < A_CEILING)


def minimize(
    fun: Callable[[FloatArray], tuple[float, FloatArray]],
    x0: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
) -> tuple[FloatArray, float]:
    """L-BFGS-B on ``fun(x) -> (value, gradient)`` inside the box."""
    result = optimize.minimize(
        fun,
        np.clip(x0, lower, upper),
        jac=True,
        method="L-BFGS-B",
        bounds=list(zip(lower, upper, strict=True)),
        options={"maxiter": 200, "ftol": 1e-11, "gtol": 1e-7},
    )
    return np.asarray(result.x, dtype=np.float64), float(result.fun)


def starts(model: Model, index: int | None = None, value: float = 0.0) -> list[FloatArray]:
    """Moment-style starts over a grid of noise levels (parameter ``index`` held at ``value``
    when given): ``a`` from the tail's lower quartile, ``w`` from the tail's share of the values.

    For ``F(z) = ((z - a) / w)^(c/2)`` the tail's lower quartile ``z_q`` has
    ``F(z_q) = p / 4`` and its top ``F(1) = p`` (``p`` the tail share), so
    ``(z_q - a) / (1 - a) = 4^(-2/c)``.
    """
    tail = model.tail
    p = tail.size / tail.n_total
    cum = np.cumsum(tail.value_counts)
    position = min(int(np.searchsorted(cum, max(1.0, 0.25 * tail.size))), tail.values.size - 1)
    quarter = float(tail.values[position])
    c = float(model.c)
    rho = 0.25 ** (2.0 / c)
    a0 = (quarter - rho) / (1.0 - rho) if index != A else value
    a0 = float(np.clip(min(a0, -0.02), model.lower[A], model.upper[A] - 1e-3))
    w0 = max((1.0 - a0) / p ** (2.0 / c), 1.0 - a0 + 1e-3)
    out = []
    for s0 in (1e-3, 0.05, 0.3):
        start = np.array([a0, math.log(w0), math.log(c), math.log(s0)])
        if index is not None:
            start[index] = value
        out.append(model.clip(start))
    return out


def fit_model(model: Model, warm: FloatArray | None = None, n_starts: int = 2) -> tuple[FloatArray, float]:
    """Maximise the criterion from the ``n_starts`` best grid starts and from ``warm``: the
    ``(a, sigma)`` surface can have two optima (a deep ``a`` with little noise against a shallow
    one with much noise)."""
    candidates = starts(model)
    scores = [model.value(x) for x in candidates]
    chosen = [candidates[int(i)] for i in np.argsort(scores)[:n_starts]]
    if warm is not None:
        chosen.append(model.clip(warm))
    best_x, best_f = chosen[0], math.inf
    for start in chosen:
        x, f = minimize(model.value_and_grad, start, model.lower, model.upper)
        if f < best_f:
            best_x, best_f = x, f
    return best_x, best_f


def profile(
    model: Model, index: int, x: float, warm: FloatArray, grid: bool = True
) -> tuple[FloatArray, float]:
    """Maximise over the free parameters with parameter ``index`` held at ``x``; returns the
    parameters and ``-S``. ``grid`` adds the best grid start, so the profile does not follow a
    local optimum of the ``a``-``sigma`` trade-off."""
    others = [i for i in range(4) if i != index]

    def fun(rest: FloatArray) -> tuple[float, FloatArray]:
        full = np.empty(4)
        full[index] = x
        full[others] = rest
        value, grad = model.value_and_grad(full)
        return value, grad[others]

    lower, upper = model.lower[others], model.upper[others]
    best_rest, best_f = minimize(fun, warm[others], lower, upper)
    if grid:
        start = min(starts(model, index, x), key=model.value)
        rest, f = minimize(fun, start[others], lower, upper)
        if f < best_f:
            best_rest, best_f = rest, f
    full = np.empty(4)
    full[index] = x
    full[others] = best_rest
    return full, best_f


def covariance(model: Model, theta: FloatArray) -> FloatArray:
    """Inverse Hessian of ``-S`` over the free parameters not at a bound (0 elsewhere), by central
    differences of the analytic gradient; when not positive definite, the noise is held fixed and
    the other two are inverted; all zeros when neither is."""
    free = np.flatnonzero(~model.at_bound(theta))
    h = 1e-4
    hess = np.zeros((4, 4))
    for i in free:
        step = np.zeros(4)
        step[i] = h
        hess[i] = (model.value_and_grad(theta + step)[1] - model.value_and_grad(theta - step)[1]) / (2 * h)
    hess = 0.5 * (hess + hess.T)
    for subset in (free, free[free != LOG_S]):
        cov = np.zeros((4, 4))
        if subset.size == 0:
            return cov
        block = hess[np.ix_(subset, subset)]
        if np.all(np.linalg.eigvalsh(block) > 0):
            cov[np.ix_(subset, subset)] = np.linalg.inv(block)
            return cov
    return np.zeros((4, 4))


__all__ = [
    "LOG_C",
    "LOG_S",
    "LOG_W",
    "A",
    "Model",
    "covariance",
    "fit_model",
    "make_model",
    "minimize",
    "profile",
    "starts",
]
