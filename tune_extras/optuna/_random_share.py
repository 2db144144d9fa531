"""A sampler wrapper that draws a fixed share of trials i.i.d. from the search distribution."""

from __future__ import annotations

import hashlib
import secrets
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler, TPESampler

from tune_extras._attrs import RANDOM_DRAW_ATTR
from tune_extras.optuna._search_space import dimension_from_distribution

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial, TrialState

_SEED_BITS = 63


def is_random_draw(seed: int, number: int, share: float) -> bool:
    """Whether trial ``number`` is a random draw: ``U(seed, number) < share``.

    ``U`` is the first 64 bits of ``sha256("seed:number")`` read as a number in ``[0, 1)``: a fixed
    pseudo-random function of the pair, so every process sharing a storage agrees, and the decision
    does not depend on the history (the marked trials stay an i.i.d. sample of the search law).
    ``share=0`` marks no trial, ``share=1`` every trial.
    """
    digest = hashlib.sha256(f"{seed}:{number}".encode()).digest()
    u = int.from_bytes(digest[:8], "little") / 2.0**64
    return u < share


def random_law_draw(distribution: BaseDistribution, rng: np.random.Generator) -> Any:
    """One draw of :class:`optuna.samplers.RandomSampler`'s law for ``distribution``.

    Uniform on ``[low, high]`` (on the log scale for log-scaled ones); a uniform unit coordinate
    rounded to the grid for ints and stepped floats, whose cells ``[v - step/2, v + step/2]`` share the
    range evenly (Optuna's own transform); a uniform choice for categoricals.
    """
    if isinstance(distribution, CategoricalDistribution):
        return distribution.choices[int(rng.integers(len(distribution.choices)))]
    dimension = dimension_from_distribution("x", distribution)
    return dimension.from_unit(float(rng.random()))


