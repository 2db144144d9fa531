"""The analyzer on the studies people actually run (issue #10): pruned studies, studies tuned with
TPE and stored, TPE with a random share, and the sampling check behind the verdicts."""

from __future__ import annotations

import math
import warnings

import numpy as np
import optuna
import pandas as pd
import pytest

import tune_extras
from tests.test_report_properties import assert_report_sane
from tune_extras.analysis._randomness import sampling_check, transform
from tune_extras.optuna import RandomShareSampler, load_trials

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def _bowl(trial: optuna.Trial) -> float:
    """Quadratic in log10(lr) and wd around (-3, 0.5): best possible loss 0.3, c = 2."""
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    wd = trial.suggest_float("wd", 0.0, 1.0)
    noise = np.random.default_rng(trial.number).normal(0, 0.005)
    return 0.3 + 0.05 * (math.log10(lr) + 3) ** 2 + 0.2 * (wd - 0.5) ** 2 + noise


def _every_kind(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -1, 1)
    lr = trial.suggest_float("lr", 1e-4, 1, log=True)
    step = trial.suggest_float("step", 0, 1, step=0.1)
    i = trial.suggest_int("i", 1, 7)
    li = trial.suggest_int("li", 1, 1000, log=True)
    c = trial.suggest_categorical("c", ["a", "b", "c"])
    return (x - 0.3) ** 2 + abs(math.log10(lr) + 2) + step + i / 7 + math.log(li) / 7 + (c == "b")


@pytest.mark.parametrize(
    "distribution",
    [
        optuna.distributions.FloatDistribution(-1, 1),
        optuna.distributions.FloatDistribution(1e-4, 1, log=True),
        optuna.distributions.FloatDistribution(0, 1, step=0.1),
        optuna.distributions.IntDistribution(1, 7),
        optuna.distributions.IntDistribution(0, 20, step=5),
        optuna.distributions.IntDistribution(1, 1000, log=True),
        optuna.distributions.CategoricalDistribution(["a", "b", "c"]),
    ],
)
def test_randomised_pit_of_random_sampler_draws_is_uniform(distribution: object) -> None:
    """RandomSampler's own draws through the transform: Kolmogorov-Smirnov against Uniform(0, 1)
    does not reject (p > 0.01 on 4,000 draws; each case's p is deterministic under the seeds)."""
    from scipy import stats

    sampler = optuna.samplers.RandomSampler(seed=3)
    study = optuna.create_study(sampler=sampler)
    trial = study._storage.get_trial(study.ask()._trial_id)
    values = [
        sampler.sample_independent(study, trial, "p", distribution)  # type: ignore[arg-type]
        for _ in range(4000)
    ]
    u = transform(pd.Series(values), distribution, np.random.default_rng(0))
    assert u is not None
    assert stats.kstest(u, "uniform").pvalue > 0.01


def test_sampling_check_passes_random_search_and_flags_adaptive_samplers() -> None:
    """Over 20 random searches of 100 trials the Bonferroni p-value is below 1e-3 in none (and
    below 0.05 in at most 3: the test is conservative); TPE and CMA-ES studies get p < 1e-6."""
    p_values = []
    for seed in range(20):
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        study.optimize(_every_kind, n_trials=100)
        table = load_trials(study)
        p_values.append(sampling_check(table, table.attrs["distributions"], seed).p_value)
    assert min(p_values) >= 1e-3
    assert sum(p < 0.05 for p in p_values) <= 3
    for sampler in (
        optuna.samplers.TPESampler(seed=0),
        optuna.samplers.CmaEsSampler(seed=0, warn_independent_sampling=False),
    ):
        study = optuna.create_study(sampler=sampler)
        study.optimize(_every_kind, n_trials=100)
        table = load_trials(study)
        check = sampling_check(table, table.attrs["distributions"])
        assert check.p_value < 1e-6, (type(sampler).__name__, check)


