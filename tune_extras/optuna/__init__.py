"""Optuna adapters: pruners, samplers and the study -> trials-table loader.

Each class lives in a private module and is imported on first use.
"""

from __future__ import annotations

from tune_extras._lazy import lazy_getattr

_EXPORTS = {
    "load_trials": "._loader",
    "SuccessiveHalvingPruner": "._halving",
    "HyperbandPruner": "._halving",
    "LearningCurvePruner": "._learning_curve",
    "NearOptimumSampler": "._near_optimum_sampler",
    "RandomShareSampler": "._random_share",
    "MultiFidelitySampler": "._multi_fidelity_sampler",
    "SpareRandomDraws": "._spare_random",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
