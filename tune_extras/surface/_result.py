"""What the fit returns: :class:`NearOptimumFit`, its :class:`Interval` and :class:`TailCandidate`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from tune_extras.surface._distributions import Direction, NoisyQuadraticDistribution
from tune_extras.surface._likelihood import LOG_C, LOG_S, LOG_W, A

FloatArray = NDArray[np.float64]


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
    """One candidate tail of the threshold search (kept for diagnostics and plots), user units."""

    n_tail: int
    threshold: float
    best: float
    c: int
    ks_pvalue: float


@dataclass(frozen=True)
class ParameterLaw:
    """Normal approximation of the fitted parameters at one ``c`` (standardised units), and the
    weight of that ``c`` (``exp(-D(c)/2)``, normalised over the plausible ``c``)."""

    theta: FloatArray
    covariance: FloatArray
    lower: FloatArray
    upper: FloatArray
    weight: float


@dataclass(frozen=True)
class NearOptimumFit:
    """The fitted noisy quadratic law of a random search, with intervals and diagnostics.

    Attributes:
        distribution: The fitted :class:`NoisyQuadraticDistribution`, in the user's direction.
        best: The extrapolated best possible (expected) value: ``a`` for a loss, ``b`` for a score.
        best_interval: Profile-likelihood interval of :attr:`best`, inside the physical bounds; an end
            the data cannot bound is ``+-inf``.
        effective_dimension, effective_dimension_interval: The integer ``c`` and the smallest and
            largest ``c`` the data do not reject (``1 <= c <= max_dimension``).
        effective_dimension_open: The interval of ``c`` reaches ``max_dimension``: the data do not
            bound ``c`` from above (its high end is the cap, not a measurement).
        sigma: Evaluation-noise scale (its estimate).
        sigma_high: When the noise is not detected, the upper end of the interval of ``sigma`` (how
            large an undetected noise can be); else ``sigma`` itself.
        noiseless: The noise is not detected: the noiseless law (``sigma = 0``) is not rejected by
            the likelihood ratio at 5% on the boundary (critical value 2.71 of the 50:50 mixture of
            chi2_0 and chi2_1, Self & Liang 1987).
        n_trials, n_tail, threshold, tail_mass: All values (with ``n_worse``), the tail fitted, the
            threshold (the worst tail value) and the share of values in the tail.
        threshold_rule: How the tail was chosen (``"auto"`` or ``"user"``).
        ks_statistic, ks_pvalue: Tie-aware Kolmogorov-Smirnov distance of the tail from the fit
            (conditioned on the tail) and its conservative p-value.
        resolution: Smallest gap between distinct tail values (``inf`` if there is one value).
        coarse, coarse_reason: The metric is too coarse to fit (too few distinct tail values); the
            fit still returns, its numbers are not to be trusted; the reason is a sentence.
        candidates: The tail sizes tried, largest first.
    """

    distribution: NoisyQuadraticDistribution
    best: float
    best_interval: Interval
    effective_dimension: int
    effective_dimension_interval: Interval
    effective_dimension_open: bool
    sigma: float
    sigma_high: float
    noiseless: bool
    direction: Direction
    n_trials: int
    n_tail: int
    threshold: float
    tail_mass: float
    ks_statistic: float
    ks_pvalue: float
    candidates: tuple[TailCandidate, ...]
    threshold_rule: str = "auto"
    resolution: float = math.inf
    coarse: bool = False
    coarse_reason: str | None = None
    _laws: tuple[ParameterLaw, ...] = field(default=(), repr=False)
    _loc: float = field(default=0.0, repr=False)
    _scale: float = field(default=1.0, repr=False)

    def parameter_draws(self, size: int, seed: int | None = 0) -> list[NoisyQuadraticDistribution]:
        """Distributions drawn from the approximate sampling law of the fit (pointwise tuning-curve
        bands): ``c`` from the plausible values with weights ``exp(-D(c)/2)``, the other parameters
        from that ``c``'s normal approximation, clipped to its box."""
        if not self._laws:
            return [self.distribution] * size
        rng = np.random.default_rng(seed)
        weights = np.array([law.weight for law in self._laws])
        picks = rng.choice(len(self._laws), size=size, p=weights / weights.sum())
        out = []
        for pick in picks:
            law = self._laws[int(pick)]
            theta = rng.multivariate_normal(law.theta, law.covariance, method="eigh")
            out.append(self._distribution(np.clip(theta, law.lower, law.upper)))
        return out

    def _distribution(self, theta: FloatArray) -> NoisyQuadraticDistribution:
        return to_distribution(theta, self._loc, self._scale, self.direction)


def to_distribution(
    theta: FloatArray, loc: float, scale: float, direction: Direction
) -> NoisyQuadraticDistribution:
    """The distribution of standardised parameters ``theta`` in the user's units and direction."""
    a = loc + scale * float(theta[A])
    w = scale * math.exp(float(theta[LOG_W]))
    c = round(math.exp(float(theta[LOG_C])))
    sigma = w * math.exp(float(theta[LOG_S]))
    if direction == "minimize":
        return NoisyQuadraticDistribution(a, a + w, c, sigma, "minimize")
    return NoisyQuadraticDistribution(-(a + w), -a, c, sigma, "maximize")
