"""Candidate tails in standardised units, with ties and rounding handled as grouped data.

A tail is the ``k`` smallest of ``n`` losses. It is standardised to ``z = (loss - loc) / scale`` with
``loc`` the smallest loss and ``scale`` the spread of the tail, so that every fit works on ``[0, 1]``.
The fit criterion is a grouped log-likelihood over bins ``(L_j, U_j]`` with counts ``r_j``:

    S = sum_j r_j log(F(U_j) - F(L_j)) + m log(1 - F(T))

* **Continuous values** (few ties): the bins end at the distinct observed values,
  ``(v_{j-1}, v_j]`` with ``F(v_0) = 0``: the maximum-product-of-spacings criterion (Cheng & Amin
  1983), bounded above where the plain likelihood is not (``c < 2``, ``sigma -> 0``). ``T = v_J``.
* **Rounded values** (a metric on a grid of resolution ``h``, e.g. accuracy on a few hundred examples,
  detected by many ties): each value stands for the grid cell ``(v - h/2, v + h/2]``, the exact
  likelihood of rounded data (Lindley 1950); ``T = v_J + h/2``.

``m`` counts the censored observations: the ``n - k`` values past the tail plus ``n_worse`` (pruned
trials, known only to be worse); when nothing is censored ``m = 1``, the last spacing of MPS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: The continuous criterion keeps this many of the best distinct values as bins of their own;
#: past them, neighbouring values are grouped in bins growing by :data:`BIN_GROWTH` (Kulldorff
#: 1961: grouped data lose little information; the best values, which locate the bowl's bottom,
#: keep all of theirs).
FINE_BINS = 64
BIN_GROWTH = 1.04
#: Values are treated as rounded when the tail has fewer than this share of distinct values.
ROUNDED_SHARE = 0.9


@dataclass(frozen=True)
class Tail:
    """A candidate tail in standardised units, as grouped data."""

    edges: FloatArray  # sorted distinct bin edges (z units)
    lower: IntArray  # per bin: index into ``edges`` of its lower edge, -1 for F = 0
    upper: IntArray  # per bin: index into ``edges`` of its upper edge
    counts: FloatArray  # observations per bin
    values: FloatArray  # distinct tail values (z units), for the goodness-of-fit test
    value_counts: FloatArray
    n_censored: int  # values past the tail plus pruned trials
    loc: float
    scale: float
    half_width: float  # half the rounding resolution in z units, 0 for continuous values

    @property
    def size(self) -> int:
        return int(self.counts.sum())

    @property
    def n_total(self) -> int:
        return self.size + self.n_censored

    @property
    def top(self) -> int:
        """Index into ``edges`` of the censoring point ``T``."""
        return int(self.upper[-1])


def resolution(sorted_values: FloatArray) -> float:
    """Smallest gap between distinct values (``inf`` for a single distinct value).

    Gaps below ``1e-9`` of the range are float noise of a computed metric (``1 - accuracy``), not
    distinct values.
    """
    distinct = np.unique(sorted_values)
    if distinct.size < 2:
        return float("inf")
    gaps = np.diff(distinct)
    real = gaps[gaps > 1e-9 * float(distinct[-1] - distinct[0])]
    return float(real.min()) if real.size else float("inf")


def is_rounded(sorted_values: FloatArray) -> bool:
    """Whether the values look like a metric on a grid: many ties."""
    distinct = np.unique(sorted_values).size
    return distinct < ROUNDED_SHARE * sorted_values.size


def group_ends(n_values: int) -> IntArray:
    """Indices of the last distinct value of each bin: the first :data:`FINE_BINS` alone, then
    groups growing geometrically, the last bin ending at the last value."""
    ends = list(range(min(n_values, FINE_BINS)))
    while ends[-1] < n_values - 1:
        ends.append(min(n_values - 1, max(ends[-1] + 1, math.ceil((ends[-1] + 1) * BIN_GROWTH) - 1)))
    return np.array(ends, dtype=np.intp)


def make_tail(sorted_losses: FloatArray, k: int, n_worse: int = 0, grid: float = 0.0) -> Tail:
    """The ``k`` smallest losses as a :class:`Tail`; ``grid > 0`` is the rounding resolution."""
    loc = float(sorted_losses[0])
    scale = float(sorted_losses[k - 1] - loc)
    values, raw_counts = np.unique((sorted_losses[:k] - loc) / scale, return_counts=True)
    counts = raw_counts.astype(np.float64)
    n_censored = len(sorted_losses) - k + n_worse
    if grid > 0:
        half = 0.5 * grid / scale
        edges = np.unique(np.concatenate([values - half, values + half]))
        lower = np.searchsorted(edges, values - half).astype(np.intp)
        upper = np.searchsorted(edges, values + half).astype(np.intp)
        return Tail(edges, lower, upper, counts, values, counts, n_censored, loc, scale, half)
    cut = group_ends(values.size)
    edges = values[cut]
    bin_counts = np.diff(np.cumsum(counts)[cut], prepend=0.0)
    index = np.arange(edges.size, dtype=np.intp)
    return Tail(edges, index - 1, index, bin_counts, values, counts, n_censored, loc, scale, 0.0)


def restandardise(theta: FloatArray, old: Tail, new: Tail) -> FloatArray:
    """Parameters ``(a, log w, ...)`` of ``old``'s units in ``new``'s units."""
    out = theta.copy()
    out[0] = (old.loc + old.scale * theta[0] - new.loc) / new.scale
    out[1] = theta[1] + np.log(old.scale / new.scale)
    return out
