"""A Parzen (kernel density) estimator on the unit box times categorical choices.

The density of a point ``(x, c)`` (``x`` in ``[0, 1]^p`` numeric coordinates, ``c`` the choice indices
of ``q`` categorical dimensions) given ``n`` observations ``(mu_i, k_i)`` is the equal-weight mixture

    p(x, c) = (1/n) sum_i  prod_j N_[0,1](x_j; mu_ij, h_j)  prod_l A(c_l; k_il, lambda_l)

with

* ``N_[0,1](.; mu, h)``: a Gaussian of mean ``mu`` and standard deviation ``h`` truncated to ``[0, 1]``
  (renormalised by ``Phi((1 - mu)/h) - Phi(-mu/h)``, so that every kernel, and the mixture,
  integrates to 1 over the box);
* ``A(c; k, lambda)``: the Aitchison-Aitken kernel (Aitchison & Aitken 1976) on ``m`` unordered
  choices, ``1 - lambda`` when ``c == k`` and ``lambda / (m - 1)`` otherwise.

Bandwidths (:func:`bandwidths`):

* numeric: the normal-reference rule that BOHB uses (Falkner, Klein & Hutter 2018, through
  statsmodels' ``KDEMultivariate``), ``h_j = 1.06 sd_j n^(-1/(d + 4))`` with ``d = p + q``, floored at
  ``min_bandwidth`` (BOHB: 1e-3) and capped at 1 (the width of the box);
* categorical: ``lambda_l = (m_l - 1) / (n + m_l)``, the bandwidth for which the mixture's marginal
  is the add-one (Laplace) estimate ``(count(c) + 1) / (n + m)``: no choice ever has probability 0.

``bandwidth_factor`` widens both (``h * factor``, ``lambda * factor`` capped at ``(m - 1)/m``, the
uniform kernel): BOHB draws its candidates from the widened density (factor 3) and scores them with the
plain one.

numpy and scipy only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import special

from tune_extras.samplers._space import FloatArray, IntArray

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def bandwidths(
    unit: FloatArray,
    n_choices: Sequence[int],
    min_bandwidth: float = 1e-3,
    bandwidth_factor: float = 1.0,
) -> tuple[FloatArray, FloatArray]:
    """Numeric bandwidths ``h`` (shape ``(p,)``) and categorical ones ``lambda`` (shape ``(q,)``).

    See the module docstring for the rules. ``unit`` has shape ``(n, p)`` with ``n >= 1``.
    """
    unit = np.asarray(unit, dtype=np.float64)
    n = unit.shape[0]
    if n < 1:
        raise ValueError("a Parzen estimator needs at least one observation")
    d = unit.shape[1] + len(n_choices)
    if unit.shape[1]:
        sd = unit.std(axis=0, ddof=1) if n > 1 else np.zeros(unit.shape[1])
        h = 1.06 * sd * n ** (-1.0 / (d + 4))
        h = np.clip(np.maximum(h, min_bandwidth) * bandwidth_factor, min_bandwidth, 1.0)
    else:
        h = np.empty(0)
    lam = np.array(
        [
            min((m - 1) / (n + m) * bandwidth_factor, (m - 1) / m) if m > 1 else 0.0
            for m in n_choices
        ],
        dtype=np.float64,
    )
    return np.asarray(h, dtype=np.float64), lam


class ParzenEstimator:
    """Equal-weight product-kernel mixture over observations (see the module docstring).

    Args:
        unit: Numeric coordinates of the observations, shape ``(n, p)``, in ``[0, 1]``.
        indices: Choice indices of the observations, shape ``(n, q)``.
        n_choices: Number of choices of each categorical dimension (length ``q``).
        min_bandwidth: Floor of the numeric bandwidths (default 1e-3, BOHB's).
        bandwidth_factor: Widening of every bandwidth (default 1).

    Example:
        >>> import numpy as np
        >>> kde = ParzenEstimator(np.array([[0.2], [0.3], [0.8]]), np.zeros((3, 0), dtype=np.int64), [])
        >>> grid = np.linspace(0, 1, 20001)[:, None]
        >>> density = np.exp(kde.log_pdf(grid, np.zeros((20001, 0), dtype=np.int64)))
        >>> round(float(np.trapezoid(density, grid[:, 0])), 4)
        1.0
    """

    def __init__(
        self,
        unit: FloatArray,
        indices: IntArray,
        n_choices: Sequence[int],
        min_bandwidth: float = 1e-3,
        bandwidth_factor: float = 1.0,
    ) -> None:
        if not min_bandwidth > 0:
            raise ValueError(f"min_bandwidth must be > 0, got {min_bandwidth!r}")
        if not bandwidth_factor > 0:
            raise ValueError(f"bandwidth_factor must be > 0, got {bandwidth_factor!r}")
        self.unit = np.clip(np.asarray(unit, dtype=np.float64), 0.0, 1.0)
        self.indices = np.asarray(indices, dtype=np.int64)
        self.n_choices = tuple(int(m) for m in n_choices)
        n = self.unit.shape[0]
        if self.indices.shape != (n, len(self.n_choices)):
            raise ValueError(
                f"indices must have shape {(n, len(self.n_choices))}, got {self.indices.shape}"
            )
        self.h, self.lam = bandwidths(self.unit, self.n_choices, min_bandwidth, bandwidth_factor)
        # log of each kernel's truncation mass, shape (n, p)
        lower = special.ndtr(-self.unit / self.h)
        upper = special.ndtr((1.0 - self.unit) / self.h)
        self._log_mass = np.log(np.maximum(upper - lower, 1e-300))

    @property
    def n(self) -> int:
        return int(self.unit.shape[0])

    def log_pdf(self, unit: FloatArray, indices: IntArray) -> FloatArray:
        """Log density at ``m`` points (shapes ``(m, p)`` and ``(m, q)``): shape ``(m,)``."""
        x = np.asarray(unit, dtype=np.float64)
        c = np.asarray(indices, dtype=np.int64)
        # (m, n) log kernel products
        z = (x[:, None, :] - self.unit[None, :, :]) / self.h
        log_k = np.sum(-0.5 * z**2 - _LOG_SQRT_2PI - np.log(self.h) - self._log_mass, axis=2)
        for j, m in enumerate(self.n_choices):
            lam = self.lam[j]
            same = c[:, None, j] == self.indices[None, :, j]
            if m > 1:
                log_k = log_k + np.where(same, math.log1p(-lam), math.log(lam / (m - 1)))
        top = log_k.max(axis=1, keepdims=True)
        out = top[:, 0] + np.log(np.mean(np.exp(log_k - top), axis=1))
        return np.asarray(out, dtype=np.float64)

    def sample(self, rng: np.random.Generator, size: int) -> tuple[FloatArray, IntArray]:
        """``size`` draws: a kernel picked uniformly, then each coordinate from it."""
        pick = rng.integers(self.n, size=size)
        mu = self.unit[pick]
        h = self.h[None, :]
        lower = special.ndtr(-mu / h)
        upper = special.ndtr((1.0 - mu) / h)
        u = lower + rng.random(mu.shape) * (upper - lower)
        x = np.clip(mu + h * special.ndtri(np.clip(u, 1e-300, 1.0 - 1e-16)), 0.0, 1.0)
        c = self.indices[pick].copy()
        for j, m in enumerate(self.n_choices):
            if m < 2:
                continue
            move = rng.random(size) < self.lam[j]
            # a uniform choice among the m - 1 others
            other = (c[:, j] + 1 + rng.integers(m - 1, size=size)) % m
            c[:, j] = np.where(move, other, c[:, j])
        return np.asarray(x, dtype=np.float64), np.asarray(c, dtype=np.int64)


__all__ = ["ParzenEstimator", "bandwidths"]
