"""Near-optimum statistics of random search (Lourie, He & Cho 2025, arXiv 2510.02721).

numpy/scipy only: no Optuna, no Ray. The quadratic and noisy quadratic distributions, their tuning
curves, and the censored tail fit with an automatic threshold and confidence intervals.
"""

from tune_extras.surface._distributions import NoisyQuadraticDistribution, QuadraticDistribution
from tune_extras.surface._fit import (
    MIN_TRIALS,
    Interval,
    NearOptimumFit,
    TailCandidate,
    candidate_tail_sizes,
    fit_near_optimum,
)

__all__ = [
    "MIN_TRIALS",
    "Interval",
    "NearOptimumFit",
    "NoisyQuadraticDistribution",
    "QuadraticDistribution",
    "TailCandidate",
    "candidate_tail_sizes",
    "fit_near_optimum",
]
