"""Successive halving and Hyperband: rung arithmetic, brackets and decisions, framework-free.

Imports neither optuna nor ray. :class:`Hyperband` (one bracket: successive halving) is the object
the Optuna pruners (:mod:`tune_extras.optuna`) and the Ray Tune schedulers (:mod:`tune_extras.ray`)
decide with; the functions below are its parts, usable alone.
"""

from tune_extras.halving._hyperband import Hyperband, first_completed
from tune_extras.halving._rungs import (
    Rungs,
    auto_min_resource,
    is_promotable,
    latest_steps,
    promotion_candidate,
    should_stop,
    value_at,
)

__all__ = [
    "Hyperband",
    "Rungs",
    "auto_min_resource",
    "first_completed",
    "is_promotable",
    "latest_steps",
    "promotion_candidate",
    "should_stop",
    "value_at",
]