def test_stored_tpe_study_gets_a_verdict_not_numbers(tmp_path: object) -> None:
    """Was: a TPE study loaded from storage showed the sampler as "unknown" and got numbers."""
    storage = f"sqlite:///{tmp_path}/tpe.db"
    study = optuna.create_study(
        storage=storage, study_name="tpe", sampler=optuna.samplers.TPESampler(seed=1)
    )
    study.optimize(_bowl, n_trials=120)
    report = tune_extras.analyze(storage, study_name="tpe", importance=False)
    assert report.sampler is None
    assert report.refusal is not None and "not a random search" in report.refusal
    assert "do not follow its search distribution" in report.refusal
    assert report.fit is None
    # The same trials from a random search in the same storage are analysed.
    random = optuna.create_study(
        storage=storage, study_name="random", sampler=optuna.samplers.RandomSampler(seed=1)
    )
    random.optimize(_bowl, n_trials=120)
    fine = tune_extras.analyze(storage, study_name="random", importance=False)
    assert fine.refusal is None and fine.fit is not None
    assert any("sampler is unknown" in w for w in fine.warnings)


def test_tpe_with_a_random_share_is_analysed_on_its_random_draws() -> None:
    sampler = RandomShareSampler(optuna.samplers.TPESampler(seed=2), share=0.3, seed=2)
    study = optuna.create_study(sampler=sampler)
    study.optimize(_bowl, n_trials=250)
    report = tune_extras.analyze(study, importance=False)
    counts = report.trial_counts
    assert report.random_draws_only and report.refusal is None
    assert counts["random_draws"] + counts["not_random_draws"] == 250
    assert counts["used"] == counts["random_draws"]
    assert 50 <= counts["random_draws"] <= 100  # a 30% share of 250
    assert "only the trials marked as random draws are analysed" in report.to_text()
    assert report.best_interval is not None and 0.3 in report.best_interval


def _curve(trial: optuna.Trial) -> float:
    """A 27-step learning curve that ends at the bowl's value, reported step by step."""
    final = _bowl(trial)
    for step in range(1, 28):
        trial.report(final + 2.0 / step, step)
        if trial.should_prune():
            raise optuna.TrialPruned
    return final


def _pruned_study(n_trials: int, seed: int) -> optuna.Study:
    """A random search of curves pruned by Optuna's successive halving (reduction 3)."""
    study = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=seed),
        pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
    )
    study.optimize(_curve, n_trials=n_trials)
    return study


@pytest.mark.parametrize("n_trials", [80, 300])
def test_pruned_studies_get_a_sentence_or_sane_numbers(n_trials: int) -> None:
    """Was: with a pruner a study of 80 trials kept 5-22 completed trials and the report refused
    ("needs 20") or printed nonsense. Now pruned trials count as censored observations: a study
    with too few completed trials gets a sentence saying so, a larger one a fit."""
    study = _pruned_study(n_trials, seed=4)
    report = tune_extras.analyze(study, importance=False)
    counts = report.trial_counts
    assert counts["pruned"] > counts["used"]
    if counts["used"] < 12:
        assert report.refusal is not None and "ran to the end" in report.refusal
        assert "prune less aggressively" in report.refusal
    else:
        assert report.refusal is None and report.fit is not None
        assert report.fit.n_trials == counts["used"] + counts["pruned"]
        assert any("pruned trials are assumed worse" in w for w in report.warnings)
        assert_report_sane(report)


def test_pruned_trials_inside_the_tail_are_counted() -> None:
    """A pruned trial whose recorded value is already inside the fitted tail contradicts the
    censoring assumption: the warning counts such trials."""
    rng = np.random.default_rng(0)
    values = np.concatenate([0.3 + rng.uniform(0, 0.2, 60) ** 2, [0.3001, 0.3002, 5.0]])
    states = ["COMPLETE"] * 60 + ["PRUNED"] * 3
    table = pd.DataFrame({"value": values, "state": states, "number": range(63)})
    report = tune_extras.analyze(table, direction="minimize")
    notes = [w for w in report.warnings if "already reached values inside the fitted tail" in w]
    assert len(notes) == 1 and notes[0].startswith("2 pruned trials")
    assert report.verdict[0].startswith("the pruner stopped 2 trials")
    assert "SpareRandomDraws" in report.verdict[0]


