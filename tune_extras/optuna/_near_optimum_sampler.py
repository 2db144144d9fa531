"""Optuna adapter of :class:`tune_extras.samplers.NearOptimumOptimizer`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler, TPESampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from tune_extras.optuna._random_share import random_law_draw
from tune_extras.optuna._search_space import encode_trials, search_space_from_distributions
from tune_extras.samplers._near_optimum import NearOptimumOptimizer, sobol_point
from tune_extras.samplers._trust_region import TrustRegionRules

if TYPE_CHECKING:
    from optuna.study import Study

#: System attribute recording which kind of step proposed a trial ("startup", "local", "explore",
#: "tpe"): the trust region is rebuilt from it by replaying the finished trials.
STEP_ATTR = "tune_extras.near_optimum.step"


class NearOptimumSampler(BaseSampler):
    """Quasi-random start, then local quadratic-model steps in a trust region; TPE for the rest.

    Near its optimum a hyperparameter loss surface is a quadratic in a few effective directions
    (Lourie, He & Cho 2025, arXiv 2510.02721). This sampler finds the basin with scrambled Sobol
    points, then fits the least-norm quadratic model (Powell's NEWUOA idea, written as a degree-2
    kernel ridge fit with a leave-one-out ridge) to the widest neighbourhood of the incumbent that it
    describes within the noise, and proposes the model's minimiser inside a trust region that doubles
    after successes and halves after failures (TuRBO, Eriksson et al. 2019) and restarts at its
    initial side when it collapses. The core is
    :class:`tune_extras.samplers.NearOptimumOptimizer`.

    Use it when most hyperparameters are numeric (float, log, int with many values) and trials are
    expensive enough that a good configuration sooner matters; it costs a few milliseconds per trial
    (see ``docs/samplers.md`` for the measured gains and when not to use it).

    **What is modelled.** The *intersection* of the search spaces of the finished and pruned trials
    (:class:`optuna.search_space.IntersectionSearchSpace`, as TPE's multivariate mode), without
    single-valued distributions. Its numeric parameters that are continuous or have at least
    ``min_grid_levels`` values (float, log-float, int, log-int, stepped; the unit-box encoding of
    :mod:`tune_extras.samplers`, proposals snapped to the grids) go to the local model. Its other
    parameters (categoricals, ints with few values) keep the incumbent's values during a local step,
    and the model is fitted to the trials that share them (when at least ``n_startup_trials`` do).
    **An inner** :class:`optuna.samplers.TPESampler` (seeded per trial from ``seed``) **samples the
    rest**: the whole trial at exploration steps (every ``explore_every``-th trial; by default every
    third when the space has parameters the model does not take), parameters outside the
    intersection (define-by-run and conditional spaces) after the start-up, and every trial when no
    parameter is modelled (then the sampler *is* TPE). During the start-up the relative space follows
    one scrambled Sobol point per trial (a categorical takes choice ``floor(u * n_choices)``) and
    other parameters Optuna's random law.
    This composition is deliberate: TPE was best on the tabular and categorical benchmark tasks, the
    local model on numeric ones. Which kind of step proposed a trial is stored in its system attribute
    ``"tune_extras.near_optimum.step"`` (``"startup"``, ``"local"``, ``"explore"`` or ``"tpe"``).

    **State.** None is kept between calls: the trust region is rebuilt on every call by replaying the
    finished trials in trial-number order (which of them were local steps is read from that
    attribute). So the sampler works with ``n_jobs > 1``, RDB and journal storages and several
    processes, and pickles. Running and pruned trials are never proposed again: a local step within
    5% of the region's side of one becomes a random point of the region, and when running trials have
    no parameters yet (asked at the same time) each step jitters the model's minimiser by its own
    randomness. Randomness of a trial derives from ``(seed, trial.number)``: with ``n_jobs=1`` a
    seeded study is reproducible, and two processes given the same seed do not repeat each other.

    Args:
        seed: Seed of the Sobol scrambling, of the per-trial randomness and of the inner TPE
            (default ``None``: random).
        n_startup_trials: Sobol trials before the first model step, ``>= 1`` (default 10).
        explore_every: After the start, every ``explore_every``-th trial is sampled by TPE
            (``0``: never; otherwise ``>= 2``; default ``None``: 3 when some parameter of the space is
            not modelled, else 0).
        initial_length: Initial side of the trust region in unit-box coordinates, in ``(0, 1]``
            (default 0.4).
        max_model_points: Most trials the quadratic model is fitted to, ``>= 2`` (default 100).
        min_grid_levels: Fewest values an int or stepped parameter needs to be modelled, ``>= 2``
            (default 16); coarser ones are handled like categoricals.

    Raises:
        ValueError: At construction, for an argument out of range; in a study with several
            objectives, at the first trial (the sampler is single-objective).

    Example:
        >>> import optuna
        >>> from tune_extras.optuna import NearOptimumSampler
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> def objective(trial):
        ...     x = trial.suggest_float("x", -5, 5)
        ...     y = trial.suggest_float("y", -5, 5)
        ...     return (x - 1) ** 2 + 10 * (y + 2) ** 2
        >>> study = optuna.create_study(sampler=NearOptimumSampler(seed=0))
        >>> study.optimize(objective, n_trials=40)
        >>> study.best_value < 1e-3
        True
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        n_startup_trials: int = 10,
        explore_every: int | None = None,
        initial_length: float = 0.4,
        max_model_points: int = 100,
        min_grid_levels: int = 16,
    ) -> None:
        if n_startup_trials < 1:
            raise ValueError(f"n_startup_trials must be >= 1, got {n_startup_trials}")
        if explore_every is not None and (explore_every < 0 or explore_every == 1):
            raise ValueError(f"explore_every must be 0 or >= 2, got {explore_every}")
        if not 0.0 < initial_length <= 1.0:
            raise ValueError(f"initial_length must be in (0, 1], got {initial_length}")
        if max_model_points < 2:
            raise ValueError(f"max_model_points must be >= 2, got {max_model_points}")
        if min_grid_levels < 2:
            raise ValueError(f"min_grid_levels must be >= 2, got {min_grid_levels}")
        self._seed = int(np.random.SeedSequence().entropy % 2**32) if seed is None else int(seed)  # type: ignore[operator]
        self._n_startup_trials = n_startup_trials
        self._explore_every = explore_every
        self._initial_length = initial_length
        self._max_model_points = max_model_points
        self._min_grid_levels = min_grid_levels
        self._space_cache: tuple[tuple[int, int], IntersectionSearchSpace] | None = None

    def reseed_rng(self) -> None:
        self._seed = int(np.random.SeedSequence().entropy % 2**32)  # type: ignore[operator]

    def _tpe(self, trial: FrozenTrial, purpose: str) -> TPESampler:
        """A fresh TPE seeded from ``(seed, trial number, purpose)``: no random state between calls."""
        words = [self._seed, trial.number, *purpose.encode()]
        seed = int(np.random.SeedSequence(words).generate_state(1)[0])
        return TPESampler(seed=seed, n_startup_trials=self._n_startup_trials)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        self._raise_error_if_multi_objective(study)
        # TPE's relative space: the intersection of the finished (and pruned) trials' spaces,
        # without single-valued distributions. The numeric part is modelled here. The intersection
        # is computed incrementally (a cache of the stored trials, as TPESampler keeps), one cache
        # per study and storage.
        key = (id(study._storage), study._study_id)
        if self._space_cache is None or self._space_cache[0] != key:
            self._space_cache = (key, IntersectionSearchSpace(include_pruned=True))
        return {
            name: distribution
            for name, distribution in self._space_cache[1].calculate(study, use_cache=True).items()
            if not distribution.single()
        }

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_space_cache"] = None  # keyed by object ids of this process
        return state

    def _modelled(self, distribution: BaseDistribution) -> bool:
        """Whether the local model takes a parameter: numeric, continuous or on a fine grid."""
        if isinstance(distribution, FloatDistribution) and distribution.step is None:
            return True
        if isinstance(distribution, FloatDistribution | IntDistribution):
            assert distribution.step is not None
            levels = (distribution.high - distribution.low) / distribution.step + 1
            return levels >= self._min_grid_levels
        return False

    def _optimizer(self, dim: int, mixed: bool) -> NearOptimumOptimizer:
        rules = TrustRegionRules(
            initial_length=self._initial_length,
            min_length=min(2.0**-7, 0.5 * self._initial_length),
            failure_tolerance=int(np.clip(dim, 4, 10)),
        )
        explore_every = self._explore_every
        if explore_every is None:
            explore_every = 3 if mixed else 0
        return NearOptimumOptimizer(
            dim,
            seed=self._seed,
            n_startup=self._n_startup_trials,
            explore_every=explore_every,
            rules=rules,
            max_model_points=self._max_model_points,
        )

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        self._raise_error_if_multi_objective(study)
        trials = study._get_trials(
            deepcopy=False,
            states=(TrialState.COMPLETE, TrialState.RUNNING, TrialState.PRUNED),
            use_cache=True,
        )
        names = set(search_space)
        finished = sorted(
            (t for t in trials if t.state == TrialState.COMPLETE and names <= t.params.keys()),
            key=lambda t: t.number,
        )
        n_finite = sum(1 for t in finished if t.value is not None and math.isfinite(t.value))
        if n_finite < self._n_startup_trials:
            self._mark(study, trial, "startup")
            return self._sobol_params(search_space, trial.number) if search_space else {}
        modelled = {n: d for n, d in search_space.items() if self._modelled(d)}
        if not modelled:
            self._mark(study, trial, "tpe")
            return self._tpe(trial, "relative").sample_relative(study, trial, search_space)
        others = [n for n in search_space if n not in modelled]
        space = search_space_from_distributions(modelled)
        busy = [t for t in trials if t.state != TrialState.COMPLETE and t.number != trial.number]
        known = [t for t in busy if set(modelled) <= t.params.keys()]
        n_unknown = sum(1 for t in busy if t.state == TrialState.RUNNING) - sum(
            1 for t in known if t.state == TrialState.RUNNING
        )
        sign = 1.0 if study.direction == StudyDirection.MINIMIZE else -1.0
        values = np.array([sign * float(t.value) for t in finished], dtype=np.float64)  # type: ignore[arg-type]
        incumbent_others: dict[str, Any] = {}
        if others:
            best = finished[int(np.argmin(np.where(np.isfinite(values), values, np.inf)))]
            incumbent_others = {n: best.params[n] for n in others}
            same = [all(t.params[n] == v for n, v in incumbent_others.items()) for t in finished]
            if sum(same) >= self._n_startup_trials:
                values = values[np.array(same)]
                finished = [t for t, keep in zip(finished, same, strict=True) if keep]
        proposal = self._optimizer(len(space.numeric), bool(others)).propose(
            encode_trials(space, finished)[0],
            values,
            [t.system_attrs.get(STEP_ATTR) == "local" for t in finished],
            index=trial.number,
            running=encode_trials(space, known)[0],
            snap=space.snap,
            n_unknown_running=n_unknown,
        )
        self._mark(study, trial, proposal.kind)
        if proposal.kind == "explore":
            return self._tpe(trial, "relative").sample_relative(study, trial, search_space)
        params = space.decode(proposal.point, np.empty(0, dtype=np.int64))
        return {**params, **incumbent_others}

    @staticmethod
    def _mark(study: Study, trial: FrozenTrial, kind: str) -> None:
        study._storage.set_trial_system_attr(trial._trial_id, STEP_ATTR, kind)

    def _sobol_params(self, search_space: dict[str, BaseDistribution], index: int) -> dict[str, Any]:
        """Point ``index`` of the seed's scrambled Sobol sequence over the whole space.

        Numeric parameters take their unit coordinate; a categorical one takes the choice
        ``floor(u * n_choices)`` of its own coordinate ``u``.
        """
        space = search_space_from_distributions(search_space)
        n_num, n_cat = len(space.numeric), len(space.categorical)
        point = sobol_point(n_num + n_cat, self._seed, index)
        indices = np.array(
            [min(int(u * d.n_choices), d.n_choices - 1) for u, d in zip(point[n_num:], space.categorical)],
            dtype=np.int64,
        )
        return space.decode(point[:n_num], indices)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        kind = study._storage.get_trial_system_attrs(trial._trial_id).get(STEP_ATTR, "startup")
        if kind == "startup":
            # Start-up trials (and the first trial, whose relative space is empty) draw the
            # parameters outside the relative space from the search law, seeded per trial and name.
            words = [self._seed, trial.number, *param_name.encode()]
            return random_law_draw(param_distribution, np.random.default_rng(words))
        tpe = self._tpe(trial, f"independent {param_name}")
        return tpe.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._tpe(trial, "before").before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._tpe(trial, "after").after_trial(study, trial, state, values)


__all__ = ["STEP_ATTR", "NearOptimumSampler"]
