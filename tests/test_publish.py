"""Publishing to optuna-dashboard: opt-in, writes a note and artifacts of the study, no trial."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest

import tune_extras
from tune_extras.cli import main

optuna.logging.set_verbosity(optuna.logging.WARNING)
optuna_dashboard = pytest.importorskip("optuna_dashboard")
pytest.importorskip("matplotlib")


def _trials_snapshot(study: optuna.Study) -> str:
    """Every stored field of every trial, as text (system attributes included)."""
    return json.dumps(
        [
            [t.number, t.state.name, t.values, t.params, t.user_attrs, t.system_attrs,
             t.intermediate_values, str(t.datetime_start), str(t.datetime_complete)]
            for t in study.get_trials(deepcopy=True)
        ],
        sort_keys=True, default=str,
    )


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('publish')}/study.db"
    study = optuna.create_study(storage=url, study_name="pub",
                                sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -2, 2)
        y = trial.suggest_float("y", -2, 2)
        trial.report((x - 0.5) ** 2 + y**2 + 1.0, 1)
        return (x - 0.5) ** 2 + 0.1 * y**2

    study.optimize(objective, n_trials=80)
    return url


@pytest.fixture(scope="module")
def report(stored: str) -> tune_extras.StudyReport:
    return tune_extras.analyze(stored)


def test_publish_writes_a_note_and_figures_and_no_trial(
    stored: str, report: tune_extras.StudyReport, tmp_path: Path
) -> None:
    from optuna.artifacts import FileSystemArtifactStore, get_all_artifact_meta

    study = optuna.load_study(study_name="pub", storage=stored)
    before = _trials_snapshot(study)
    store_dir = tmp_path / "artifacts"
    store_dir.mkdir()
    body = report.publish(study, artifact_store=FileSystemArtifactStore(str(store_dir)))
    assert _trials_snapshot(optuna.load_study(study_name="pub", storage=stored)) == before
    assert optuna_dashboard.get_note(study) == body  # what the dashboard shows
    assert body.startswith("## tune-extras report: pub")
    assert report.verdict[0] in body and "best possible expected loss" in body
    metas = get_all_artifact_meta(study)
    names = sorted(meta.filename for meta in metas)
    assert "tune-extras-tuning_curve.svg" in names and "tune-extras-tail.svg" in names
    assert "tune-extras-pruning.svg" not in names  # no trial was pruned: not shown
    assert all(meta.mimetype == "image/svg+xml" for meta in metas)
    assert len(list(store_dir.iterdir())) == len(metas)
    # publishing again replaces the note
    assert report.publish(study) == optuna_dashboard.get_note(study)


def test_a_read_only_study_cannot_be_published_to(
    stored: str, report: tune_extras.StudyReport
) -> None:
    from tune_extras.optuna._loader import load_study

    with pytest.raises(ValueError, match="opened read-only"):
        report.publish(load_study(stored))
    other = optuna.create_study(study_name="other")
    with pytest.raises(ValueError, match="not 'other'"):
        report.publish(other)


def test_cli_publish(stored: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = optuna.load_study(study_name="pub", storage=stored)
    before = _trials_snapshot(study)
    artifacts = tmp_path / "figures"
    assert main(["report", stored, "--publish", "--artifact-dir", str(artifacts)]) == 0
    assert "published the report to study 'pub'" in capsys.readouterr().err
    assert optuna_dashboard.get_note(study).startswith("## tune-extras report: pub")
    assert _trials_snapshot(study) == before
    assert any(artifacts.iterdir())
