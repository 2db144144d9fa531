"""RandomShareSampler: the share decision, the random law, delegation to the base sampler.

The study-level properties (the share honoured, marked draws passing KS/chi-square tests, share 0 and
1, define-by-run parameters) are in tests/test_sampler_conformance.py; these are the unit-level ones.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState
from scipy import stats

from tune_extras._attrs import RANDOM_DRAW_ATTR
from tune_extras.optuna import RandomShareSampler
from tune_extras.optuna._random_share import is_random_draw, random_law_draw

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_decision_is_a_fixed_function_of_seed_and_number() -> None:
    """Same (seed, number) -> same answer; the frequency over 20,000 numbers is the share within
    4 binomial standard deviations; the decisions are monotone in the share (a trial random at 0.1
    is random at 0.2); seeds give different patterns."""
    numbers = range(20_000)
    for share in (0.1, 0.2, 0.5):
        marks = np.array([is_random_draw(7, k, share) for k in numbers])
        sd = math.sqrt(share * (1 - share) / len(marks))
        assert abs(marks.mean() - share) < 4 * sd
    low = [is_random_draw(7, k, 0.1) for k in range(2000)]
    high = [is_random_draw(7, k, 0.2) for k in range(2000)]
    assert all(h for lo, h in zip(low, high) if lo)
    assert [is_random_draw(8, k, 0.5) for k in range(200)] != [
        is_random_draw(7, k, 0.5) for k in range(200)
    ]
    assert not any(is_random_draw(3, k, 0.0) for k in range(1000))
    assert all(is_random_draw(3, k, 1.0) for k in range(1000))


@pytest.mark.parametrize(
    ("distribution", "reference"),
    [
        (FloatDistribution(-2.0, 3.0), lambda v: (v + 2.0) / 5.0),
        (FloatDistribution(1e-4, 1.0, log=True), lambda v: (math.log10(v) + 4.0) / 4.0),
    ],
)
def test_random_law_continuous_matches_randomsampler(
    distribution: BaseDistribution, reference: Any
) -> None:
    """2,000 draws mapped through the law's cdf are uniform (KS p > 0.001), and a two-sample KS
    against 2,000 draws of Optuna's RandomSampler passes at 0.001."""
    rng = np.random.default_rng(0)
    ours = [random_law_draw(distribution, rng) for _ in range(2000)]
    assert all(distribution._contains(distribution.to_internal_repr(v)) for v in ours)
    assert stats.kstest([reference(v) for v in ours], "uniform").pvalue > 1e-3
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    theirs = [study.ask({"x": distribution}).params["x"] for _ in range(2000)]
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-3


@pytest.mark.parametrize(
    ("distribution", "support"),
    [
        (IntDistribution(0, 4), [0, 1, 2, 3, 4]),
        (FloatDistribution(0.0, 1.0, step=0.25), [0.0, 0.25, 0.5, 0.75, 1.0]),
        (CategoricalDistribution(["a", None, 3]), ["a", None, 3]),
    ],
)
def test_random_law_grid_and_choices_uniform(
    distribution: BaseDistribution, support: list[Any]
) -> None:
    """5,000 draws hit only the grid/choices, with Python types, uniformly (chi-square p > 0.001)."""
    rng = np.random.default_rng(2)
    draws = [random_law_draw(distribution, rng) for _ in range(5000)]
    counts = [sum(1 for d in draws if d == s and type(d) is type(s)) for s in support]
    assert sum(counts) == 5000
    assert stats.chisquare(counts).pvalue > 1e-3, counts


def test_int_log_law_is_loguniform_over_cells() -> None:
    """A log-scaled int: value v has probability log((v + 1/2)/(v - 1/2)) / log((high + 1/2)/(low -
    1/2)), as Optuna's RandomSampler; 20,000 draws, chi-square p > 0.001."""
    distribution = IntDistribution(1, 8, log=True)
    rng = np.random.default_rng(3)
    draws = np.array([random_law_draw(distribution, rng) for _ in range(20_000)])
    values = np.arange(1, 9)
    total = math.log(8.5 / 0.5)
    expected = np.array([math.log((v + 0.5) / (v - 0.5)) / total for v in values]) * draws.size
    counts = np.array([(draws == v).sum() for v in values])
    assert stats.chisquare(counts, expected).pvalue > 1e-3, counts


