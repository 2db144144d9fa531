"""The fit criterion of a tail, its gradient, and a tie-aware goodness-of-fit statistic.

Parameters are ``theta = (a, log w, log c, log s)`` in the tail's standardised units
(:mod:`tune_extras.surface._tail`): best loss ``a``, width ``w = b - a``, effective dimension ``c``,
relative noise ``s = sigma / w``. The CDF (Lourie, He & Cho 2025, arXiv 2510.02721):

``F(z) = Phi((mu - 1) / s) + M(c/2, mu, s)`` with ``mu = (z - a) / w`` and ``M`` the truncated normal
moment of :mod:`tune_extras.surface._partial_moment`. At the smallest noise of the box (``s = 1e-6``)
this is the noiseless quadratic law to every printed digit, so one model serves both cases.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

from tune_extras.surface._partial_moment import normal_partial_moment, normal_partial_moment_grad
from tune_extras.surface._tail import Tail

FloatArray = NDArray[np.float64]

A, LOG_W, LOG_C, LOG_S = range(4)
_TINY = 1e-300


def cdf(theta: FloatArray, z: FloatArray) -> FloatArray:
    """Model CDF at ``z`` (standardised units)."""
    a, w, c, s = float(theta[A]), math.exp(theta[LOG_W]), math.exp(theta[LOG_C]), math.exp(theta[LOG_S])
    mu = (np.asarray(z, dtype=np.float64) - a) / w
    return special.ndtr((mu - 1.0) / s) + normal_partial_moment(c / 2.0, mu, s)  # type: ignore[no-any-return]


def cdf_and_grad(theta: FloatArray, z: FloatArray) -> tuple[FloatArray, FloatArray]:
    """CDF at ``z`` and its analytic gradient in ``theta`` (shape ``(len(z), 4)``; the column of
    ``log c``, fixed in every fit, is 0)."""
    a, log_w, log_c, log_s = (float(t) for t in theta)
    w, c, s = math.exp(log_w), math.exp(log_c), math.exp(log_s)
    mu = (z - a) / w
    k = c / 2.0
    upper_z = (mu - 1.0) / s
    upper_pdf = np.exp(-0.5 * upper_z * upper_z) / math.sqrt(2.0 * math.pi) / s
    moment, d_mu, d_s = normal_partial_moment_grad(k, mu, s)
    value = special.ndtr(upper_z) + moment
    d_mu = d_mu + upper_pdf
    d_s = d_s - upper_pdf * upper_z
    grad = np.column_stack([-d_mu / w, -d_mu * mu, np.zeros_like(mu), d_s * s])
    return value, grad


def criterion(theta: FloatArray, tail: Tail, gradient: bool = True) -> tuple[float, FloatArray]:
    """``-S`` (to minimise) and its gradient ``-dS``, with ``S`` the grouped log-likelihood of
    :mod:`tune_extras.surface._tail`: ``dS = sum_j r_j (dF(U_j) - dF(L_j)) / p_j - m dF(T) / (1 - F(T))``.
    """
    if gradient:
        f, df = cdf_and_grad(theta, tail.edges)
    else:
        f, df = cdf(theta, tail.edges), np.zeros((tail.edges.size, 4))
    f_ext = np.concatenate([[0.0], f])
    p = np.maximum(f_ext[tail.upper + 1] - f_ext[tail.lower + 1], _TINY)
    survival = max(1.0 - float(f[tail.top]), _TINY)
    m = tail.n_censored if tail.n_censored else 1
    value = float(tail.counts @ np.log(p)) + m * math.log(survival)
    if not gradient:
        return -value, df[:0]
    df_ext = np.vstack([np.zeros((1, 4)), df])
    dp = df_ext[tail.upper + 1] - df_ext[tail.lower + 1]
    grad = (tail.counts / p) @ dp - m * df[tail.top] / survival
    return -value, -grad


def objective(theta: FloatArray, tail: Tail) -> float:
    """``-S`` alone."""
    return criterion(theta, tail, gradient=False)[0]


def tail_ks(theta: FloatArray, tail: Tail) -> tuple[float, float]:
    """Kolmogorov-Smirnov distance of the tail from the fit conditioned on the tail, and a p-value.

    Tie-aware: the empirical CDF is compared with the model only at the distinct values (and just
    below them), so tied values make one jump; for rounded values the model CDF of a grid value
    ``v`` is ``F(v + h/2)``. The p-value is the continuous one with ``k`` values, which is
    conservative for discrete data and for estimated parameters (large p-values: the test rejects
    only clear misfits).
    """
    k = tail.size
    z = tail.values
    model = cdf(theta, np.concatenate([z + tail.half_width, [z[-1] + tail.half_width]]))
    top = max(float(model[-1]), _TINY)
    conditional = np.minimum(model[:-1] / top, 1.0)
    ecdf = np.cumsum(tail.value_counts) / k
    below = np.concatenate([[0.0], ecdf[:-1]])
    model_below = np.concatenate([[0.0], conditional[:-1]])
    if tail.half_width == 0.0:
        # Continuous model: just below v_j the model is at F(v_j) (no mass in between).
        model_below = conditional
    ks = float(max(np.max(np.abs(ecdf - conditional)), np.max(np.abs(below - model_below))))
    return ks, float(stats.kstwo.sf(ks, k))
