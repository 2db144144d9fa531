"""MultiFidelitySampler and its cores: the Parzen estimator, the rung / training-set choice, the sampler.

Study-level conformance (every distribution kind, define-by-run, n_jobs, storages, pickling, seeds) is
in tests/test_sampler_conformance.py.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import optuna
import pytest
from scipy import stats

from tune_extras.samplers._multi_fidelity import (
    FINAL,
    choose_rung,
    rung_counts,
    training_set,
    values_at,
)
from tune_extras.samplers._parzen import ParzenEstimator, bandwidths

optuna.logging.set_verbosity(optuna.logging.WARNING)

NO_CAT = np.zeros((0, 0), dtype=np.int64)


def _no_cat(n: int) -> np.ndarray:
    return np.zeros((n, 0), dtype=np.int64)


# ---------------------------------------------------------------------------------------- Parzen


def test_bandwidth_rule_known_values() -> None:
    """h = 1.06 sd n^(-1/(d+4)) (sd with ddof=1), floored and widened; lambda = (m-1)/(n+m)."""
    unit = np.array([[0.1, 0.5], [0.3, 0.5], [0.5, 0.5], [0.7, 0.5]])
    h, lam = bandwidths(unit, [3], min_bandwidth=1e-3)
    sd = np.std([0.1, 0.3, 0.5, 0.7], ddof=1)
    assert h[0] == pytest.approx(1.06 * sd * 4 ** (-1 / 7), rel=1e-12)
    assert h[1] == 1e-3  # constant column: the floor
    assert lam[0] == pytest.approx(2 / 7)
    wide_h, wide_lam = bandwidths(unit, [3], min_bandwidth=1e-3, bandwidth_factor=3.0)
    assert wide_h[0] == pytest.approx(3 * h[0]) and wide_h[1] == pytest.approx(3e-3)
    assert wide_lam[0] == pytest.approx(2 / 3)  # 6/7 capped at (m-1)/m: the uniform kernel


def test_density_matches_a_hand_computed_truncated_gaussian_mixture() -> None:
    """At 50 points the density equals the mean over observations of the product of scipy's
    truncnorm pdfs (on [0, 1]) and Aitchison-Aitken weights, to 1e-10 relative."""
    rng = np.random.default_rng(0)
    unit = rng.random((5, 2))
    index = rng.integers(3, size=(5, 1))
    kde = ParzenEstimator(unit, index, [3])
    h, lam = kde.h, kde.lam[0]
    x, c = rng.random((50, 2)), rng.integers(3, size=(50, 1))
    expected = np.zeros(50)
    for mu, k in zip(unit, index[:, 0]):
        term = np.ones(50)
        for j in range(2):
            a, b = -mu[j] / h[j], (1 - mu[j]) / h[j]
            term *= stats.truncnorm.pdf(x[:, j], a, b, loc=mu[j], scale=h[j])
        term *= np.where(c[:, 0] == k, 1 - lam, lam / 2)
        expected += term / 5
    np.testing.assert_allclose(np.exp(kde.log_pdf(x, c)), expected, rtol=1e-10)


@pytest.mark.parametrize("points", [[[0.02]], [[0.2], [0.3], [0.95]], [[0.5], [0.5]]])
def test_density_integrates_to_one_1d(points: list[list[float]]) -> None:
    """Trapezoid rule on 200,001 points, also with kernels at the edge of the box and equal points
    (bandwidth at the 1e-3 floor): 1 within 1e-4."""
    kde = ParzenEstimator(np.array(points), _no_cat(len(points)), [])
    grid = np.linspace(0.0, 1.0, 200_001)[:, None]
    density = np.exp(kde.log_pdf(grid, _no_cat(grid.shape[0])))
    assert float(np.trapezoid(density, grid[:, 0])) == pytest.approx(1.0, abs=1e-4)


def test_density_integrates_to_one_2d_with_categorical() -> None:
    """Sum over the 3 choices of the 2-D integral (401 x 401 grid, trapezoid): 1 within 1e-3."""
    rng = np.random.default_rng(1)
    kde = ParzenEstimator(rng.random((6, 2)), rng.integers(3, size=(6, 1)), [3])
    axis = np.linspace(0, 1, 401)
    xx, yy = np.meshgrid(axis, axis, indexing="ij")
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    total = 0.0
    for choice in range(3):
        density = np.exp(kde.log_pdf(grid, np.full((grid.shape[0], 1), choice))).reshape(401, 401)
        total += float(np.trapezoid(np.trapezoid(density, axis, axis=1), axis))
    assert total == pytest.approx(1.0, abs=1e-3)


def test_categorical_marginal_is_the_add_one_estimate() -> None:
    """Counts (3, 1, 0, 0) of 4 choices: marginal (count + 1) / (n + m) = (4, 2, 1, 1) / 8."""
    index = np.array([[0], [0], [0], [1]])
    kde = ParzenEstimator(np.zeros((4, 0)), index, [4])
    p = np.exp(kde.log_pdf(np.zeros((4, 0)), np.arange(4)[:, None]))
    np.testing.assert_allclose(p, np.array([4, 2, 1, 1]) / 8, rtol=1e-12)


def test_samples_follow_the_density() -> None:
    """20,000 draws inside [0, 1], KS against the mixture's cdf (truncnorm cdfs) p > 0.001, and the
    categorical frequencies against the add-one marginal (chi-square p > 0.001)."""
    unit = np.array([[0.05], [0.4], [0.45]])
    index = np.array([[0], [1], [1]])
    kde = ParzenEstimator(unit, index, [3], bandwidth_factor=2.0)
    x, c = kde.sample(np.random.default_rng(2), 20_000)
    assert x.min() >= 0.0 and x.max() <= 1.0

    def cdf(v: np.ndarray) -> np.ndarray:
        total = np.zeros_like(v)
        for mu, h in zip(unit[:, 0], np.repeat(kde.h[0], 3)):
            total += stats.truncnorm.cdf(v, -mu / h, (1 - mu) / h, loc=mu, scale=h)
        return total / 3

    assert stats.kstest(x[:, 0], cdf).pvalue > 1e-3
    lam = kde.lam[0]
    marginal = np.array(
        [
            (1 - lam) / 3 + 2 * lam / 2 / 3,  # choice 0: kernel 0 keeps it, kernels 1-2 move there
            2 * (1 - lam) / 3 + lam / 2 / 3,
            3 * lam / 2 / 3,
        ]
    )
    assert marginal.sum() == pytest.approx(1.0)
    counts = np.bincount(c[:, 0], minlength=3)
    assert stats.chisquare(counts, marginal * 20_000).pvalue > 1e-3


def test_parzen_validates() -> None:
    with pytest.raises(ValueError, match="min_bandwidth"):
        ParzenEstimator(np.zeros((1, 1)), _no_cat(1), [], min_bandwidth=0.0)
    with pytest.raises(ValueError, match="indices"):
        ParzenEstimator(np.zeros((2, 1)), np.zeros((1, 1), dtype=np.int64), [2])
    with pytest.raises(ValueError, match="at least one"):
        ParzenEstimator(np.zeros((0, 1)), _no_cat(0), [])


# ------------------------------------------------------------------------------- rungs and sets


def test_rung_counts_pruned_only_where_reached() -> None:
    """Pruned at step 3 counts at 1..3 only; completed counts at every step from its first report
    and at the final rung; running never; a completed trial without reports only at the final rung."""
    curves = [{1: 5.0, 2: 4.0, 3: 3.0}, {1: 6.0, 9: 2.0}, {2: 1.0}, {}, {1: 0.0}]
    states = ["pruned", "complete", "pruned", "complete", "running"]
    steps = np.array([1.0, 2.0, 3.0, 4.0, 9.0, FINAL])
    np.testing.assert_array_equal(rung_counts(curves, states, steps), [2, 3, 2, 1, 1, 2])


def test_values_at_use_the_largest_reported_step_not_beyond_and_finals() -> None:
    curves = [{1: 5.0, 3: 3.0}, {1: 6.0, 9: 2.0}, {2: math.nan}, {}]
    states = ["pruned", "complete", "pruned", "complete"]
    finals = [math.nan, 1.5, math.nan, 7.0]
    np.testing.assert_array_equal(
        values_at(curves, states, finals, 2.0), [5.0, 6.0, math.inf, math.nan]
    )
    np.testing.assert_array_equal(
        values_at(curves, states, finals, 4.0), [math.nan, 6.0, math.nan, math.nan]
    )
    np.testing.assert_array_equal(
        values_at(curves, states, finals, 10.0), [math.nan, 1.5, math.nan, math.nan]
    )
    np.testing.assert_array_equal(
        values_at(curves, states, finals, FINAL), [math.nan, 1.5, math.nan, 7.0]
    )


def test_rung_choice_on_a_hyperband_like_history() -> None:
    """Twelve trials: 9 pruned at step 1, 2 pruned at step 3, 1 completed at 9 (reporting every
    step). min_points 3 -> step 3 (three trials reached it; the pruned ones at step 1 do not count
    there); 2 -> step 3 too (only one trial at steps 4..9 and at the final rung); 1 -> the final
    rung; 12 -> step 1; 13 -> None."""
    curves: list[dict[float, float]] = [{1: float(i)} for i in range(9)]
    curves += [{1: 0.5, 2: 0.4, 3: 0.3}, {1: 0.6, 2: 0.5, 3: 0.45}]
    curves += [{float(s): 1.0 / s for s in range(1, 10)}]
    states = ["pruned"] * 11 + ["complete"]
    assert choose_rung(curves, states, 3) == 3.0
    assert choose_rung(curves, states, 2) == 3.0
    assert choose_rung(curves, states, 1) == FINAL
    assert choose_rung(curves, states, 12) == 1.0
    assert choose_rung(curves, states, 13) is None
    split = training_set(curves, states, [math.nan] * 11 + [1 / 9], min_points=3, min_good=1)
    assert split is not None
    assert split.step == 3.0
    # values at 3: trial 9 0.3, trial 10 0.45, trial 11 (completed) 1/3 -> order 9, 11, 10
    assert split.good.tolist() == [9] and split.bad.tolist() == [11, 10]
    np.testing.assert_allclose(split.values[[9, 10, 11]], [0.3, 0.45, 1 / 3])


def test_training_set_split_sizes_and_worst_last() -> None:
    """n = 20 completed trials without curves (final rung): gamma 0.15 -> 3 good; min_good 5 -> 5;
    NaN/inf objective values rank last."""
    finals = [float(v) for v in range(20)]
    finals[0], finals[1] = math.nan, math.inf
    curves: list[dict[float, float]] = [{} for _ in range(20)]
    states = ["complete"] * 20
    split = training_set(curves, states, finals, min_points=5, gamma=0.15)
    assert split is not None and split.step == FINAL
    assert split.good.tolist() == [2, 3, 4]
    assert split.bad.tolist()[-2:] == [0, 1]
    assert training_set(curves, states, finals, 5, 0.15, min_good=5).good.size == 5  # type: ignore[union-attr]
    assert training_set(curves[:4], states[:4], finals[:4], min_points=5) is None
    with pytest.raises(ValueError, match="gamma"):
        training_set(curves, states, finals, min_points=5, gamma=1.0)
    with pytest.raises(ValueError, match="min_points"):
        training_set(curves, states, finals, min_points=1)


# ------------------------------------------------------------------------------------ the sampler


def _pruned_history(direction: str, n: int = 40) -> optuna.Study:
    """``n`` pruned trials (values at steps 1 and 2 only), random x in [0, 1]; best near x = 0.8."""
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState, create_trial

    from tune_extras.optuna import MultiFidelitySampler

    sign = 1.0 if direction == "minimize" else -1.0
    study = optuna.create_study(
        direction=direction, sampler=MultiFidelitySampler(seed=0, n_startup_trials=5)
    )
    rng = np.random.default_rng(4)
    for x in rng.random(n):
        curve = {1: sign * ((x - 0.8) ** 2 + 0.5), 2: sign * ((x - 0.8) ** 2 + 0.25)}
        study.add_trial(
            create_trial(
                state=TrialState.PRUNED,
                params={"x": float(x)},
                distributions={"x": FloatDistribution(0.0, 1.0)},
                intermediate_values=curve,
            )
        )
    return study


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_models_pruned_trials_without_any_finished_one(direction: str) -> None:
    """40 pruned trials and no finished one: of 30 proposals (random_fraction 1/3 of them random),
    the median distance to the good region x = 0.8 is under 0.1 (uniform draws: 0.25)."""
    study = _pruned_history(direction)
    proposals = [study.ask().suggest_float("x", 0.0, 1.0) for _ in range(30)]
    assert float(np.median(np.abs(np.array(proposals) - 0.8))) < 0.1


def _mf_objective(trial: optuna.Trial) -> float:
    """A 3-D bowl at (0.7, 0.2, 0.5) whose noise-free value improves with the step (9 steps)."""
    x = np.array([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(3)])
    base = float(np.sum((x - np.array([0.7, 0.2, 0.5])) ** 2))
    value = math.inf
    for step in range(1, 10):
        value = base + 0.3 / step
        trial.report(value, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return value


def test_concentrates_on_the_good_region_with_hyperband() -> None:
    """With tune-extras' HyperbandPruner, 80 trials, 3 seeds: the median distance of the last 40
    proposals to the optimum is under 0.3 on every seed (uniform points in [0, 1]^3 lie at a median
    distance of about 0.6 from (0.7, 0.2, 0.5)), and below the same statistic for RandomSampler."""
    from tune_extras.optuna import HyperbandPruner, MultiFidelitySampler

    optimum = np.array([0.7, 0.2, 0.5])

    def late_distance(sampler: optuna.samplers.BaseSampler) -> float:
        study = optuna.create_study(sampler=sampler, pruner=HyperbandPruner(max_resource=9))
        study.optimize(_mf_objective, n_trials=80)
        x = np.array([[t.params[f"x{i}"] for i in range(3)] for t in study.trials[40:]])
        return float(np.median(np.linalg.norm(x - optimum, axis=1)))

    for seed in range(3):
        ours = late_distance(MultiFidelitySampler(seed=seed))
        random = late_distance(optuna.samplers.RandomSampler(seed=seed))
        assert ours < 0.3 and ours < random, (seed, ours, random)


def test_running_trials_are_liars() -> None:
    """After the 40-trial pruned history, 10 asked-but-not-told trials: each new proposal keeps away
    from the running ones (no two proposals closer than 1e-6), and the running ones enter the bad
    density: a second history where 10 running trials sit at x = 0.8 pushes the median proposal
    further from 0.8 than without them."""
    study = _pruned_history("minimize")
    xs = [study.ask().suggest_float("x", 0.0, 1.0) for _ in range(10)]
    gaps = np.diff(np.sort(xs))
    assert gaps.min() > 1e-6

    plain = _pruned_history("minimize")
    plain_x = []
    for _ in range(20):
        trial = plain.ask()
        plain_x.append(trial.suggest_float("x", 0.0, 1.0))
        plain.tell(trial, state=optuna.trial.TrialState.FAIL)  # failed trials are not modelled
    crowded = _pruned_history("minimize")
    for _ in range(10):
        crowded.enqueue_trial({"x": 0.8})
        crowded.ask().suggest_float("x", 0.0, 1.0)  # stays running at 0.8
    crowded_x = []
    for _ in range(20):
        trial = crowded.ask()
        crowded_x.append(trial.suggest_float("x", 0.0, 1.0))
        crowded.tell(trial, state=optuna.trial.TrialState.FAIL)
    assert np.median(np.abs(np.array(crowded_x) - 0.8)) > np.median(np.abs(np.array(plain_x) - 0.8))


def test_sampler_validates_and_pickles() -> None:
    from tune_extras.optuna import MultiFidelitySampler

    bad_arguments = [
        ("n_startup_trials", -1),
        ("min_points", 2),
        ("gamma", 0.0),
        ("gamma", 1.0),
        ("n_candidates", 0),
        ("random_fraction", 1.5),
        ("bandwidth_factor", 0.5),
        ("min_bandwidth", 0.0),
        ("seed", 1.5),
    ]
    for name, value in bad_arguments:
        with pytest.raises(ValueError, match=name):
            MultiFidelitySampler(**{name: value})  # type: ignore[arg-type]
    sampler = MultiFidelitySampler(seed=3)
    assert pickle.loads(pickle.dumps(sampler))._seed == 3
