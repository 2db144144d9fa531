"""Fit the noisy quadratic law to the tail of a random search, with an automatic threshold.

Method (all of it numpy/scipy; see docs/analyzer.md for the plain-words version):

1. **Censored grouped likelihood (maximum product of spacings).** Only the best ``k`` of ``n`` values
   follow the quadratic law, so the other ``n - k`` are censored at the threshold ``t = y_(k)``. With the
   distinct tail values ``v_1 < ... < v_J`` seen ``r_j`` times, the objective is

       S = sum_j r_j log(F(v_j) - F(v_{j-1})) + (n - k) log(1 - F(t)),    F(v_0) = 0,

   the censored maximum-product-of-spacings criterion (Cheng & Amin 1983; Ranneby 1984) written as a
   grouped-data likelihood whose bins end at the observed values. It is bounded above (every term is a
   log-probability), unlike the plain likelihood, which is infinite at ``c < 2, sigma -> 0``; ties (common
   with accuracies on a finite validation set) are handled exactly. Parameters are optimised in the
   unconstrained form ``(a, log(b - a), log c, log(sigma / (b - a)))`` by L-BFGS-B, after a grid of starts.

2. **Automatic threshold by Lepski's method.** The tail size is chosen among a geometric grid
   ``k_min, 1.5 k_min, ..., n`` by Lepski's balancing principle (Lepski 1990; for tail fits, Drees &
   Kaufmann 1998): going from the deepest tail outwards, keep the largest ``k`` whose estimates of the
   best value ``a`` and of ``log c`` lie within ``width`` (Wald) standard errors of those of every
   deeper tail, and whose tail still passes a
   Kolmogorov-Smirnov test of fit at level 0.01. Deep tails are unbiased but noisy; larger tails are
   precise but, once the surface stops being quadratic, biased. The rule stops where the bias becomes
   visible against the noise.

3. **Profile-likelihood intervals** for ``a`` and ``c`` at the chosen tail:
   ``{theta : 2 (S_max - S_profile(theta)) <= chi2_1(level)}``, found by secant steps on the signed root
   of the profile deviance. An interval that reaches a parameter bound is reported open (``inf``).
   Coverage is checked by simulation in the tests and in ``benchmarks/``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats
from threadpoolctl import threadpool_limits

from tune_extras.surface._distributions import (
    Direction,
    NoisyQuadraticDistribution,
    _check_direction,
)
from tune_extras.surface._partial_moment import normal_partial_moment, normal_partial_moment_grad

FloatArray = NDArray[np.float64]

#: Fewest finite values the fit accepts.
MIN_TRIALS = 20
#: Fewest tail values in the deepest candidate tail.
MIN_TAIL = 12
#: A candidate tail whose Kolmogorov-Smirnov p-value falls below this ends the threshold search.
GOF_LEVEL = 0.01
#: Most bins of the grouped likelihood (see ``_make_tail``).
MAX_BINS = 200

# Bounds of the unconstrained parameters (a, log w, log c, log s) in standardised units, where the
# candidate tail spans [0, 1].
_BOUNDS = (
    (-50.0, 0.99),
    (math.log(1e-3), math.log(1e6)),
    (0.0, math.log(64.0)),  # 1 <= c <= 64: at least one direction matters near the optimum
    (math.log(1e-6), math.log(5.0)),
)
_A, _LOG_W, _LOG_C, _LOG_S = range(4)
_LOWER = np.array([bound[0] for bound in _BOUNDS])
_UPPER = np.array([bound[1] for bound in _BOUNDS])


@dataclass(frozen=True)
class _Tail:
    """A candidate tail in standardised loss units: ``z = (loss - loc) / scale``."""

    values: FloatArray  # distinct tail values v_1 < ... < v_J in z units, v_J = 1
    counts: FloatArray  # multiplicities r_j
    n_censored: int
    loc: float
    scale: float

    @property
    def size(self) -> int:
        return int(self.counts.sum())


def _make_tail(sorted_losses: FloatArray, k: int) -> _Tail:
    """The ``k`` smallest losses, standardised to span ``[0, 1]``.

    Beyond :data:`MAX_BINS` distinct values, neighbouring values are grouped into ``MAX_BINS`` bins of
    about equal counts, each represented by its right edge: the criterion is then the grouped-data
    likelihood of those bins, which loses little information (Kulldorff 1961) and caps the cost of
    one evaluation.
    """
    loc = float(sorted_losses[0])
    scale = float(sorted_losses[k - 1] - loc)
    values, counts = np.unique((sorted_losses[:k] - loc) / scale, return_counts=True)
    if values.size > MAX_BINS:
        cum = np.cumsum(counts)
        edges = np.searchsorted(cum, np.linspace(0, k, MAX_BINS + 1)[1:], side="left")
        edges = np.unique(np.minimum(edges, values.size - 1))
        values = values[edges]
        counts = np.diff(cum[edges], prepend=0)
    return _Tail(values, counts.astype(np.float64), len(sorted_losses) - k, loc, scale)


def _cdf(theta: FloatArray, v: FloatArray) -> FloatArray:
    a, w, c, s = theta[0], math.exp(theta[1]), math.exp(theta[2]), math.exp(theta[3])
    mu = (v - a) / w
    return special.ndtr((mu - 1.0) / s) + normal_partial_moment(c / 2.0, mu, s)  # type: ignore[no-any-return]


def _cdf_and_grad(theta: FloatArray, v: FloatArray) -> tuple[FloatArray, FloatArray]:
    """CDF at ``v`` and its gradient in ``theta`` (shape ``(len(v), 4)``).

    Analytic, from :func:`normal_partial_moment_grad` and the chain rule.
    """
    a, log_w, log_c, log_s = (float(t) for t in theta)
    w, c, s = math.exp(log_w), math.exp(log_c), math.exp(log_s)
    mu = (v - a) / w
    upper_z = (mu - 1.0) / s
    upper_pdf = np.exp(-0.5 * upper_z * upper_z) / math.sqrt(2.0 * math.pi) / s
    moment, d_mu, d_s, d_k = normal_partial_moment_grad(c / 2.0, mu, s)
    cdf = special.ndtr(upper_z) + moment
    d_mu = d_mu + upper_pdf
    d_s = d_s - upper_pdf * upper_z
    d_log_c = d_k * (c / 2.0)
    grad = np.column_stack([-d_mu / w, -d_mu * mu, d_log_c, d_s * s])
    return cdf, grad


def _objective(theta: FloatArray, tail: _Tail) -> float:
    """``-S``: the negative censored spacings criterion (to minimise)."""
    return _objective_and_grad(theta, tail, gradient=False)[0]


def _objective_and_grad(
    theta: FloatArray, tail: _Tail, gradient: bool = True
) -> tuple[float, FloatArray]:
    """``-S`` and its gradient: ``dS = sum_j r_j dD_j / D_j - (n - k) dF(t) / (1 - F(t))``."""
    if gradient:
        cdf, d_cdf = _cdf_and_grad(theta, tail.values)
    else:
        cdf, d_cdf = _cdf(theta, tail.values), np.zeros((0, 4))
    spacings = np.maximum(np.diff(cdf, prepend=0.0), 1e-300)
    value = float(tail.counts @ np.log(spacings))
    survival = max(1.0 - float(cdf[-1]), 1e-300)
    if tail.n_censored:
        value += tail.n_censored * math.log(survival)
    if not gradient:
        return -value, d_cdf
    d_spacings = np.diff(d_cdf, axis=0, prepend=np.zeros((1, 4)))
    grad = (tail.counts / spacings) @ d_spacings
    if tail.n_censored:
        grad -= tail.n_censored * d_cdf[-1] / survival
    return -value, -grad


def _minimize(
    fun: Any, x0: FloatArray, bounds: Sequence[tuple[float, float]]
) -> tuple[FloatArray, float]:
    """L-BFGS-B on ``fun(x) -> (value, gradient)``."""
    result = optimize.minimize(
        fun,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 200, "ftol": 1e-11, "gtol": 1e-7},
    )
    return np.asarray(result.x, dtype=np.float64), float(result.fun)


def _starts(tail: _Tail, index: int | None = None, value: float = 0.0) -> list[FloatArray]:
    """Moment-style starting points for a grid of ``c`` and noise levels.

    With ``index`` given, parameter ``index`` is held at ``value`` (for profiles) and the other
    starting values are derived consistently with it.
    """
    z, r = tail.values, tail.counts
    n_total = tail.size + tail.n_censored
    p = tail.size / n_total
    cum = np.cumsum(r)
    position = min(int(np.searchsorted(cum, max(1.0, 0.25 * tail.size))), len(z) - 1)
    quarter = float(z[position])
    c_grid = (math.exp(value),) if index == _LOG_C else (1.05, 2.0, 4.0, 8.0)
    starts = []
    for c0 in c_grid:
        rho = 0.25 ** (2.0 / c0)
        a0 = min((quarter - rho) / (1.0 - rho), -0.02) if index != _A else min(value, 0.98)
        w0 = (1.0 - a0) / p ** (2.0 / c0)
        for s0 in (1e-3, 0.05, 0.3):
            start = np.array([a0, math.log(w0), math.log(c0), math.log(s0)])
            if index is not None:
                start[index] = value
            starts.append(start)
    return [np.clip(x, _LOWER, _UPPER) for x in starts]


def _fit_tail(
    tail: _Tail, warm: FloatArray | None = None, n_starts: int = 3
) -> tuple[FloatArray, float]:
    """Maximise the criterion from the ``n_starts`` best grid starts and from ``warm``.

    The surface in ``(c, sigma)`` can have several local optima (a large ``c`` with little noise
    against a small ``c`` with much noise), so several starts are worth their cost.
    """
    candidates = _starts(tail)
    scores = [_objective(x, tail) for x in candidates]
    chosen = [candidates[int(i)] for i in np.argsort(scores)[:n_starts]]
    if warm is not None:
        chosen.append(warm)
    best_x, best_f = chosen[0], math.inf
    for start in chosen:
        x, f = _minimize(lambda t: _objective_and_grad(t, tail), start, _BOUNDS)
        if f < best_f:
            best_x, best_f = x, f
    return best_x, best_f


def _tail_ks(theta: FloatArray, tail: _Tail, losses: FloatArray) -> tuple[float, float]:
    """Kolmogorov-Smirnov distance of the tail from the fit conditioned on the tail, and its p-value.

    Ties are handled: the empirical CDF jumps once per distinct value.
    """
    k = tail.size
    cdf = _cdf(theta, (losses[:k] - tail.loc) / tail.scale)
    conditional = cdf / _cdf(theta, np.array([1.0]))[0]
    ks = float(
        max(
            np.max(np.arange(1, k + 1) / k - conditional),
            np.max(conditional - np.arange(0, k) / k),
        )
    )
    return ks, float(stats.kstwo.sf(ks, k))


def _at_bound(theta: FloatArray) -> NDArray[np.bool_]:
    span = _UPPER - _LOWER
    return (theta - _LOWER < 1e-4 * span) | (_UPPER - theta < 1e-4 * span)  # type: ignore[no-any-return]


def _covariance(theta: FloatArray, tail: _Tail) -> FloatArray:
    """Inverse Hessian of ``-S`` over the parameters not at a bound (NaN elsewhere).

    The Hessian is the central difference of the analytic gradient, symmetrised. When it is not
    positive definite (typically a noise level so small that the criterion is flat in it), the
    noise parameter is held fixed and the other three are inverted.
    """
    free = np.flatnonzero(~_at_bound(theta))
    h = 1e-4
    hess = np.zeros((4, 4))
    for i in free:
        step = np.zeros(4)
        step[i] = h
        up = _objective_and_grad(theta + step, tail)[1]
        down = _objective_and_grad(theta - step, tail)[1]
        hess[i] = (up - down) / (2.0 * h)
    hess = 0.5 * (hess + hess.T)
    for subset in (free, free[free != _LOG_S]):
        cov = np.full((4, 4), np.nan)
        if subset.size == 0:
            return cov
        block = hess[np.ix_(subset, subset)]
        if np.all(np.linalg.eigvalsh(block) > 0):
            cov[np.ix_(subset, subset)] = np.linalg.inv(block)
            return cov
    return np.full((4, 4), np.nan)


def _profile(
    tail: _Tail, index: int, x: float, warm: FloatArray, grid: bool = True
) -> tuple[FloatArray, float]:
    """Maximise the criterion over the other parameters with parameter ``index`` held at ``x``.

    Starts from ``warm`` and (if ``grid``) from the best of the grid starts, so that the profile does
    not follow a local optimum of the ``c``-``sigma`` trade-off. Returns the parameters and ``-S``.
    """
    others = [i for i in range(4) if i != index]
    bounds = [_BOUNDS[i] for i in others]

    def fun(rest: FloatArray) -> tuple[float, FloatArray]:
        full = np.empty(4)
        full[index] = x
        full[others] = rest
        value, grad = _objective_and_grad(full, tail)
        return value, grad[others]

    best_rest, best_f = _minimize(fun, warm[others], bounds)
    if grid:
        starts = _starts(tail, index, x)
        grid_best = min(starts, key=lambda t: _objective(t, tail))
        rest, f = _minimize(fun, grid_best[others], bounds)
        if f < best_f:
            best_rest, best_f = rest, f
    full = np.empty(4)
    full[index] = x
    full[others] = best_rest
    return full, best_f


def _profile_bound(
    tail: _Tail,
    theta: FloatArray,
    value: float,
    index: int,
    sign: float,
    threshold: float,
    se: float,
) -> float:
    """The end of the profile-likelihood interval for parameter ``index`` on side ``sign``.

    Solves ``r(x) = sqrt(threshold)`` for the signed root ``r(x) = sqrt(2 (S_max - S_profile(x)))``,
    which is nearly linear in ``x``, by safeguarded secant steps. Returns ``+-inf`` when the bound of
    the parameter is reached before the deviance does.
    """
    target = math.sqrt(threshold)
    lo_bound, hi_bound = _BOUNDS[index]
    limit = hi_bound if sign > 0 else lo_bound
    warm = theta.copy()

    def root(x: float) -> float:
        nonlocal warm
        warm, f = _profile(tail, index, x, warm)
        return math.sqrt(max(2.0 * (f - value), 0.0))

    step = se if math.isfinite(se) and se > 0 else 0.1 * (hi_bound - lo_bound) / 50.0
    x0, r0 = float(theta[index]), 0.0
    x1 = float(np.clip(x0 + sign * target * step, lo_bound, hi_bound))
    r1 = root(x1)
    # Expand until the target is bracketed (or the bound reached).
    while r1 < target:
        if x1 == limit:
            return math.inf * sign
        x0, r0 = x1, r1
        step *= 2.0
        x1 = float(np.clip(x1 + sign * step, lo_bound, hi_bound))
        r1 = root(x1)
    # Bracketed between x0 (r0 < target) and x1 (r1 >= target): regula falsi with bisection guard.
    for _ in range(20):
        x = x0 + (target - r0) * (x1 - x0) / (r1 - r0) if r1 > r0 else 0.5 * (x0 + x1)
        if not min(x0, x1) < x < max(x0, x1):
            x = 0.5 * (x0 + x1)
        r = root(x)
        if abs(r - target) < 0.01:
            return x
        if r < target:
            x0, r0 = x, r
        else:
            x1, r1 = x, r
    return 0.5 * (x0 + x1)


def _bartlett_factor(tail: _Tail, theta: FloatArray, n_boot: int, seed: int) -> float:
    """Bartlett correction of the profile deviance, estimated by parametric bootstrap.

    For small tails the deviance ``2 (S_max - S_profile)`` is heavier-tailed than chi2_1 (``a`` is
    close to a non-regular threshold parameter), so plain Wilks intervals under-cover. Following
    Bartlett (1937) in its bootstrap form (Rocke 1989), the chi2 quantile is scaled by the mean
    deviance at the true value over ``n_boot`` samples simulated from the fit (same ``n``, same tail
    size): ``E[deviance] = 1`` for an exact chi2_1. The deviances of ``a`` and of ``log c`` are pooled
    into one factor; a factor below 1 is not used (intervals are never made narrower than Wilks').
    """
    rng = np.random.default_rng(seed)
    dist = _to_distribution(theta, tail.loc, tail.scale, "minimize")
    n, k = tail.size + tail.n_censored, tail.size
    deviances: list[float] = []
    for _ in range(n_boot):
        losses = np.sort(dist.rvs(n, seed=rng))
        if losses[k - 1] <= losses[0]:
            continue
        boot = _make_tail(losses, k)
        truth = _restandardise(theta, tail, boot)
        fitted, f_max = _minimize(lambda t, b=boot: _objective_and_grad(t, b), truth, _BOUNDS)
        f_max = min(f_max, _objective(truth, boot))
        for index in (_A, _LOG_C):
            start = fitted.copy()
            start[index] = truth[index]
            f_prof = min(
                _profile(boot, index, float(truth[index]), start, grid=False)[1],
                _objective(truth, boot),
            )
            deviances.append(max(2.0 * (f_prof - f_max), 0.0))
    return max(1.0, float(np.mean(deviances))) if deviances else 1.0


@dataclass(frozen=True)
class Interval:
    """A confidence interval ``[low, high]`` at ``level``; an end is ``+-inf`` when unbounded."""

    low: float
    high: float
    level: float

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int | float) and self.low <= value <= self.high

    def as_dict(self) -> dict[str, float]:
        return {"low": self.low, "high": self.high, "level": self.level}


@dataclass(frozen=True)
class TailCandidate:
    """One candidate tail of the threshold search (kept for diagnostics and plots)."""

    n_tail: int
    threshold: float
    best: float
    best_se: float
    c: float
    log_c_se: float
    ks_pvalue: float


@dataclass(frozen=True)
class NearOptimumFit:
    """The fitted noisy quadratic law of a random search, with intervals and diagnostics.

    Attributes:
        distribution: The fitted :class:`NoisyQuadraticDistribution` (in the user's direction).
        best: The extrapolated best possible (expected) value: ``a`` for a loss, ``b`` for a score.
        best_interval: Profile-likelihood interval for :attr:`best`.
        effective_dimension: Real-valued ``c``, the effective number of hyperparameters.
        effective_dimension_interval: Profile-likelihood interval for ``c``.
        sigma: Evaluation-noise scale.
        n_trials, n_tail, threshold, tail_mass: Data used: all values, the tail that was fitted, the
            threshold value and the share of values in the tail.
        ks_statistic, ks_pvalue: Kolmogorov-Smirnov distance of the tail from the fitted law
            (conditioned on the tail) and its asymptotic p-value; a small p-value says the tail is not
            well described by a noisy quadratic. (With estimated parameters the p-value is conservative.)
        candidates: The threshold search, deepest tail first.
    """

    distribution: NoisyQuadraticDistribution
    best: float
    best_interval: Interval
    effective_dimension: float
    effective_dimension_interval: Interval
    sigma: float
    direction: Direction
    n_trials: int
    n_tail: int
    threshold: float
    tail_mass: float
    ks_statistic: float
    ks_pvalue: float
    candidates: tuple[TailCandidate, ...]
    _theta: FloatArray = field(repr=False)
    _covariance: FloatArray = field(repr=False)
    _loc: float = field(repr=False)
    _scale: float = field(repr=False)

    def parameter_draws(self, size: int, seed: int | None = 0) -> list[NoisyQuadraticDistribution]:
        """Distributions drawn from the normal approximation of the fitted parameters' sampling law.

        Used for pointwise tuning-curve bands. Parameters at a bound are held fixed.
        """
        rng = np.random.default_rng(seed)
        cov = np.nan_to_num(self._covariance, nan=0.0)
        draws = rng.multivariate_normal(self._theta, cov, size=size, method="eigh")
        return [self._distribution(np.clip(d, _LOWER, _UPPER)) for d in draws]

    def _distribution(self, theta: FloatArray) -> NoisyQuadraticDistribution:
        return _to_distribution(theta, self._loc, self._scale, self.direction)


def _to_distribution(
    theta: FloatArray, loc: float, scale: float, direction: Direction
) -> NoisyQuadraticDistribution:
    a = loc + scale * float(theta[_A])
    w = scale * math.exp(float(theta[_LOG_W]))
    c = math.exp(float(theta[_LOG_C]))
    sigma = w * math.exp(float(theta[_LOG_S]))
    if direction == "minimize":
        return NoisyQuadraticDistribution(a, a + w, c, sigma, "minimize")
    return NoisyQuadraticDistribution(-(a + w), -a, c, sigma, "maximize")


def candidate_tail_sizes(n: int, min_tail: int = MIN_TAIL, ratio: float = 1.5) -> list[int]:
    """Geometric grid of tail sizes ``k_min, ratio k_min, ..., n`` with ``k_min = max(min_tail, sqrt n)``."""
    k = max(min_tail, math.ceil(math.sqrt(n)))
    sizes = []
    while k < n:
        sizes.append(k)
        k = math.ceil(k * ratio)
    sizes.append(n)
    return sizes


def fit_near_optimum(
    values: ArrayLike,
    direction: str = "minimize",
    *,
    tail: int | float | str = "auto",
    confidence: float = 0.95,
    lepski_width: float = 3.0,
    n_boot: int = 20,
    seed: int = 0,
) -> NearOptimumFit:
    """Fit the noisy quadratic law to the best values of a random search.

    Args:
        values: Final objective values of i.i.d. random-search trials (at least 20, finite).
        direction: ``"minimize"`` for a loss, ``"maximize"`` for a score.
        tail: ``"auto"`` (choose the threshold by Lepski's rule, see the module docstring), an
            ``int`` number of best values to fit, or a ``float`` in ``(0, 1]`` share of them.
        confidence: Level of the profile-likelihood intervals, in ``(0, 1)``.
        lepski_width: Lepski's constant: how many standard errors two tails' estimates may differ by
            (> 0). Larger values accept larger tails.
        n_boot: Parametric-bootstrap samples for the Bartlett correction of the intervals (>= 0;
            0 gives plain Wilks intervals, which under-cover for small tails).
        seed: Seed of the bootstrap, so that the same data give the same intervals.

    Returns:
        A :class:`NearOptimumFit`.

    Raises:
        ValueError: For non-finite values, fewer than 20 values, values that are all equal, or
            invalid arguments.

    Example:
        >>> from tune_extras.surface import NoisyQuadraticDistribution, fit_near_optimum
        >>> truth = NoisyQuadraticDistribution(a=0.1, b=0.4, c=2, sigma=0.005)
        >>> fit = fit_near_optimum(truth.rvs(300, seed=1))
        >>> fit.best_interval.low < 0.1 < fit.best_interval.high
        True
    """
    # The fit makes thousands of tiny L-BFGS-B steps; a multi-threaded BLAS only adds overhead to
    # them (4x slower on a busy 2-core machine), so BLAS runs single-threaded here.
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_near_optimum(values, direction, tail, confidence, lepski_width, n_boot, seed)


def _fit_near_optimum(
    values: ArrayLike,
    direction: str,
    tail: int | float | str,
    confidence: float,
    lepski_width: float,
    n_boot: int,
    seed: int,
) -> NearOptimumFit:
    direction = _check_direction(direction)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if not lepski_width > 0:
        raise ValueError(f"lepski_width must be > 0, got {lepski_width}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 0:
        raise ValueError(f"n_boot must be an int >= 0, got {n_boot!r}")
    y = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(y)):
        raise ValueError(
            f"values must be finite; got {int(np.sum(~np.isfinite(y)))} NaN/inf values"
        )
    n = y.size
    if n < MIN_TRIALS:
        raise ValueError(f"the fit needs at least {MIN_TRIALS} values, got {n}")
    losses = np.sort(y if direction == "minimize" else -y)
    if losses[0] == losses[-1]:
        raise ValueError("all values are equal: there is no tail to fit")

    if tail == "auto":
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
    sizes = sorted({k if losses[k - 1] > losses[0] else _first_spread(losses, k) for k in sizes})

    chosen: tuple[_Tail, FloatArray, float, FloatArray] | None = None
    candidates: list[TailCandidate] = []
    warm: FloatArray | None = None
    accepted: list[tuple[FloatArray, FloatArray]] = []  # (a, log c) estimates and their se
    sign = 1.0 if direction == "minimize" else -1.0
    for k in sizes:
        tail_k = _make_tail(losses, k)
        # Carry the previous solution over to the new standardisation.
        if warm is not None and chosen is not None:
            warm = _restandardise(warm, chosen[0], tail_k)
        theta, f = _fit_tail(tail_k, warm)
        cov = _covariance(theta, tail_k)
        best = tail_k.loc + tail_k.scale * theta[_A]
        best_se = tail_k.scale * math.sqrt(cov[_A, _A]) if np.isfinite(cov[_A, _A]) else math.inf
        ks_p = _tail_ks(theta, tail_k, losses)[1]
        log_c_se = math.sqrt(cov[_LOG_C, _LOG_C]) if np.isfinite(cov[_LOG_C, _LOG_C]) else math.inf
        candidates.append(
            TailCandidate(
                k,
                sign * float(losses[k - 1]),
                sign * float(best),
                best_se,
                math.exp(theta[_LOG_C]),
                log_c_se,
                ks_p,
            )
        )
        estimate = np.array([best, float(theta[_LOG_C])])
        spread = np.array([best_se, log_c_se])
        # Lepski's rule: the new estimates must lie within lepski_width standard errors of every
        # accepted deeper tail's estimates (the deeper tail's standard errors: a biased larger tail
        # whose own fit is poor, and so has large errors, must not excuse itself).
        disagrees = any(
            np.any(np.abs(estimate - old_estimate) > lepski_width * old_spread)
            for old_estimate, old_spread in accepted
        )
        # A fit with no finite standard error for the best value, or with c at its upper bound
        # (a near-normal tail: noise explains everything), says nothing about the best value.
        degenerate = not math.isfinite(best_se) or bool(
            _at_bound(theta)[_LOG_C] and theta[_LOG_C] > 1
        )
        if chosen is not None and (disagrees or ks_p < GOF_LEVEL or (degenerate and accepted)):
            # The new tail disagrees with a deeper one, its fit has become degenerate, or the noisy
            # quadratic no longer describes it.
            break
        if not degenerate:
            accepted.append((estimate, spread))
        chosen = (tail_k, theta, f, cov)
        warm = theta
    assert chosen is not None
    tail_k, theta, f, cov = chosen
    return _finish(
        losses, tail_k, theta, f, cov, direction, confidence, tuple(candidates), n_boot, seed
    )


def _first_spread(losses: FloatArray, k: int) -> int:
    above = np.flatnonzero(losses > losses[0])
    return int(max(k, above[0] + 1))


def _restandardise(theta: FloatArray, old: _Tail, new: _Tail) -> FloatArray:
    out = theta.copy()
    out[_A] = (old.loc + old.scale * theta[_A] - new.loc) / new.scale
    out[_LOG_W] = theta[_LOG_W] + math.log(old.scale / new.scale)
    return np.clip(out, _LOWER, _UPPER)


def _finish(
    losses: FloatArray,
    tail: _Tail,
    theta: FloatArray,
    value: float,
    cov: FloatArray,
    direction: Direction,
    confidence: float,
    candidates: tuple[TailCandidate, ...],
    n_boot: int,
    seed: int,
) -> NearOptimumFit:
    n = losses.size
    se = np.sqrt(np.where(np.isfinite(np.diag(cov)), np.diag(cov), np.inf))
    chi2 = float(stats.chi2.ppf(confidence, 1))
    threshold = chi2 * (_bartlett_factor(tail, theta, n_boot, seed) if n_boot else 1.0)
    a_lo = _profile_bound(tail, theta, value, _A, -1.0, threshold, float(se[_A]))
    a_hi = _profile_bound(tail, theta, value, _A, +1.0, threshold, float(se[_A]))
    logc_lo = _profile_bound(tail, theta, value, _LOG_C, -1.0, threshold, float(se[_LOG_C]))
    logc_hi = _profile_bound(tail, theta, value, _LOG_C, +1.0, threshold, float(se[_LOG_C]))
    # Open ends: a hit on the lower bound of a means "no lower limit"; c's bounds likewise.
    a_interval = (
        tail.loc + tail.scale * a_lo if math.isfinite(a_lo) else -math.inf,
        tail.loc + tail.scale * a_hi if math.isfinite(a_hi) else math.inf,
    )
    c_interval = (
        math.exp(logc_lo) if math.isfinite(logc_lo) else 1.0,
        math.exp(logc_hi) if math.isfinite(logc_hi) else math.inf,
    )
    if direction == "maximize":
        a_interval = (-a_interval[1], -a_interval[0])
    dist = _to_distribution(theta, tail.loc, tail.scale, direction)

    ks, ks_p = _tail_ks(theta, tail, losses)
    return NearOptimumFit(
        distribution=dist,
        best=dist.best,
        best_interval=Interval(a_interval[0], a_interval[1], confidence),
        effective_dimension=dist.c,
        effective_dimension_interval=Interval(c_interval[0], c_interval[1], confidence),
        sigma=dist.sigma,
        direction=direction,
        n_trials=n,
        n_tail=tail.size,
        threshold=float(losses[tail.size - 1] * (1.0 if direction == "minimize" else -1.0)),
        tail_mass=tail.size / n,
        ks_statistic=ks,
        ks_pvalue=ks_p,
        candidates=candidates,
        _theta=theta,
        _covariance=cov,
        _loc=tail.loc,
        _scale=tail.scale,
    )
