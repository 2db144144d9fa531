"""The analyzer on real Optuna studies (sqlite and journal storages), tables and bad input."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

import tune_extras
from tune_extras.analysis import StudyReport, empirical_tuning_curve, improvement_trend
from tune_extras.optuna import load_trials

optuna.logging.set_verbosity(optuna.logging.WARNING)


def quadratic_objective(trial: optuna.Trial) -> float:
    """Quadratic in two of three hyperparameters: best possible loss 0, effective dimension 2."""
    x = trial.suggest_float("x", -1.0, 1.0)
    y = trial.suggest_float("y", -1.0, 1.0)
    trial.suggest_float("unused", 0.0, 1.0)
    return (x - 0.3) ** 2 + 0.5 * y**2


def _random_study(storage: object = None, name: str = "quad", n_trials: int = 200) -> optuna.Study:
    study = optuna.create_study(
        storage=storage, study_name=name, sampler=optuna.samplers.RandomSampler(seed=0)
    )
    study.optimize(quadratic_objective, n_trials=n_trials)
    return study


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_analyze_sqlite_study_is_read_only_and_finds_the_optimum(tmp_path: Path) -> None:
    db = tmp_path / "study.db"
    _random_study(f"sqlite:///{db}")
    before = _digest(db)
    report = tune_extras.analyze(f"sqlite:///{db}", study_name="quad", seed=1)
    assert _digest(db) == before  # the user's study is only read
    assert isinstance(report, StudyReport)
    assert report.trial_counts["used"] == 200
    assert report.direction == "minimize"
    assert report.best_interval.low <= 0.0 <= report.best_interval.high
    assert report.best_observed == pytest.approx(0.0, abs=0.02)
    assert 2.0 in report.effective_dimension_interval
    assert report.sampler is None  # a stored study does not say how it was sampled
    # The fitted median tuning curve improves with n, and the band contains the median.
    curve = report.tuning_curve
    assert np.all(np.diff(curve.median) <= 1e-12)
    assert np.all(curve.band_low <= curve.median + 1e-9)
    assert np.all(curve.median <= curve.band_high + 1e-9)
    ext = report.extrapolation
    assert ext.median_after <= ext.median_now
    assert report.importances is not None and set(report.importances) == {"x", "y", "unused"}


def test_analyze_study_object_reports_importance_and_sampler() -> None:
    report = tune_extras.analyze(_random_study(), seed=0)
    assert report.sampler == "RandomSampler"
    assert report.importances is not None
    assert set(report.importances) == {"x", "y", "unused"}
    assert report.importances["unused"] < report.importances["x"]
    assert not any("not random search" in w for w in report.warnings)


def test_analyze_journal_storage(tmp_path: Path) -> None:
    from optuna.storages.journal import JournalFileBackend

    path = tmp_path / "journal.log"
    storage = optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    _random_study(storage, n_trials=120)
    before = _digest(path)
    report = tune_extras.analyze(f"journal:///{path}")
    assert _digest(path) == before
    assert report.trial_counts["used"] == 120
    assert report.best_interval.low <= 0.0 <= report.best_interval.high


def test_ignored_trials_are_counted_and_nan_reported(tmp_path: Path) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -1, 1)
        if trial.number % 10 == 0:
            raise optuna.TrialPruned()
        if trial.number % 10 == 1:
            return float("nan")  # Optuna records NaN as FAIL
        if trial.number % 10 == 2:
            raise RuntimeError("diverged")
        return x**2

    study.optimize(objective, n_trials=100, catch=(RuntimeError,))
    report = tune_extras.analyze(study, importance=False)
    counts = report.trial_counts
    assert counts["total"] == 100
    assert counts["used"] == 70
    assert counts["pruned"] == 10
    assert counts["fail"] == 20
    assert "20 fail" in report.to_text() and "10 pruned" in report.to_text()


def test_adaptive_sampler_gets_a_verdict_instead_of_numbers() -> None:
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(quadratic_objective, n_trials=80)
    report = tune_extras.analyze(study, importance=False)
    assert report.refusal is not None and "TPESampler" in report.refusal
    assert report.verdict[0].startswith("this study was not a random search")
    assert report.fit is None and report.best is None and report.tuning_curve is None
    text = report.to_text()
    assert "use RandomShareSampler to keep a random share" in text
    assert "best possible" not in text
    payload = json.loads(report.to_json())
    assert payload["best_possible"] is None and "not a random search" in payload["missing_reason"]
    with pytest.raises(ValueError, match="no tuning curve"):
        report.plot("unused.png")
    # The user may insist: then the numbers come, with a warning.
    forced = tune_extras.analyze(study, importance=False, assume_random=True)
    assert forced.fit is not None
    assert any("TPESampler" in w for w in forced.warnings)


def test_dataframe_input_and_json_round_trip() -> None:
    rng = np.random.default_rng(0)
    scores = 0.9 - rng.uniform(0, 1, 150) ** 2 * 0.3 + rng.normal(0, 0.002, 150)
    table = pd.DataFrame({"value": scores, "state": "COMPLETE", "number": range(150)})
    report = tune_extras.analyze(table, direction="maximize")
    assert report.direction == "maximize"
    # Best possible expected score 0.9 (c = 1, sigma = 0.002); the estimate is within 1.5 sigma.
    assert report.best == pytest.approx(0.9, abs=0.003)
    assert report.best_interval.low < report.best < report.best_interval.high
    payload = json.loads(report.to_json())
    assert payload["direction"] == "maximize"
    assert payload["trials"]["used"] == 150
    assert set(payload["best_possible"]) == {"estimate", "low", "high", "level", "notes"}
    assert len(payload["tuning_curve"]["n"]) == len(payload["tuning_curve"]["median"])


def test_plot_writes_png(tmp_path: Path) -> None:
    report = tune_extras.analyze(_random_study(n_trials=60), importance=False)
    path = report.plot(tmp_path / "curve.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_multi_objective_needs_an_objective_index() -> None:
    study = optuna.create_study(
        directions=["minimize", "maximize"], sampler=optuna.samplers.RandomSampler(seed=0)
    )
    study.optimize(
        lambda t: (t.suggest_float("x", -1, 1) ** 2, -abs(t.suggest_float("y", -1, 1))),
        n_trials=60,
    )
    with pytest.raises(ValueError, match="2 objectives; choose one with objective"):
        tune_extras.analyze(study)
    report = tune_extras.analyze(study, objective=1)
    assert report.direction == "maximize"
    assert report.importances is not None
    assert report.importances["y"] > report.importances["x"]  # objective 1 depends on y only
    assert load_trials(study, objective=0)["value"].min() >= 0.0


def test_bad_inputs_have_clear_errors(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    with pytest.raises(ValueError, match="no sqlite database"):
        tune_extras.analyze(f"sqlite:///{missing}")
    assert not missing.exists()  # no empty database was created
    with pytest.raises(ValueError, match="neither a database URL"):
        tune_extras.analyze(str(tmp_path / "nothing.log"))
    db = tmp_path / "s.db"
    _random_study(f"sqlite:///{db}", n_trials=25)
    with pytest.raises(ValueError, match="no study named 'other'"):
        tune_extras.analyze(f"sqlite:///{db}", study_name="other")
    small = _random_study(n_trials=12)
    with pytest.raises(ValueError, match="at least 20 completed or pruned trials"):
        tune_extras.analyze(small)
    with pytest.raises(ValueError, match="the same value"):
        tune_extras.analyze(pd.DataFrame({"value": [1.0] * 30}), direction="minimize")
    with pytest.raises(ValueError, match="direction"):
        tune_extras.analyze(pd.DataFrame({"value": np.arange(30.0)}))
    with pytest.raises(ValueError, match="not numeric"):
        tune_extras.analyze(pd.DataFrame({"value": ["a"] * 30}), direction="minimize")


def test_empirical_tuning_curve_known_answer() -> None:
    # Two values 0 and 1 (loss): best of n is 1 only if every draw is 1: E = 0.5^n.
    np.testing.assert_allclose(
        empirical_tuning_curve([0.0, 1.0], [1, 2, 3], "minimize"), [0.5, 0.25, 0.125]
    )
    np.testing.assert_allclose(empirical_tuning_curve([0.0, 1.0], [1, 2], "maximize"), [0.5, 0.75])


def test_improvement_trend_detects_order() -> None:
    tau, p = improvement_trend(np.linspace(1.0, 0.0, 50), "minimize")
    assert tau == pytest.approx(1.0) and p < 1e-6
    _, p_random = improvement_trend(np.random.default_rng(0).normal(size=200), "minimize")
    assert p_random > 0.01
    assert not math.isnan(p_random)
