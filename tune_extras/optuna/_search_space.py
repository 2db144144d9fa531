"""Optuna distributions and trials in the unit-box encoding of :mod:`tune_extras.samplers`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial

from tune_extras.samplers._space import Dimension, FloatArray, IntArray, SearchSpace


def dimension_from_distribution(name: str, distribution: BaseDistribution) -> Dimension:
    """The :class:`Dimension` of an Optuna distribution (float, int, log, stepped, categorical)."""
    if isinstance(distribution, FloatDistribution):
        return Dimension(
            name, "float", distribution.low, distribution.high, distribution.log, distribution.step
        )
    if isinstance(distribution, IntDistribution):
        return Dimension(
            name, "int", distribution.low, distribution.high, distribution.log, distribution.step
        )
    if isinstance(distribution, CategoricalDistribution):
        return Dimension(name, "categorical", choices=tuple(distribution.choices))
    raise ValueError(f"parameter {name!r} has an unsupported distribution {distribution!r}")


def search_space_from_distributions(distributions: Mapping[str, BaseDistribution]) -> SearchSpace:
    """The :class:`SearchSpace` of a mapping name -> Optuna distribution, in sorted name order."""
    return SearchSpace(
        [dimension_from_distribution(name, distributions[name]) for name in sorted(distributions)]
    )


def encode_trials(space: SearchSpace, trials: Sequence[FrozenTrial]) -> tuple[FloatArray, IntArray]:
    """Unit coordinates and choice indices of trials that hold every parameter of ``space``.

    Callers keep only such trials (``set(space.names) <= trial.params.keys()``); a trial whose value
    of a parameter lies outside the space's current range (a range that changed mid-study) is clipped
    into the unit box.
    """
    if not trials:
        return (
            np.empty((0, len(space.numeric)), dtype=np.float64),
            np.empty((0, len(space.categorical)), dtype=np.int64),
        )
    return space.encode_many([trial.params for trial in trials])
