"""Fit the noisy quadratic law to the tail of a random search (Lourie, He & Cho 2025).

The steps, each in its own module (the plain-words version is docs/analyzer.md, "How the fit works"):

1. The tail as grouped data, ties and rounding exact (:mod:`._tail`), and the censored criterion
   (:mod:`._likelihood`): maximum product of spacings for continuous values, the rounded-data
   likelihood for a metric on a grid; values past the tail and pruned trials (``n_worse``) censored.
2. One model per integer effective dimension ``c`` (:mod:`._dimension`), each maximised by
   L-BFGS-B from several starts (:mod:`._optimize`).
3. The tail size (:mod:`._threshold`): the largest tail that passes the goodness-of-fit test and
   whose estimates agree with the deeper tails'.
4. Profile-likelihood intervals with a bootstrap Bartlett factor (:mod:`._intervals`), inside the
   physical bounds (``bounds=``) and ``1 <= c <= max_dimension``; the noise is *not detected* when
   the noiseless law is not rejected on the boundary ``sigma = 0``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from threadpoolctl import threadpool_limits

from tune_extras._validation import check_int
from tune_extras.surface._dimension import TailFit, fit_tail
from tune_extras.surface._distributions import Direction, _check_direction
from tune_extras.surface._intervals import bartlett_factor, best_interval, profile_bound
from tune_extras.surface._likelihood import LOG_S, LOG_W
from tune_extras.surface._optimize import covariance, profile
from tune_extras.surface._result import (
    Interval,
    NearOptimumFit,
    ParameterLaw,
    to_distribution,
)
from tune_extras.surface._tail import is_rounded, make_tail, resolution
from tune_extras.surface._threshold import MIN_TAIL, candidate, candidate_tail_sizes, choose_tail

FloatArray = NDArray[np.float64]

#: Fewest finite values the fit accepts.
MIN_TRIALS = 20
#: Fewest distinct values in the tail for a fit worth reporting.
MIN_DISTINCT = 8
#: Likelihood-ratio critical value for ``sigma = 0`` (5%, 50:50 mixture of chi2_0 and chi2_1).
NOISE_LR = float(stats.chi2.ppf(0.90, 1))
#: Default cap on the effective dimension ``c`` (the reference's range is 1..10).
MAX_DIMENSION = 10

Bounds = tuple[float | None, float | None] | None


def fit_near_optimum(
    values: ArrayLike,
    direction: str = "minimize",
    *,
    tail: int | float | str = "auto",
    n_worse: int = 0,
    bounds: Bounds = None,
    confidence: float = 0.95,
    n_boot: int = 20,
    seed: int = 0,
    max_dimension: int = MAX_DIMENSION,
) -> NearOptimumFit:
    """Fit the noisy quadratic law to the best values of a random search.

    Args:
        values: Final objective values of i.i.d. random-search trials (finite; at least 12, and at
            least 20 with ``n_worse``).
        direction: ``"minimize"`` for a loss, ``"maximize"`` for a score.
        tail: ``"auto"`` (the rule of :mod:`tune_extras.surface._threshold`), an ``int`` number of
            best values (>= 12), or a ``float`` share of the values in ``(0, 1]``.
        n_worse: Trials known only to be worse than every tail value (pruned trials): censored.
        bounds: Physical ``(low, high)`` of the values in the user's units, ``None`` for no bound on a
            side (``(0.0, None)`` for a loss, ``(None, 1.0)`` for an accuracy). The best value is
            constrained inside them.
        confidence: Level of the intervals, in ``(0, 1)``.
        n_boot: Bootstrap samples for the Bartlett factor of the intervals (>= 0; 0: plain Wilks).
        seed: Seed of the bootstrap.
        max_dimension: Largest effective dimension ``c`` considered, an int >= 1: at most the number
            of hyperparameters searched.

    Raises:
        ValueError: For non-finite values, too few values, all values equal, invalid arguments.

    Example:
        >>> from tune_extras.surface import NoisyQuadraticDistribution, fit_near_optimum
        >>> truth = NoisyQuadraticDistribution(a=0.1, b=0.4, c=2, sigma=0.005)
        >>> fit = fit_near_optimum(truth.rvs(300, seed=1))
        >>> fit.best_interval.low < 0.1 < fit.best_interval.high
        True
        >>> fit.effective_dimension
        2
    """
    # Thousands of tiny L-BFGS-B steps: a multi-threaded BLAS only adds overhead to them.
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit(values, direction, tail, n_worse, bounds, confidence, n_boot, seed, max_dimension)


def _loss_range(bounds: Bounds, direction: Direction) -> tuple[float, float]:
    if bounds is None:
        return -math.inf, math.inf
    if not isinstance(bounds, tuple | list) or len(bounds) != 2:
        raise ValueError(f"bounds must be a (low, high) pair, got {bounds!r}")
    low = -math.inf if bounds[0] is None else float(bounds[0])
    high = math.inf if bounds[1] is None else float(bounds[1])
    if math.isnan(low) or math.isnan(high) or not low < high:
        raise ValueError(f"bounds must satisfy low < high, got {bounds!r}")
    return (low, high) if direction == "minimize" else (-high, -low)


def _sizes(tail: int | float | str, losses: FloatArray) -> list[int]:
    """The candidate tail sizes: the automatic grid, or the one size the user asked for."""
    n = losses.size
    if isinstance(tail, str):
        if tail != "auto":
            raise ValueError(f"tail must be 'auto', an int or a float, got {tail!r}")
        sizes = candidate_tail_sizes(n)
    elif isinstance(tail, bool) or not isinstance(tail, int | float):
        raise ValueError(f"tail must be 'auto', an int or a float, got {tail!r}")
    elif isinstance(tail, int):
        if not MIN_TAIL <= tail <= n:
            raise ValueError(f"tail must be between {MIN_TAIL} and {n} values, got {tail}")
        sizes = [tail]
    else:
        if not 0.0 < tail <= 1.0:
            raise ValueError(f"a float tail is a share of the values in (0, 1], got {tail}")
        sizes = [min(n, max(MIN_TAIL, math.ceil(tail * n)))]
    # A tail must have a spread: grow a size until its values are not all equal.
    first_above = int(np.flatnonzero(losses > losses[0])[0]) + 1
    return sorted({max(k, first_above) for k in sizes})


def _check(
    direction_name: str, confidence: float, n_boot: int, n_worse: int, max_dimension: int
) -> Direction:
    direction = _check_direction(direction_name)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    check_int("n_boot", n_boot, low=0)
    check_int("n_worse", n_worse, low=0)
    check_int("max_dimension", max_dimension, low=1)
    return direction


def _fit(
    values: ArrayLike,
    direction_name: str,
    tail: int | float | str,
    n_worse: int,
    bounds: Bounds,
    confidence: float,
    n_boot: int,
    seed: int,
    max_dimension: int,
) -> NearOptimumFit:
    direction = _check(direction_name, confidence, n_boot, n_worse, max_dimension)
    y = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(y)):
        raise ValueError(f"values must be finite; got {int(np.sum(~np.isfinite(y)))} NaN/inf values")
    if y.size + n_worse < MIN_TRIALS or y.size < MIN_TAIL:
        raise ValueError(
            f"the fit needs at least {MIN_TRIALS} values (censored ones included) and {MIN_TAIL} "
            f"observed ones, got {y.size} observed and {n_worse} censored"
        )
    sign = 1.0 if direction == "minimize" else -1.0
    losses = np.sort(sign * y)
    if losses[0] == losses[-1]:
        raise ValueError("all values are equal: there is no tail to fit")
    a_range = _loss_range(bounds, direction)
    sizes = _sizes(tail, losses)
    grid = resolution(losses) if is_rounded(losses) else 0.0
    if len(sizes) == 1:
        chosen = fit_tail(make_tail(losses, sizes[0], n_worse, grid), a_range, max_dimension)
        candidates = [candidate(chosen, sign)]
    else:
        chosen, candidates = choose_tail(losses, sizes, sign, n_worse, grid, a_range, max_dimension)
    rule = "auto" if tail == "auto" else "user"
    return _finish(
        losses, chosen, direction, confidence, tuple(candidates), rule, n_boot, seed, grid, a_range
    )


def _noise(fit: TailFit, threshold: float) -> tuple[FloatArray, bool, float]:
    """The parameters to report, whether the noise goes undetected, and the upper end of the
    interval of ``sigma`` (loss units; the estimate itself when the noise is detected).

    When the noiseless law (``sigma`` at its floor) is not rejected, its fit is the one reported:
    then the best possible loss is at most the best observed one, as it must be without noise."""
    part = fit.best
    model, theta = part.model, part.theta
    floor = float(model.lower[LOG_S])
    start = theta.copy()
    start[LOG_S] = floor
    quiet, at_floor = profile(model, LOG_S, floor, start)
    if 2.0 * (at_floor - part.value) > NOISE_LR:
        width = fit.tail.scale * math.exp(float(theta[LOG_W]))
        return theta, False, width * math.exp(float(theta[LOG_S]))
    high, _ = profile_bound(model, theta, part.value, LOG_S, 1.0, threshold)
    return quiet, True, fit.tail.scale * math.exp(float(theta[LOG_W]) + high)


def _finish(
    losses: FloatArray,
    fit: TailFit,
    direction: Direction,
    confidence: float,
    candidates: tuple,  # type: ignore[type-arg]
    rule: str,
    n_boot: int,
    seed: int,
    grid: float,
    a_range: tuple[float, float],
) -> NearOptimumFit:
    tail = fit.tail
    q0 = float(stats.chi2.ppf(confidence, 1))
    theta, noiseless, sigma_high = _noise(fit, q0)
    loss_law = to_distribution(theta, tail.loc, tail.scale, "minimize")
    factor = 1.0
    if n_boot:
        factor = bartlett_factor(
            fit, lambda size, rng: loss_law.rvs(size, seed=rng), a_range, grid, n_boot, seed
        )
    q = q0 * factor
    ends = best_interval(fit, q)
    low = -math.inf if ends.open_low else max(ends.low, a_range[0])
    high = math.inf if ends.open_high else min(ends.high, a_range[1])
    plausible = fit.plausible(q)
    c_low, c_high = plausible[0], plausible[-1]
    if direction == "maximize":
        low, high = -high, -low
    user_law = to_distribution(theta, tail.loc, tail.scale, direction)
    distinct = tail.values.size
    coarse = distinct < MIN_DISTINCT
    reason = (
        f"the best {tail.size} values take only {distinct} distinct values (resolution "
        f"{resolution(losses[: tail.size]):.3g}); at least {MIN_DISTINCT} are needed for a fit"
        if coarse
        else None
    )
    weights = np.array([math.exp(-0.5 * fit.deviance_of_c(c)) for c in plausible])
    laws = tuple(
        ParameterLaw(
            fit.by_c[c].theta,
            covariance(fit.by_c[c].model, fit.by_c[c].theta),
            fit.by_c[c].model.lower,
            fit.by_c[c].model.upper,
            float(weight / weights.sum()),
        )
        for c, weight in zip(plausible, weights, strict=True)
    )
    sign = 1.0 if direction == "minimize" else -1.0
    n_total = tail.n_total
    return NearOptimumFit(
        distribution=user_law,
        best=user_law.best,
        best_interval=Interval(low, high, confidence),
        effective_dimension=fit.best_c,
        effective_dimension_interval=Interval(c_low, c_high, confidence),
        effective_dimension_open=c_high == fit.max_dimension,
        sigma=user_law.sigma,
        sigma_high=sigma_high,
        noiseless=noiseless,
        direction=direction,
        n_trials=n_total,
        n_tail=tail.size,
        threshold=sign * float(losses[tail.size - 1]),
        tail_mass=tail.size / n_total,
        ks_statistic=fit.ks,
        ks_pvalue=fit.ks_pvalue,
        candidates=candidates,
        threshold_rule=rule,
        resolution=resolution(losses[: tail.size]),
        coarse=coarse,
        coarse_reason=reason,
        _laws=laws,
        _loc=tail.loc,
        _scale=tail.scale,
    )
