"""Empirical tuning curves and random-search diagnostics (numpy/scipy only)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from tune_extras._validation import loss_sign

FloatArray = NDArray[np.float64]


def empirical_tuning_curve(values: ArrayLike, n: ArrayLike, direction: str) -> FloatArray:
    """Expected best of ``n`` trials drawn with replacement from the observed ones.

    The estimator of Dodge et al. 2019 ("Show Your Work"): with sorted losses ``v_(1) <= ... <= v_(N)``,
    ``E[min of n] = sum_i v_(i) [(1 - (i - 1)/N)^n - (1 - i/N)^n]``; mirrored for a score.
    """
    y = np.asarray(values, dtype=np.float64)
    sign = loss_sign(direction)
    losses = np.sort(sign * y)
    big_n = losses.size
    i = np.arange(1, big_n + 1)
    n = np.asarray(n, dtype=np.float64)
    above = (1.0 - (i - 1) / big_n)[None, :] ** n.reshape(-1, 1)
    below = (1.0 - i / big_n)[None, :] ** n.reshape(-1, 1)
    return (sign * ((above - below) @ losses)).reshape(n.shape)  # type: ignore[no-any-return]


def empirical_median_tuning_curve(
    values: ArrayLike, n: ArrayLike, direction: str, n_worse: int = 0
) -> FloatArray:
    """Median best of ``n`` trials drawn with replacement from the observed ones and ``n_worse``
    trials known only to be worse than all of them (pruned trials); NaN where that median is one
    of the unknown values.

    With sorted losses ``v_(1) <= ... <= v_(N)`` among ``M = N + n_worse`` trials,
    ``P(min of n <= v_(i)) = 1 - (1 - i/M)^n``, so the median is ``v_(i*)`` with
    ``i* = ceil(M (1 - 2^(-1/n)))``, defined while ``i* <= N``; mirrored for a score. The
    counterpart of the fitted median curve.
    """
    y = np.asarray(values, dtype=np.float64)
    sign = loss_sign(direction)
    losses = np.sort(sign * y)
    total = losses.size + n_worse
    n = np.asarray(n, dtype=np.float64)
    index = np.ceil(total * -np.expm1(-np.log(2.0) / n) - 1e-9).astype(int)
    index = np.maximum(index, 1)
    out = np.full(n.shape, np.nan)
    defined = index <= losses.size
    out[defined] = sign * losses[index[defined] - 1]
    return out


def improvement_trend(values: ArrayLike, direction: str) -> tuple[float, float]:
    """Kendall's tau between trial order and improvement, with its one-sided p-value.

    Under i.i.d. random search the values carry no trend in trial order. Adaptive samplers (TPE,
    Gaussian processes, CMA-ES) concentrate on good regions, so later trials score better: a
    significantly positive tau (values improving with trial number) says the trials were not drawn
    i.i.d., which the near-optimum theory assumes.
    """
    y = np.asarray(values, dtype=np.float64)
    sign = -loss_sign(direction)
    result = stats.kendalltau(np.arange(y.size), sign * y, alternative="greater")
    return float(result.statistic), float(result.pvalue)
