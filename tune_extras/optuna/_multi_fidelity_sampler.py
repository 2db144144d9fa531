"""Optuna adapter of the BOHB-like model: :mod:`tune_extras.samplers._multi_fidelity` and ``_parzen``."""

from __future__ import annotations

import math
import secrets
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.search_space import intersection_search_space
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from tune_extras._validation import check_int, loss_sign
from tune_extras.optuna._random_share import random_law_draw
from tune_extras.optuna._search_space import encode_trials, search_space_from_distributions
from tune_extras.samplers._multi_fidelity import State, TrainingSet, training_set
from tune_extras.samplers._parzen import ParzenEstimator
from tune_extras.samplers._space import SearchSpace

if TYPE_CHECKING:
    from optuna.study import Study

_SEED_BITS = 63
_STATES = {
    TrialState.COMPLETE: "complete",
    TrialState.PRUNED: "pruned",
    TrialState.RUNNING: "running",
}


class MultiFidelitySampler(BaseSampler):
    """BOHB's model in Optuna: TPE on the intermediate values that pruners leave behind.

    Optuna's TPE learns from finished trials (and ranks pruned ones below them); with a pruner most
    trials never finish, and their partial curves are wasted. This sampler models configurations at
    the *highest step with enough observations*, as BOHB does (Falkner, Klein & Hutter 2018): at the
    largest step ``s`` where at least ``min_points`` trials have a value (their intermediate value at
    the largest reported step ``<= s``; pruned trials only at steps they reached, never as if
    finished; completed trials at every step and with their objective value at the final rung; see
    :func:`tune_extras.samplers._multi_fidelity.training_set`), the best ``gamma`` share is "good", the
    rest "bad", and a Parzen density of each (:class:`tune_extras.samplers._parzen.ParzenEstimator`:
    truncated Gaussian kernels on the unit box with the normal-reference bandwidth, Aitchison-Aitken
    kernels on categoricals) gives the ratio ``l(x) / g(x)``. ``n_candidates`` points are drawn from
    ``l`` with bandwidths widened by ``bandwidth_factor`` and the one with the largest ratio is
    proposed. A ``random_fraction`` of the trials, and the first ``n_startup_trials``, are drawn from
    the search distribution instead (RandomSampler's law).

    Pair it with a pruner that stops trials at rungs: :class:`tune_extras.optuna.HyperbandPruner` (the
    BOHB combination) or :class:`tune_extras.optuna.SuccessiveHalvingPruner`. Without a pruner it is a
    BOHB-style TPE on finished trials.

    **What is modelled.** The intersection of the search spaces of the finished and pruned trials
    (:class:`optuna.search_space.IntersectionSearchSpace`), numeric and categorical parameters
    jointly; parameters outside it (define-by-run, conditional) are drawn from the random law in
    ``sample_independent``. Single-valued distributions are left out (their one value is returned).

    **Concurrency.** Running trials (``n_jobs > 1``, several processes on one storage) are added to
    the bad density (a constant liar, as Optuna's TPE with ``constant_liar=True``), so they are not
    proposed again. No state is kept between calls: the model is rebuilt from the storage each time,
    so RDB and journal storages, several processes and Ray work, and the sampler pickles. Randomness of
    a trial derives from ``(seed, trial number)``: a seeded sequential study is reproducible, and two
    processes given the same seed do not repeat each other.

    Args:
        n_startup_trials: Random trials before the model (finished or pruned ones; default 10).
        min_points: Trials needed at a rung to model it (default ``None``: ``d + 2`` with ``d`` the
            number of modelled parameters; at least 3).
        gamma: Share of a rung's trials in the good density, in ``(0, 1)`` (default 0.15, BOHB's top
            15%); at least ``d + 1`` good trials while one is left bad.
        n_candidates: Draws from the good density scored per trial (default 64, BOHB's).
        random_fraction: Share of the trials after start-up drawn at random, in ``[0, 1]`` (default
            1/3, BOHB's).
        bandwidth_factor: Widening of the good density's bandwidths for the candidates, ``>= 1``
            (default 3, BOHB's).
        min_bandwidth: Floor of the numeric bandwidths in unit coordinates, ``> 0`` (default 1e-3,
            BOHB's).
        seed: Seed (default ``None``: random).

    Example:
        >>> import optuna
        >>> from tune_extras.optuna import HyperbandPruner, MultiFidelitySampler
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> def objective(trial):
        ...     x = trial.suggest_float("x", -3, 3)
        ...     for step in range(1, 10):
        ...         value = (x - 1) ** 2 + 1 / step
        ...         trial.report(value, step)
        ...         if trial.should_prune():
        ...             raise optuna.TrialPruned()
        ...     return value
        >>> study = optuna.create_study(
        ...     sampler=MultiFidelitySampler(seed=0), pruner=HyperbandPruner(max_resource=9)
        ... )
        >>> study.optimize(objective, n_trials=60)
        >>> abs(study.best_params["x"] - 1) < 0.3
        True
    """

    def __init__(
        self,
        n_startup_trials: int = 10,
        min_points: int | None = None,
        gamma: float = 0.15,
        n_candidates: int = 64,
        random_fraction: float = 1.0 / 3.0,
        bandwidth_factor: float = 3.0,
        min_bandwidth: float = 1e-3,
        seed: int | None = None,
    ) -> None:
        check_int("n_startup_trials", n_startup_trials, low=0)
        if min_points is not None:
            check_int("min_points", min_points, low=3)
        check_int("n_candidates", n_candidates, low=1)
        if not 0.0 < gamma < 1.0:
            raise ValueError(f"gamma must be in (0, 1), got {gamma!r}")
        if not 0.0 <= random_fraction <= 1.0:
            raise ValueError(f"random_fraction must be in [0, 1], got {random_fraction!r}")
        if not bandwidth_factor >= 1.0:
            raise ValueError(f"bandwidth_factor must be >= 1, got {bandwidth_factor!r}")
        if not (min_bandwidth > 0.0 and math.isfinite(min_bandwidth)):
            raise ValueError(f"min_bandwidth must be > 0, got {min_bandwidth!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"seed must be an int or None, got {seed!r}")
        self._n_startup_trials = n_startup_trials
        self._min_points = min_points
        self._gamma = float(gamma)
        self._n_candidates = n_candidates
        self._random_fraction = float(random_fraction)
        self._bandwidth_factor = float(bandwidth_factor)
        self._min_bandwidth = float(min_bandwidth)
        self._seed = seed if seed is not None else secrets.randbits(_SEED_BITS)

    def reseed_rng(self) -> None:
        self._seed = secrets.randbits(_SEED_BITS)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {
            name: distribution
            for name, distribution in intersection_search_space(
                study.get_trials(deepcopy=False), include_pruned=True
            ).items()
            if not distribution.single()
        }

    def _rng(self, trial: FrozenTrial, *salt: int) -> np.random.Generator:
        return np.random.default_rng([self._seed, trial.number, *salt])

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if len(study.directions) > 1:
            raise ValueError("MultiFidelitySampler supports single-objective studies only")
        if not search_space:
            return {}
        space = search_space_from_distributions(search_space)
        rng = self._rng(trial)
        trials = [
            t
            for t in study.get_trials(deepcopy=False, states=tuple(_STATES))
            if t.number != trial.number and set(space.names) <= t.params.keys()
        ]
        finished = sum(t.state != TrialState.RUNNING for t in trials)
        if finished < self._n_startup_trials or rng.random() < self._random_fraction:
            return self._random(space, rng)
        proposal = self._propose(space, trials, study.direction, rng)
        return proposal if proposal is not None else self._random(space, rng)

    def _random(self, space: SearchSpace, rng: np.random.Generator) -> dict[str, Any]:
        unit = rng.random(len(space.numeric))
        index = np.array([rng.integers(d.n_choices) for d in space.categorical], dtype=np.int64)
        return space.decode(unit, index)

    def _propose(
        self,
        space: SearchSpace,
        trials: list[FrozenTrial],
        direction: StudyDirection,
        rng: np.random.Generator,
    ) -> dict[str, Any] | None:
        sign = loss_sign(direction)
        curves = [{float(s): sign * v for s, v in t.intermediate_values.items()} for t in trials]
        states: list[State] = [_STATES[t.state] for t in trials]  # type: ignore[misc]
        finals = [
            sign * t.value if t.state == TrialState.COMPLETE and t.value is not None else math.nan
            for t in trials
        ]
        d = len(space)
        min_points = self._min_points if self._min_points is not None else max(3, d + 2)
        split = training_set(curves, states, finals, min_points, self._gamma, min_good=d + 1)
        if split is None or split.bad.size + sum(s == "running" for s in states) == 0:
            return None
        return self._best_candidate(space, trials, states, split, rng)

    def _best_candidate(
        self,
        space: SearchSpace,
        trials: list[FrozenTrial],
        states: list[State],
        split: TrainingSet,
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        unit, index = encode_trials(space, trials)
        running = np.array([i for i, s in enumerate(states) if s == "running"], dtype=np.int64)
        bad = np.concatenate([split.bad, running])  # constant liar: running trials are bad
        n_choices = [d.n_choices for d in space.categorical]
        options = {"min_bandwidth": self._min_bandwidth}
        good_kde = ParzenEstimator(unit[split.good], index[split.good], n_choices, **options)
        bad_kde = ParzenEstimator(unit[bad], index[bad], n_choices, **options)
        wide = ParzenEstimator(
            unit[split.good],
            index[split.good],
            n_choices,
            bandwidth_factor=self._bandwidth_factor,
            **options,
        )
        cand_unit, cand_index = wide.sample(rng, self._n_candidates)
        cand_unit = space.snap(cand_unit)
        score = good_kde.log_pdf(cand_unit, cand_index) - bad_kde.log_pdf(cand_unit, cand_index)
        best = int(np.argmax(score))
        return space.decode(cand_unit[best], cand_index[best])

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        rng = self._rng(trial, zlib.crc32(param_name.encode()))
        return random_law_draw(param_distribution, rng)


__all__ = ["MultiFidelitySampler"]
