"""Near-optimum statistics of random search (Lourie, He & Cho 2025, arXiv 2510.02721).

numpy/scipy only: no Optuna, no Ray. The quadratic and noisy quadratic distributions, their tuning
curves, and the censored tail fit with an automatic threshold and confidence intervals.
"""

from tune_extras.surface._distributions import NoisyQuadraticDistribution, QuadraticDistribution
from tune_extras.surface._fit import MAX_DIMENSION, MIN_TRIALS, fit_near_optimum
from tune_extras.surface._result import Interval, NearOptimumFit, TailCandidate
from tune_extras.surface._threshold import GOF_LEVEL, MIN_TAIL, candidate_tail_sizes

__all__ = [
    "GOF_LEVEL",
    "MAX_DIMENSION",
    "MIN_TAIL",
    "MIN_TRIALS",
    "Interval",
    "NearOptimumFit",
    "NoisyQuadraticDistribution",
    "QuadraticDistribution",
    "TailCandidate",
    "candidate_tail_sizes",
    "fit_near_optimum",
]
