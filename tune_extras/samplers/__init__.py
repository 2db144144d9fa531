"""Framework-free cores of the tune-extras samplers (numpy/scipy only; no Optuna, no Ray).

The search space is modelled as the unit box (:class:`SearchSpace`); each optimiser lives in a module
of its own. The Optuna samplers in :mod:`tune_extras.optuna` are thin adapters over these cores.
"""

from tune_extras.samplers._near_optimum import NearOptimumOptimizer, Proposal
from tune_extras.samplers._quadratic import QuadraticModel, fit_quadratic
from tune_extras.samplers._space import Dimension, SearchSpace
from tune_extras.samplers._trust_region import TrustRegion, TrustRegionRules

__all__ = [
    "Dimension",
    "NearOptimumOptimizer",
    "Proposal",
    "QuadraticModel",
    "SearchSpace",
    "TrustRegion",
    "TrustRegionRules",
    "fit_quadratic",
]