class RandomShareSampler(BaseSampler):
    """Any sampler, with a share of its trials drawn at random and marked, for valid post-study analysis.

    Model-based samplers (TPE, GP, CMA-ES) bias the sample of trials toward their incumbent, so the
    statistics of a random search (the tuning curve, the best-possible-loss and effective-dimension fits
    of :func:`tune_extras.analyze`, Lourie, He & Cho 2025) cannot be read off their studies. This
    wrapper keeps the base sampler in charge of most trials and draws a fixed ``share`` of them
    i.i.d. from the search distribution, exactly :class:`optuna.samplers.RandomSampler`'s law (uniform,
    log-uniform, uniform over an int/step grid, uniform over choices), marking each such trial with the
    user attribute ``"tune_extras.random_draw" = True`` (``tune_extras._attrs.RANDOM_DRAW_ATTR``). The
    analyzer then fits the marked trials alone: a random search run inside a tuned study.

    Whether trial number ``k`` is a random draw is a fixed function of ``(seed, k)``
    (:func:`is_random_draw`), never of the history: processes sharing a storage agree, and the marked
    trials stay i.i.d. A marked trial gets *every* parameter from the random law, those of the
    relative search space and those suggested later (define-by-run, conditional); an unmarked trial
    gets every parameter from the base sampler, which sees all trials, marked ones included (random
    points help its model). Enqueued trials (``study.enqueue_trial``) are never marked: their fixed
    parameters are not random draws.

    The price is the share itself: a share ``s`` of the budget is spent on random search. With
    ``s = 0.1`` to ``0.2`` the final regret of TPE barely moves on our benchmarks (see
    ``docs/samplers.md``); do not use it when the budget is tiny (say under 30 trials) or when no
    post-study analysis is wanted.

    Args:
        base_sampler: The sampler of the unmarked trials (default ``TPESampler(seed=seed)``, whose
            random stream is then reseeded at each trial from ``(seed, trial number)``, so that two
            processes given the same seed do not repeat each other's draws). A base sampler you pass
            is used as is.
        share: Probability that a trial is a random draw, in ``[0, 1]`` (default 0.1). ``0`` behaves
            exactly as the base sampler; ``1`` as :class:`optuna.samplers.RandomSampler` (with
            marked trials).
        seed: Seed of the share decisions and of the random draws (default ``None``: random, so
            that processes sharing a storage then decide differently; give a seed in that case).

    Example:
        >>> import optuna
        >>> from tune_extras.optuna import RandomShareSampler
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study(sampler=RandomShareSampler(share=0.2, seed=0))
        >>> study.optimize(lambda t: (t.suggest_float("x", -3, 3) - 1) ** 2, n_trials=40)
        >>> marked = [t for t in study.trials if t.user_attrs.get("tune_extras.random_draw")]
        >>> 0 < len(marked) < 20
        True
    """

    def __init__(
        self, base_sampler: BaseSampler | None = None, share: float = 0.1, seed: int | None = None
    ) -> None:
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0.0 <= share <= 1.0:
            raise ValueError(f"share must be a number in [0, 1], got {share!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"seed must be an int or None, got {seed!r}")
        if base_sampler is not None and not isinstance(base_sampler, BaseSampler):
            raise ValueError(f"base_sampler must be an optuna BaseSampler, got {base_sampler!r}")
        self._share = float(share)
        # The decision seed never changes (not even on reseed_rng): threads and processes must agree
        # on which trial is a random draw. The draw seed is what reseed_rng renews.
        self._decision_seed = seed if seed is not None else secrets.randbits(_SEED_BITS)
        self._draw_seed = self._decision_seed
        self._owns_base = base_sampler is None
        self._base = base_sampler if base_sampler is not None else TPESampler(seed=seed)

    @property
    def share(self) -> float:
        return self._share

    @property
    def base_sampler(self) -> BaseSampler:
        return self._base

    def __str__(self) -> str:
        return f"RandomShareSampler({self._base}, share={self._share})"

    def is_random_draw(self, trial: FrozenTrial) -> bool:
        """Whether ``trial`` draws its parameters at random (and is marked)."""
        if "fixed_params" in trial.system_attrs:
            return False
        return is_random_draw(self._decision_seed, trial.number, self._share)

    def reseed_rng(self) -> None:
        self._draw_seed = secrets.randbits(_SEED_BITS)
        self._base.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if self.is_random_draw(trial):
            return {}  # every parameter of a marked trial goes through sample_independent
        return self._base.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if self.is_random_draw(trial):
            # Empty in a study (infer_relative_search_space said so); answered when called directly.
            return {name: self._draw(trial, name, d) for name, d in search_space.items()}
        return self._base.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        if not self.is_random_draw(trial):
            return self._base.sample_independent(study, trial, param_name, param_distribution)
        return self._draw(trial, param_name, param_distribution)

    def _draw(self, trial: FrozenTrial, name: str, distribution: BaseDistribution) -> Any:
        """A random-law draw from a stream of its own per (draw seed, trial number, parameter)."""
        rng = np.random.default_rng([self._draw_seed, trial.number, zlib.crc32(name.encode())])
        return random_law_draw(distribution, rng)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        if self.is_random_draw(trial):
            study._storage.set_trial_user_attr(trial._trial_id, RANDOM_DRAW_ATTR, True)
        if self._owns_base:
            _reseed_per_trial(self._base, self._draw_seed, trial.number)
        self._base.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._base.after_trial(study, trial, state, values)


def _reseed_per_trial(sampler: BaseSampler, seed: int, number: int) -> None:
    """Reseed our default TPE's random streams from ``(seed, number)``.

    Optuna's samplers draw from one stream per instance, so two processes given the same seed repeat
    each other's draws; deriving the stream from the trial number makes them differ. Only the default
    base sampler (built here) is touched, through the ``LazyRandomState`` its streams live in.
    """
    for owner in (sampler, getattr(sampler, "_random_sampler", None)):
        state = getattr(owner, "_rng", None)
        rng = getattr(state, "rng", None)
        if isinstance(rng, np.random.RandomState):
            words = np.random.SeedSequence([seed, number]).generate_state(1)
            rng.seed(int(words[0]))
            seed += 1  # the two streams differ


__all__ = ["RandomShareSampler", "is_random_draw", "random_law_draw"]
