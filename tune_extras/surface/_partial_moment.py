"""Truncated fractional moments of a normal variable, the building block of the noisy quadratic law.

For ``V ~ Normal(mu, s)`` and ``k > -1`` we need

    M(k, mu, s) = E[V^k ; 0 <= V <= 1] = integral_0^1 v^k phi((v - mu) / s) / s dv,

because (Lourie, He & Cho 2025, arXiv 2510.02721, appendix) the noisy quadratic CDF and density are

    F(y) = Phi((y - b) / sigma) + M(c/2,     (y - a)/(b - a), sigma/(b - a))
    f(y) = c / (2 (b - a))     * M(c/2 - 1, (y - a)/(b - a), sigma/(b - a)).

The reference implementation evaluates these with a recursion in ``k`` plus polynomial approximations,
which ties it to integer ``c``. We use Gaussian quadrature instead, which works for any real ``k > -1``:

* Only ``[mu - W s, mu + W s]`` (``W = 9``, where the normal density is below 1e-18 of its peak)
  intersected with ``[0, 1]`` carries mass.
* If that window stays clear of 0, ``v^k`` is smooth on it and Gauss-Legendre is accurate.
* If it reaches 0, ``v^k`` is singular there; Gauss-Jacobi quadrature with weight ``(1 + x)^k`` integrates
  the singular factor exactly, leaving only the smooth normal density to the nodes. In that case the
  window is at most ``2 W s`` wide, so the normal density is resolved by the nodes.

Accuracy is better than 1e-9 absolute with 32 nodes (checked against adaptive quadrature in the tests).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy import special

_WINDOW = 9.0
_NODES = 32

FloatArray = NDArray[np.float64]


@lru_cache(maxsize=1)
def _legendre() -> tuple[FloatArray, FloatArray]:
    nodes, weights = special.roots_legendre(_NODES)
    return np.asarray(nodes, dtype=np.float64), np.asarray(weights, dtype=np.float64)


@lru_cache(maxsize=512)
def _jacobi(k: float) -> tuple[FloatArray, FloatArray]:
    nodes, weights = special.roots_jacobi(_NODES, 0.0, k)
    return np.asarray(nodes, dtype=np.float64), np.asarray(weights, dtype=np.float64)


def _normal_pdf(z: FloatArray) -> FloatArray:
    return np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)  # type: ignore[no-any-return]


def normal_partial_moment(k: float, mu: FloatArray, s: float) -> FloatArray:
    """``E[V^k ; 0 <= V <= 1]`` for ``V ~ Normal(mu, s)``, vectorised over ``mu``.

    Args:
        k: The (real) power, ``k > -1``.
        mu: Means of ``V``, any shape.
        s: Standard deviation of ``V``, ``s > 0``.
    """
    return _moment(k, mu, s, derivatives=False)[0]


def normal_partial_moment_grad(
    k: float, mu: FloatArray, s: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``M(k, mu, s)`` with its partial derivatives in ``mu`` and ``s``, from the same nodes.

    Differentiating under the integral, with ``z = (v - mu) / s``:
    ``dM/dmu = E[V^k z / s ; 0 <= V <= 1]`` and ``dM/ds = E[V^k (z^2 - 1) / s ; 0 <= V <= 1]``.
    (``k`` is fixed in every fit: the effective dimension is an integer.)
    """
    moment, d_mu, d_s = _moment(k, mu, s, derivatives=True)
    return moment, d_mu, d_s


def _moment(
    k: float, mu: FloatArray, s: float, derivatives: bool
) -> tuple[FloatArray, FloatArray, FloatArray]:
    if not k > -1.0:
        raise ValueError(f"k must be > -1, got {k}")
    if not s > 0.0:
        raise ValueError(f"s must be > 0, got {s}")
    mu = np.asarray(mu, dtype=np.float64)
    flat = mu.ravel()
    outs = [np.zeros_like(flat) for _ in range(3 if derivatives else 1)]
    lo = np.clip(flat - _WINDOW * s, 0.0, 1.0)
    hi = np.clip(flat + _WINDOW * s, 0.0, 1.0)

    def accumulate(
        mask: NDArray[np.bool_], v: FloatArray, base: FloatArray, w: FloatArray, factor: FloatArray
    ) -> None:
        z = (v - flat[mask, None]) / s
        integrand = base * _normal_pdf(z) / s
        outs[0][mask] = factor * (integrand @ w)
        if derivatives:
            outs[1][mask] = factor * ((integrand * z) @ w) / s
            outs[2][mask] = factor * ((integrand * (z * z - 1.0)) @ w) / s

    smooth = (lo > 0.0) & (hi > lo)
    if smooth.any():
        x, w = _legendre()
        lo_s = lo[smooth, None]
        half = 0.5 * (hi[smooth, None] - lo_s)
        v = lo_s + half * (x + 1.0)
        accumulate(smooth, v, v**k, w, half[:, 0])

    singular = (lo == 0.0) & (hi > 0.0)
    if singular.any():
        x, w = _jacobi(float(k))
        half = 0.5 * hi[singular, None]
        v = half * (x + 1.0)
        accumulate(singular, v, np.ones_like(v), w, half[:, 0] ** (k + 1.0))

    shaped = [out.reshape(mu.shape) for out in outs]
    if not derivatives:
        return shaped[0], shaped[0], shaped[0]
    return shaped[0], shaped[1], shaped[2]
