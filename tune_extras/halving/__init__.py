"""Successive halving and Hyperband: rung arithmetic and decisions, framework-free.

Imports neither optuna nor ray; the adapters in ``tune_extras.optuna`` (and, later,
``tune_extras.ray``) feed it the reported curves.
"""

from tune_extras.halving._rungs import (
    Rungs,
    auto_min_resource,
    is_promotable,
    promotion_candidate,
    should_stop,
    value_at,
)

__all__ = [
    "Rungs",
    "auto_min_resource",
    "is_promotable",
    "promotion_candidate",
    "should_stop",
    "value_at",
]
