"""Choosing the tail size: where the bowl shape stops describing the values.

Only the best values of a random search follow the noisy quadratic law; the rest are censored
(:mod:`tune_extras.surface._tail`). The rule (measured against the alternatives in
``benchmarks/suite_analyzer.py``, numbers in docs/analyzer.md):

From the whole sample down a geometric grid of tail sizes (:func:`candidate_tail_sizes`), keep the
**largest tail that fits and agrees with the deeper tails**:

1. *it fits*: the tie-aware Kolmogorov-Smirnov test of the tail against the fit conditioned on the
   tail does not reject (p >= :data:`GOF_LEVEL`);
2. *it is stable*: its best value ``a`` and effective dimension ``c`` lie inside the 95% profile-
   likelihood regions (deviance <= :data:`STABILITY_DEVIANCE`) of each of the next
   :data:`STABILITY_DEPTH` deeper tails.

Deeper tails are less biased (the bowl describes them better) but noisier; a tail that reaches past
the bowl bends the fit (typically a larger noise and a shallower ``a``), which the deeper tails
reject. Under the law itself the deeper tail's estimate differs from the larger tail's by less than
its own standard error (the two are nested: the variance of the difference is the difference of
the variances): with tails 1.5 times apart the deviance is about a third of a chi2_1 variable, so a
95% region rejects a good tail about once in a thousand comparisons. A goodness-of-fit test alone
has little power against such a bend, because the noise parameter absorbs it.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from tune_extras.surface._dimension import TailFit, fit_tail
from tune_extras.surface._result import TailCandidate
from tune_extras.surface._tail import make_tail

FloatArray = NDArray[np.float64]

#: Fewest tail values in the deepest candidate tail.
MIN_TAIL = 12
#: A tail fits when its KS p-value is at least this.
GOF_LEVEL = 0.05
#: Deviance (chi2_1 quantile 0.95) above which a deeper tail rejects a larger tail's ``a`` or ``c``.
STABILITY_DEVIANCE = 3.841
#: How many deeper candidates each tail is checked against.
STABILITY_DEPTH = 2


def candidate_tail_sizes(n: int, min_tail: int = MIN_TAIL, ratio: float = 1.5) -> list[int]:
    """Geometric grid of tail sizes ``k_min, ratio k_min, ..., n`` with ``k_min = max(min_tail, sqrt n)``."""
    k = max(min_tail, math.ceil(math.sqrt(n)))
    sizes = []
    while k < n:
        sizes.append(k)
        k = math.ceil(k * ratio)
    sizes.append(n)
    return sizes


def candidate(fit: TailFit, sign: float) -> TailCandidate:
    """The summary of one candidate tail kept in the result (user units)."""
    tail = fit.tail
    top = tail.loc + tail.scale * float(tail.values[-1])
    return TailCandidate(
        n_tail=tail.size,
        threshold=sign * top,
        best=sign * fit.a_in_loss_units(),
        c=fit.best_c,
        ks_pvalue=fit.ks_pvalue,
    )


def _stable(deep: TailFit, wide: TailFit) -> bool:
    """Whether ``wide``'s ``a`` and ``c`` lie inside ``deep``'s 95% profile regions."""
    if deep.deviance_of_c(wide.best_c) > STABILITY_DEVIANCE:
        return False
    return deep.deviance_of_a(wide.a_in_loss_units(), STABILITY_DEVIANCE) <= STABILITY_DEVIANCE


def choose_tail(
    losses: FloatArray,
    sizes: list[int],
    sign: float,
    n_worse: int,
    grid: float,
    a_range: tuple[float, float],
    max_dimension: int,
) -> tuple[TailFit, list[TailCandidate]]:
    """The fit of the largest tail of ``sizes`` that fits and is stable (see the module); the
    smallest when none is. ``losses`` sorted, ``sign`` turns them back into the user's values."""
    order = sorted(sizes, reverse=True)
    fits: list[TailFit] = []

    def get(i: int) -> TailFit:
        while len(fits) <= i:
            k = order[len(fits)]
            tail = make_tail(losses, k, n_worse, grid)
            fits.append(fit_tail(tail, a_range, max_dimension, fits[-1] if fits else None))
        return fits[i]

    chosen = len(order) - 1
    for i in range(len(order)):
        if get(i).ks_pvalue < GOF_LEVEL:
            continue
        deeper = range(i + 1, min(i + 1 + STABILITY_DEPTH, len(order)))
        if all(_stable(get(j), fits[i]) for j in deeper):
            chosen = i
            break
    return get(chosen), [candidate(fit, sign) for fit in fits]


__all__ = ["GOF_LEVEL", "MIN_TAIL", "candidate", "candidate_tail_sizes", "choose_tail"]
