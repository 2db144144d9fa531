"""Was this study a random search? A test of the parameters against the search distribution.

Random search draws every parameter from its distribution, independently of the trial's number and
of every other trial; an adaptive sampler (TPE, a GP, CMA-ES) concentrates its draws on good
regions. Since the search distribution is known exactly, the test is exact: each parameter value is
turned into a probability with the *randomised probability integral transform*

    u = F(x-) + V (F(x) - F(x-)),   V ~ Uniform(0, 1)

(Brockwell 2007; for a continuous ``F`` simply ``u = F(x)``), which is Uniform(0, 1) when ``x``
follows ``F``, discrete or not. ``F`` is the law of Optuna's ``RandomSampler``: uniform on
``[low, high]`` for floats (on the log scale for ``log=True``), uniform over the grid for stepped
floats and ints, the rounded log-uniform law on ``[low - 1/2, high + 1/2]`` for log ints, uniform
over the choices for categoricals. Each parameter's ``u`` are compared with Uniform(0, 1) by a
Kolmogorov-Smirnov test; the study's p-value is the smallest one times the number of parameters
(Bonferroni).

The distributions are read duck-typed (``low``, ``high``, ``log``, ``step``, ``choices``), so this
module imports no Optuna.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

#: Fewest values of a parameter for its test.
MIN_VALUES = 20


@dataclass(frozen=True)
class SamplingCheck:
    """The parameter that departs most from random search, and the study's p-value."""

    p_value: float
    parameter: str | None
    statistic: float
    n_parameters: int


def _log_int_cdf(v: np.ndarray, low: int, high: int) -> np.ndarray:
    """CDF of ``round(exp(T))``, ``T ~ Uniform(log(low - 1/2), log(high + 1/2))``, at ``v + 1/2``."""
    lo, hi = math.log(low - 0.5), math.log(high + 0.5)
    return (np.log(np.clip(v + 0.5, low - 0.5, high + 0.5)) - lo) / (hi - lo)


def transform(values: pd.Series, distribution: Any, rng: np.random.Generator) -> np.ndarray | None:
    """Randomised PIT of one parameter's values (``None`` for a distribution it does not know)."""
    choices = getattr(distribution, "choices", None)
    if choices is not None:
        index = {choice: i for i, choice in enumerate(choices)}
        try:
            k = np.array([index[v] for v in values], dtype=float)
        except (KeyError, TypeError):
            return None
        return (k + rng.random(k.size)) / len(choices)
    low, high = getattr(distribution, "low", None), getattr(distribution, "high", None)
    if low is None or high is None or not high > low:
        return None
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    if np.any(~np.isfinite(x)):
        return None
    log, step = bool(getattr(distribution, "log", False)), getattr(distribution, "step", None)
    is_int = type(distribution).__name__ == "IntDistribution"
    if is_int and log:
        lower = _log_int_cdf(x - 1.0, int(low), int(high))
        upper = _log_int_cdf(x, int(low), int(high))
        return lower + rng.random(x.size) * (upper - lower)  # type: ignore[no-any-return]
    if step is not None and not log:
        m = round((high - low) / step) + 1
        k = np.clip(np.round((x - low) / step), 0, m - 1)
        return (k + rng.random(x.size)) / m  # type: ignore[no-any-return]
    if log:
        return (np.log(x) - math.log(low)) / (math.log(high) - math.log(low))  # type: ignore[no-any-return]
    return (x - low) / (high - low)  # type: ignore[no-any-return]


def sampling_check(table: pd.DataFrame, distributions: dict[str, Any], seed: int = 0) -> SamplingCheck:
    """Test the parameters of every trial of ``table`` (columns ``params_<name>``) against the
    random-search law of ``distributions`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    results: list[tuple[float, float, str]] = []
    for name in sorted(distributions):
        column = f"params_{name}"
        if column not in table.columns:
            continue
        values = table[column].dropna()
        if len(values) < MIN_VALUES:
            continue
        u = transform(values, distributions[name], rng)
        if u is None:
            continue
        test = stats.kstest(np.clip(u, 0.0, 1.0), "uniform")
        results.append((float(test.pvalue), float(test.statistic), name))
    if not results:
        return SamplingCheck(1.0, None, 0.0, 0)
    p, statistic, name = min(results)
    return SamplingCheck(min(1.0, p * len(results)), name, statistic, len(results))
