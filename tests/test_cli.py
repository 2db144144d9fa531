"""The command line: ``tune-extras report`` and ``tune-extras demo``, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from tune_extras.cli import main

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def sqlite_study(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cli") / "study.db"
    url = f"sqlite:///{path}"
    for name, sign in (("loss", 1.0), ("score", -1.0)):
        study = optuna.create_study(
            storage=url,
            study_name=name,
            direction="minimize" if sign > 0 else "maximize",
            # (seed 1 draws no x within 0.14 of the optimum in 80 trials, a 0.3% event)
            sampler=optuna.samplers.RandomSampler(seed=0),
        )
        study.optimize(lambda t, s=sign: s * (t.suggest_float("x", -2, 2) - 0.5) ** 2, n_trials=80)
    return url


def test_report_text(sqlite_study: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", sqlite_study, "--study", "loss"]) == 0
    out = capsys.readouterr().out
    assert "tune-extras study report: loss" in out
    assert "best possible loss (estimate)" in out
    assert "effective hyperparameters" in out
    assert "100 more trials" in out


def test_report_json_for_a_score(sqlite_study: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", sqlite_study, "--study", "score", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["direction"] == "maximize"
    assert payload["trials"]["used"] == 80
    low, high = payload["best_possible"]["low"], payload["best_possible"]["high"]
    assert float(low) <= 0.0 + 1e-3 and float(high) >= -1e-3


def test_report_errors_exit_2_with_a_message(
    sqlite_study: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", sqlite_study]) == 2  # two studies: which one?
    assert "holds 2 studies" in capsys.readouterr().err
    assert main(["report", f"sqlite:///{tmp_path}/missing.db"]) == 2
    assert "no sqlite database" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    """The README's demo command, with fewer trials, in a subprocess as a user runs it."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tune_extras.cli",
            "demo",
            "--trials",
            "40",
            "--storage",
            f"sqlite:///{tmp_path}/demo.db",
            "--plot",
            str(tmp_path / "demo.png"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "best possible loss (estimate)" in result.stdout
    assert (tmp_path / "demo.png").exists()
    # Running again resumes the stored study instead of training again.
    again = subprocess.run(
        [sys.executable, "-m", "tune_extras.cli", "report", f"sqlite:///{tmp_path}/demo.db"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert again.returncode == 0 and "trials: 40 used of 40" in again.stdout