class SpySampler(BaseSampler):
    """Records every call; answers the distribution's low end."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        self.calls.append(("infer", trial.number))
        return {"x": FloatDistribution(0.0, 1.0)}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        self.calls.append(("relative", trial.number))
        return {"x": 0.0} if search_space else {}

    def sample_independent(
        self, study: Study, trial: FrozenTrial, name: str, dist: BaseDistribution
    ) -> Any:
        self.calls.append(("independent", trial.number))
        return dist.to_external_repr(0) if isinstance(dist, CategoricalDistribution) else 0.0

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.calls.append(("before", trial.number))

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self.calls.append(("after", trial.number))

    def reseed_rng(self) -> None:
        self.calls.append(("reseed", -1))


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    y = trial.suggest_float("y", 0.0, 1.0)
    return x + y


def test_delegation_marked_and_unmarked() -> None:
    """Unmarked trials: the base's relative answer for x and sample_independent for y; marked
    trials: the base is never asked for a value (but before/after_trial still reach it, so its
    bookkeeping sees every trial) and both values are random (non-zero)."""
    spy = SpySampler()
    sampler = RandomShareSampler(base_sampler=spy, share=0.5, seed=11)
    study = optuna.create_study(sampler=sampler)
    study.optimize(_objective, n_trials=60)
    marked = {t.number for t in study.trials if t.user_attrs.get(RANDOM_DRAW_ATTR) is True}
    assert 10 < len(marked) < 50
    for trial in study.trials:
        asked = {kind for kind, n in spy.calls if n == trial.number}
        assert {"before", "after"} <= asked
        if trial.number in marked:
            assert not asked & {"infer", "relative", "independent"}
            assert trial.params["x"] != 0.0 and trial.params["y"] != 0.0
        else:
            assert RANDOM_DRAW_ATTR not in trial.user_attrs
            assert {"infer", "relative", "independent"} <= asked
            assert trial.params == {"x": 0.0, "y": 0.0}
    sampler.reseed_rng()
    assert spy.calls[-1] == ("reseed", -1)


def test_two_instances_agree_and_reseed_keeps_the_decisions() -> None:
    """Processes sharing a storage build their own instance: with one seed they mark the same trial
    numbers; reseed_rng (Optuna calls it per thread with n_jobs > 1) changes the draws, never the
    decisions."""
    a, b = RandomShareSampler(share=0.3, seed=5), RandomShareSampler(share=0.3, seed=5)
    b.reseed_rng()
    study = optuna.create_study()
    trials = [study.ask() for _ in range(100)]
    frozen = [study._storage.get_trial(t._trial_id) for t in trials]
    assert [a.is_random_draw(t) for t in frozen] == [b.is_random_draw(t) for t in frozen]
    assert 10 < sum(a.is_random_draw(t) for t in frozen) < 50


def test_enqueued_trials_are_not_marked() -> None:
    """An enqueued trial's fixed parameters are not random draws: never marked, even at share=1."""
    study = optuna.create_study(sampler=RandomShareSampler(share=1.0, seed=0))
    study.enqueue_trial({"x": 0.25, "y": 0.5})
    study.optimize(_objective, n_trials=5)
    first = study.trials[0]
    assert first.params == {"x": 0.25, "y": 0.5}
    assert RANDOM_DRAW_ATTR not in first.user_attrs
    assert all(t.user_attrs.get(RANDOM_DRAW_ATTR) is True for t in study.trials[1:])


def test_default_base_two_seeded_instances_do_not_repeat() -> None:
    """The default TPE base is reseeded per trial number: two instances with one seed, fed the same
    (empty) history at different trial numbers, propose different points; at the same number, the
    same point."""
    a, b = RandomShareSampler(share=0.0, seed=9), RandomShareSampler(share=0.0, seed=9)
    study_a, study_b = optuna.create_study(sampler=a), optuna.create_study(sampler=b)
    study_b.enqueue_trial({"x": 0.5, "y": 0.5})  # shifts study_b's trial numbers by one
    study_b.optimize(_objective, n_trials=1)
    t_a, t_b = study_a.ask(), study_b.ask()
    assert t_a.suggest_float("x", 0, 1) != t_b.suggest_float("x", 0, 1)
    study_c = optuna.create_study(sampler=RandomShareSampler(share=0.0, seed=9))
    assert study_c.ask().suggest_float("x", 0, 1) == t_a.params["x"]


def test_pickles_and_validates() -> None:
    sampler = RandomShareSampler(share=0.2, seed=1)
    clone = pickle.loads(pickle.dumps(sampler))
    assert clone.share == 0.2 and isinstance(clone.base_sampler, optuna.samplers.TPESampler)
    for share in (-0.1, 1.5, float("nan"), True, "0.1"):
        with pytest.raises(ValueError, match="share"):
            RandomShareSampler(share=share)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seed"):
        RandomShareSampler(seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="base_sampler"):
        RandomShareSampler(base_sampler="tpe")  # type: ignore[arg-type]
