"""The command line: ``tune-extras report`` and ``tune-extras demo``, run as a user would."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest

import tune_extras
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
    assert "best possible expected loss" in out
    assert "effective hyperparameters" in out
    assert "100 more random trials would improve the best observed loss by" in out


def test_report_json_for_a_score(sqlite_study: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", sqlite_study, "--study", "score", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["direction"] == "maximize"
    assert payload["trials"]["used"] == 80
    best = payload["best_possible"]
    # -(x - 0.5)^2 <= 0: a score that never goes above 0, inferred from the values
    assert payload["bounds"] == {"low": None, "high": 0.0, "source": "data"}
    assert best["high"] <= 0.0
    assert best["low"] is None or best["low"] <= 0.0 + 1e-3
    assert best["high"] >= -1e-3


def test_report_errors_exit_2_with_a_message(
    sqlite_study: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", sqlite_study]) == 2  # two studies: which one?
    assert "holds 2 studies" in capsys.readouterr().err
    assert main(["report", f"sqlite:///{tmp_path}/missing.db"]) == 2
    assert "no sqlite database" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()


def test_report_flags_bounds_tail_seed(
    sqlite_study: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", sqlite_study, "--study", "loss", "--format", "json"]
    assert main([*args, "--bounds", "none", "--tail", "30", "--seed", "3"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["bounds"]["source"] == "none"
    assert payload["fit"]["tail_trials"] == 30
    assert main([*args, "--bounds=-1,4", "--tail", "0.5"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["bounds"] == {"low": -1.0, "high": 4.0, "source": "given"}
    assert payload["fit"]["tail_trials"] == 40
    assert main([*args, "--bounds", "0,"]) == 0
    assert json.loads(capsys.readouterr().out)["bounds"]["low"] == 0.0


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--bounds", "zero", "--bounds takes LO,HI"),
        ("--bounds", "1,0", "--bounds needs LO < HI"),
        ("--tail", "many", "--tail takes 'auto'"),
        ("--tail", "1.5", "--tail as a share must be in (0, 1]"),
    ],
)
def test_report_flag_errors_name_the_flag(
    sqlite_study: str, capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", sqlite_study, "--study", "loss", flag, value])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_report_fit_errors_name_flags(
    sqlite_study: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", sqlite_study, "--study", "loss", "--tail", "5"]) == 2
    err = capsys.readouterr().err
    assert "--tail must be between" in err and "tail=" not in err


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
            "--html",
            str(tmp_path / "demo.html"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "best possible expected loss" in result.stdout
    assert (tmp_path / "demo.png").exists() and (tmp_path / "demo.html").exists()
    # Running again resumes the stored study instead of training again.
    again = subprocess.run(
        [sys.executable, "-m", "tune_extras.cli", "report", f"sqlite:///{tmp_path}/demo.db"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert "40 used of 40" in again.stdout


@pytest.mark.slow
def test_full_size_demo(tmp_path: Path) -> None:
    """The README's demo as it is (300 trials, two at a time), then its report and HTML page."""
    result = subprocess.run(
        [sys.executable, "-m", "tune_extras.cli", "demo", "--storage",
         f"sqlite:///{tmp_path}/demo.db", "--plot", str(tmp_path / "demo.png"), "--html",
         str(tmp_path / "demo.html")],
        capture_output=True, text=True, timeout=1800, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "300 used of 300" in result.stdout
    assert (tmp_path / "demo.png").exists() and (tmp_path / "demo.html").exists()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"tune-extras {tune_extras.__version__}"


def test_bare_paths_relative_journal_and_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    from optuna.storages.journal import JournalFileBackend

    journal = optuna.storages.JournalStorage(JournalFileBackend("study.log"))
    study = optuna.create_study(storage=journal, study_name="j",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", -2, 2) - 0.5) ** 2, n_trials=60)
    optuna.copy_study(from_study_name="j", from_storage=journal, to_storage="sqlite:///study.db")
    before = {name: _digest(tmp_path / name) for name in ("study.log", "study.db")}
    for source in ("study.db", "study.log", "journal:///study.log", "sqlite+pysqlite:///study.db"):
        assert main(["report", source, "--format", "json"]) == 0, capsys.readouterr().err
        assert json.loads(capsys.readouterr().out)["trials"]["used"] == 60
    assert {name: _digest(tmp_path / name) for name in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.db", "study.log"]


def test_typos_and_broken_files_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not a study\n")
    (tmp_path / "broken.db").write_bytes(b"SQLite format 3\x00" + bytes(100))
    cases = {
        "sqlite+pysqlite:///typo.db": "no sqlite database at 'typo.db'",
        "journal:///typo.log": "no journal file at 'typo.log'",
        "typo.db": "neither a database URL",
        "notes.txt": "is not an Optuna journal file",
        "broken.db": "file is not a database",
        str(tmp_path): "not a Ray Tune experiment",
    }
    for source, message in cases.items():
        assert main(["report", source]) == 2
        err = capsys.readouterr().err
        assert message in err, (source, err)
        assert err.count("\n") == 1 and err.startswith("tune-extras report: error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.db", "notes.txt"]


@pytest.mark.parametrize("flag", ["--plot", "--html"])
def test_output_to_a_bad_path_is_a_one_line_error_before_any_work(
    sqlite_study: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    target = tmp_path / "no" / "such" / "folder" / "out.png"
    assert main(["report", sqlite_study, "--study", "loss", flag, str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{flag} {target}: no folder" in err
    assert main(["report", sqlite_study, "--study", "loss", flag, str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_html_and_plot_files(
    sqlite_study: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page, figure = tmp_path / "report.html", tmp_path / "curve.svg"
    args = ["report", sqlite_study, "--study", "loss", "--html", str(page), "--plot", str(figure)]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "HTML report: " in captured.err and "tuning-curve plot: " in captured.err
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "Study report: loss" in html
    assert figure.read_text().lstrip().startswith("<?xml")


def test_flags_named_in_errors(sqlite_study: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", sqlite_study]) == 2
    err = capsys.readouterr().err
    assert "name one with --study" in err and "study_name" not in err
    assert main(["report", sqlite_study, "--study", "loss", "--objective", "1"]) == 2
    err = capsys.readouterr().err
    assert "--objective 1" in err and "objective=" not in err
    assert main(["report", sqlite_study, "--study", "loss", "--artifact-dir", "x"]) == 2
    assert "--artifact-dir goes with --publish" in capsys.readouterr().err


def test_a_missing_optional_dependency_names_the_extra(
    sqlite_study: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert main(["report", sqlite_study, "--study", "loss", "--plot",
                 str(tmp_path / "c.png")]) == 2
    assert "pip install 'tune-extras[plot]'" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)
    assert main(["report", sqlite_study, "--study", "loss", "--publish"]) == 2
    assert "pip install 'tune-extras[dashboard]'" in capsys.readouterr().err


def _ray_folder(folder: Path, n: int = 60) -> None:
    """A Ray Tune experiment folder in Ray's layout (state file and result.json files), as
    tests/test_ray_loader.py writes it: a random search of ``(x - 0.5)^2``."""
    rng = np.random.default_rng(0)
    folder.mkdir()
    data = []
    for i in range(n):
        x = float(rng.uniform(-2, 2))
        logdir = f"t_{i:05d}"
        (folder / logdir).mkdir()
        result = {"loss": (x - 0.5) ** 2, "training_iteration": 1}
        (folder / logdir / "result.json").write_text(json.dumps(result) + "\n")
        state = {"trial_id": f"ab_{i:05d}", "status": "TERMINATED", "config": {"x": x},
                 "relative_logdir": logdir}
        data.append([json.dumps(state), json.dumps({"last_result": result})])
    (folder / "experiment_state-2026-01-01_00-00-00.json").write_text(
        json.dumps({"trial_data": data, "runner_data": {}, "stats": {}})
    )


def test_a_ray_tune_experiment_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "my_experiment"
    _ray_folder(folder)
    assert main(["report", str(folder)]) == 2
    assert "--metric NAME --direction minimize|maximize" in capsys.readouterr().err
    args = ["report", str(folder), "--metric", "loss", "--direction", "minimize"]
    assert main([*args, "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["study_name"] == "my_experiment" and payload["trials"]["used"] == 60
    assert payload["metric"] == "loss" and payload["bounds"]["low"] == 0.0  # a loss is >= 0
    assert main([*args, "--publish"]) == 2
    assert "not a Ray Tune experiment" in capsys.readouterr().err
