"""Profile-likelihood intervals over integer ``c``, with a parametric-bootstrap Bartlett factor.

The interval of the best value ``a`` is ``{a : min_c D(c) + D_c(a) <= q}`` (the profile over the
other parameters and over the integer ``c``, :mod:`tune_extras.surface._dimension`), the union over
the plausible ``c`` of the intervals ``{a : D_c(a) <= q - D(c)}``; the interval of ``c`` is
``{c : D(c) <= q}``. ``q`` is the chi2_1 quantile at the confidence level times a Bartlett factor
(Bartlett 1937, in its bootstrap form, Rocke 1989): the mean deviance of ``a`` at its true value
over samples simulated from the fit. For small tails the deviance of ``a``, nearly a boundary
parameter, is heavier-tailed than chi2_1 and plain Wilks intervals under-cover; the factor is never
below 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tune_extras.surface._dimension import TailFit
from tune_extras.surface._likelihood import A
from tune_extras.surface._optimize import Model, make_model, minimize, profile
from tune_extras.surface._tail import make_tail, restandardise

FloatArray = NDArray[np.float64]


def profile_bound(
    model: Model, theta: FloatArray, value: float, index: int, sign: float, threshold: float
) -> tuple[float, bool]:
    """End of the profile interval of parameter ``index`` on side ``sign`` and whether it is the
    parameter's box limit (the deviance never reached ``threshold`` inside the box).

    Solves ``r(x) = sqrt(threshold)`` for the signed root ``r(x) = sqrt(2 (S_max - S_profile(x)))``,
    nearly linear in ``x``, by expansion then safeguarded regula falsi.
    """
    target = math.sqrt(max(threshold, 0.0))
    lo, hi = float(model.lower[index]), float(model.upper[index])
    limit = hi if sign > 0 else lo
    x0 = float(theta[index])
    if target == 0.0:
        return x0, False
    if x0 == limit or hi - lo < 1e-9:
        return limit, True
    warm = theta.copy()

    def root(x: float, grid: bool = False) -> float:
        nonlocal warm
        warm, f = profile(model, index, x, warm, grid)
        return math.sqrt(max(2.0 * (f - value), 0.0))

    step = 0.02 * (hi - lo) if hi - lo < 10 else 0.2
    r0 = 0.0
    x1 = float(np.clip(x0 + sign * step, lo, hi))
    r1 = root(x1, grid=True)
    while r1 < target:
        if x1 == limit:
            return limit, True
        x0, r0 = x1, r1
        step *= 2.0
        x1 = float(np.clip(x1 + sign * step, lo, hi))
        r1 = root(x1)
    checked = False
    for _ in range(30):
        x = x0 + (target - r0) * (x1 - x0) / (r1 - r0) if r1 > r0 else 0.5 * (x0 + x1)
        if not min(x0, x1) < x < max(x0, x1):
            x = 0.5 * (x0 + x1)
        r = root(x)
        if abs(r - target) < 0.01:
            if checked:
                return x, False
            # The profile followed warm starts: confirm the end from a grid start as well.
            checked = True
            r = root(x, grid=True)
            if abs(r - target) < 0.01:
                return x, False
        if r < target:
            x0, r0 = x, r
        else:
            x1, r1 = x, r
    return 0.5 * (x0 + x1), False


@dataclass(frozen=True)
class BestInterval:
    """Interval of ``a`` in loss units; ``open_low``/``open_high``: that end is the box limit."""

    low: float
    high: float
    open_low: bool
    open_high: bool


def best_interval(fit: TailFit, threshold: float) -> BestInterval:
    """``{a : min_c D(c) + D_c(a) <= threshold}`` in loss units (see the module docstring)."""
    tail = fit.tail
    lows, highs = [], []
    open_low = open_high = False
    for c in fit.plausible(threshold):
        part = fit.by_c[c]
        budget = threshold - fit.deviance_of_c(c)
        low, at_low = profile_bound(part.model, part.theta, part.value, A, -1.0, budget)
        high, at_high = profile_bound(part.model, part.theta, part.value, A, 1.0, budget)
        lows.append(low)
        highs.append(high)
        open_low |= at_low and not part.model.a_floor_is_physical
        open_high |= at_high and not part.model.a_ceiling_is_physical
    return BestInterval(
        tail.loc + tail.scale * min(lows), tail.loc + tail.scale * max(highs), open_low, open_high
    )


def bartlett_factor(
    fit: TailFit,
    sample: Callable[[int, np.random.Generator], FloatArray],
    a_range: tuple[float, float],
    grid: float,
    n_boot: int,
    seed: int,
) -> float:
    """Mean profile deviance of ``a`` at its true value over ``n_boot`` samples drawn by
    ``sample(n, rng)`` (losses, from the fit), refitted with the same tail size, censoring and
    rounding at the true ``c`` and its neighbours, so that the deviance includes the uncertainty
    of ``c``; at least 1."""
    rng = np.random.default_rng(seed)
    tail, truth_fit = fit.tail, fit.best
    k, n_censored = tail.size, tail.n_censored
    dimensions = [c for c in (fit.best_c - 1, fit.best_c, fit.best_c + 1) if 1 <= c <= fit.max_dimension]
    deviances: list[float] = []
    for _ in range(n_boot):
        losses = np.sort(sample(k + n_censored, rng))
        if grid > 0:
            losses = tail.loc + grid * np.round((losses - tail.loc) / grid)
        if losses[k - 1] <= losses[0]:
            continue
        boot_tail = make_tail(losses, k, 0, grid)
        truth = restandardise(truth_fit.theta, tail, boot_tail)
        best, at_truth = math.inf, math.inf
        for c in dimensions:
            model = make_model(boot_tail, c, a_range)
            if not model.lower[A] <= truth[A] <= model.upper[A]:
                break
            own = restandardise(fit.by_c[c].theta, tail, boot_tail) if c in fit.by_c else truth
            start = model.clip(own)
            start[A] = truth[A]
            f_max = minimize(model.value_and_grad, start, model.lower, model.upper)[1]
            f_true = profile(model, A, float(truth[A]), start, grid=False)[1]
            best, at_truth = min(best, f_max, f_true), min(at_truth, f_true)
        else:
            deviances.append(max(2.0 * (at_truth - best), 0.0))
    return max(1.0, float(np.mean(deviances))) if deviances else 1.0


__all__ = ["BestInterval", "bartlett_factor", "best_interval", "profile_bound"]