def test_spared_random_draws_finish_and_are_analysed_alone() -> None:
    """Successive halving stops most trials; behind SpareRandomDraws the RandomShareSampler's
    draws all finish, and the analyzer fits them alone, unpruned."""
    from tune_extras.optuna import SpareRandomDraws

    study = optuna.create_study(
        sampler=RandomShareSampler(optuna.samplers.TPESampler(seed=5), share=0.3, seed=5),
        pruner=SpareRandomDraws(optuna.pruners.SuccessiveHalvingPruner(reduction_factor=3)),
    )
    study.optimize(_curve, n_trials=200)
    marked = [t for t in study.trials if t.user_attrs.get("tune_extras.random_draw")]
    assert marked and all(t.state == optuna.trial.TrialState.COMPLETE for t in marked)
    others = [t for t in study.trials if t not in marked]
    assert sum(t.state == optuna.trial.TrialState.PRUNED for t in others) > len(others) / 2
    report = tune_extras.analyze(study, importance=False)
    assert report.random_draws_only and report.trial_counts["pruned"] == 0
    assert report.trial_counts["used"] == len(marked)


def test_spare_random_draws_validates_its_pruner() -> None:
    from tune_extras.optuna import SpareRandomDraws

    with pytest.raises(ValueError, match="pruner must be an optuna BasePruner"):
        SpareRandomDraws("median")  # type: ignore[arg-type]


def test_empirical_median_tuning_curve_counts_pruned_trials_as_worse() -> None:
    from tune_extras.analysis import empirical_median_tuning_curve

    values = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    # n = 1: the median value; n = 2: i* = ceil(5 (1 - 2^-1/2)) = 2; n = 10: the best.
    np.testing.assert_array_equal(
        empirical_median_tuning_curve(values, [1, 2, 10], "minimize"), [3.0, 2.0, 1.0]
    )
    # Five pruned trials, worse than all: the median of one trial is the worst completed one, and
    # with 30 pruned it is unknown.
    np.testing.assert_array_equal(
        empirical_median_tuning_curve(values, [1, 2, 10], "minimize", 5), [5.0, 3.0, 1.0]
    )
    assert np.isnan(empirical_median_tuning_curve(values, [1], "minimize", 30)[0])
    np.testing.assert_array_equal(empirical_median_tuning_curve(values, [1, 2], "maximize"), [3, 4])


def test_a_random_search_opened_with_load_study_is_analysed(tmp_path: object) -> None:
    """optuna.load_study gives the study Optuna's default (TPE) sampler whatever ran it: a random
    search opened that way is analysed, with a sentence saying why; a TPE study is not."""
    storage = f"sqlite:///{tmp_path}/loaded.db"
    run = optuna.create_study(
        storage=storage, study_name="r", sampler=optuna.samplers.RandomSampler(seed=6)
    )
    run.optimize(_bowl, n_trials=120)
    loaded = optuna.load_study(study_name="r", storage=storage)
    assert type(loaded.sampler).__name__ == "TPESampler"
    report = tune_extras.analyze(loaded, importance=False)
    assert report.refusal is None and report.fit is not None
    assert any("optuna.load_study gets Optuna's default sampler" in w for w in report.warnings)
    tpe = optuna.create_study(storage=storage, study_name="t", sampler=optuna.samplers.TPESampler(seed=6))
    tpe.optimize(_bowl, n_trials=120)
    refused = tune_extras.analyze(optuna.load_study(study_name="t", storage=storage), importance=False)
    assert refused.refusal is not None and "TPESampler" in refused.refusal
