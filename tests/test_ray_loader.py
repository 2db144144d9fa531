"""Ray Tune experiments read back into the analyzer: finished, interrupted, and untrusted folders.

* A finished experiment, from the ResultGrid and from disk, gives the same table and a report.
* An experiment interrupted by Ctrl-C: the trials still running are RUNNING, the ones not started
  WAITING, and the analyzer leaves both out (they used to count as COMPLETE).
* A folder whose pickles and embedded cloudpickle blobs would run code: ``load_experiment``
  reads it without running anything; Ray's own ``ExperimentAnalysis`` runs the code.
* The JSON reader alone, on hand-written folders: statuses, a result line cut by a crash, nested
  metrics, Ray's creation order.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tune_extras
from tests.ray_faults import wait_for

pytestmark = pytest.mark.ray


def _trainable(config: dict) -> None:
    from ray import tune

    loss = (config["lr"] - 0.3) ** 2 + 0.5 * (config["opt"]["momentum"] - 0.5) ** 2
    for _ in range(2):
        tune.report({"loss": loss})


def test_experiment_to_report(ray_local: object, tmp_path: Path) -> None:
    from ray import tune

    from tune_extras.ray import load_experiment

    tuner = tune.Tuner(
        _trainable,
        param_space={"lr": tune.uniform(0, 1), "opt": {"momentum": tune.uniform(0, 1)}},
        tune_config=tune.TuneConfig(num_samples=20, metric="loss", mode="min"),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="exp", verbose=0),
    )
    grid = tuner.fit()
    from_grid = load_experiment(grid, "loss", "min")
    from_disk = load_experiment(tmp_path / "exp", "loss", "min")
    assert len(from_grid) == len(from_disk) == 20
    assert set(from_grid["state"]) == {"COMPLETE"}
    assert {"params_lr", "params_opt/momentum"} <= set(from_disk.columns)
    assert sorted(from_grid["value"]) == pytest.approx(sorted(r.metrics["loss"] for r in grid))
    assert list(from_grid["value"]) == list(from_disk["value"])
    report = tune_extras.analyze(from_disk, importance=False)
    assert report.direction == "minimize"
    assert report.trial_counts["used"] == 20
    assert report.best_observed == pytest.approx(from_grid["value"].min())
    with pytest.raises(ValueError, match="no trial reported the metric"):
        load_experiment(grid, "accuracy", "max")
    with pytest.raises(ValueError, match="no Ray Tune experiment folder"):
        load_experiment(tmp_path / "missing", "loss", "min")
    with pytest.raises(ValueError, match="mode must be 'min' or 'max', got 'minimize'"):
        load_experiment(grid, "loss", "minimize")


def _runs_until_interrupted(config: dict) -> None:
    from ray import tune

    index = config["i"]
    steps = 2 if index < 2 else 100_000  # trials 0 and 1 finish; 2 and 3 run until Ctrl-C
    for step in range(steps):
        tune.report({"loss": index + 1.0 / (step + 1)})
        Path(config["marks"], f"reported-{index}").touch()
        time.sleep(0.05)


@pytest.fixture(scope="module")
def interrupted(ray_local: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real experiment of 5 trials (2 at a time) stopped by Ctrl-C while trials 2 and 3 ran."""
    from ray import tune

    root = tmp_path_factory.mktemp("interrupted")
    marks = root / "marks"
    marks.mkdir()

    def interrupt() -> None:
        wait_for(lambda: (marks / "reported-2").exists() and (marks / "reported-3").exists())
        os.kill(os.getpid(), signal.SIGINT)  # Ray Tune stops the experiment and saves it

    sender = threading.Thread(target=interrupt)
    sender.start()
    tuner = tune.Tuner(
        _runs_until_interrupted,
        param_space={"i": tune.grid_search([0, 1, 2, 3, 4]), "marks": str(marks)},
        tune_config=tune.TuneConfig(metric="loss", mode="min"),  # 2 CPUs: 2 at a time
        run_config=tune.RunConfig(storage_path=str(root), name="exp", verbose=0),
    )
    handler = signal.getsignal(signal.SIGINT)
    try:
        grid = tuner.fit()
    finally:
        signal.signal(signal.SIGINT, handler)  # Ray Tune leaves its own handler installed
    sender.join()
    yield grid


def test_an_interrupted_experiment_keeps_its_running_trials_out(interrupted: object) -> None:
    from tune_extras.ray import load_experiment

    folder = Path(interrupted.experiment_path)  # type: ignore[attr-defined]
    for table in (
        load_experiment(interrupted, "loss", "min"),
        load_experiment(folder, "loss", "min"),
    ):
        assert list(table["params_i"]) == [0, 1, 2, 3, 4]  # Ray's creation order
        assert list(table["state"]) == ["COMPLETE", "COMPLETE", "RUNNING", "RUNNING", "WAITING"]
        assert list(table["value"][:2]) == [0.5, 1.5]  # 0 + 1/2 and 1 + 1/2
        assert (table["training_iteration"][2:4] >= 1).all()
    from tune_extras.analysis._sample import select_sample

    sample = select_sample(table)
    assert sample.counts["used"] == 2 and sample.counts["running"] == 2
    assert sample.counts["waiting"] == 1
    assert sorted(sample.values) == [0.5, 1.5]


class _MakeDirectory:
    """Unpickling this runs ``os.mkdir(path)``: a stand-in for an attacker's code."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (self.path,))


def _poison(folder: Path, payload: bytes) -> None:
    """Put ``payload`` in every pickle of an experiment folder and in a config value of trial 0."""
    for pickled in [*folder.glob("*.pkl"), *folder.glob("*/*.pkl")]:
        pickled.write_bytes(payload)
    (state_file,) = folder.glob("experiment_state-*.json")
    state = json.loads(state_file.read_text())
    trial_json, metadata = state["trial_data"][0]
    trial = json.loads(trial_json)
    trial["config"]["evil"] = {"_type": "CLOUDPICKLE_FALLBACK", "value": payload.hex()}
    state["trial_data"][0] = [json.dumps(trial), metadata]
    state_file.write_text(json.dumps(state))


def test_an_untrusted_folder_is_read_without_running_its_code(
    interrupted: object, tmp_path: Path
) -> None:
    from ray.tune import ExperimentAnalysis

    from tune_extras.ray import load_experiment
    from tune_extras.ray._loader import PICKLED_VALUE

    untrusted = tmp_path / "untrusted"
    shutil.copytree(interrupted.experiment_path, untrusted)  # type: ignore[attr-defined]
    ran = tmp_path / "the-code-ran"
    _poison(untrusted, pickle.dumps(_MakeDirectory(str(ran))))

    table = load_experiment(untrusted, "loss", "min")
    assert not ran.exists()
    assert len(table) == 5
    assert (table["params_evil"] == PICKLED_VALUE).sum() == 1  # the blob, never loaded

    try:
        ExperimentAnalysis(str(untrusted))
    except Exception:  # Ray may fail after running the code; the code ran all the same
        pass
    assert ran.exists(), "Ray's reader no longer unpickles the state file: update docs/ray.md"


def _write_experiment(folder: Path, trials: list[dict]) -> None:
    """A hand-written experiment folder in Ray Tune's layout (state file + result.json files)."""
    folder.mkdir(parents=True)
    data = []
    for trial in trials:
        logdir = f"t_{trial['id']}"
        (folder / logdir).mkdir()
        if "results" in trial:
            (folder / logdir / "result.json").write_text(trial["results"])
        state = {
            "trial_id": trial["id"],
            "status": trial["status"],
            "config": trial["config"],
            "relative_logdir": logdir,
        }
        data.append([json.dumps(state), json.dumps({"last_result": trial.get("last", {})})])
    (folder / "experiment_state-2026-01-01_00-00-00.json").write_text(
        json.dumps({"trial_data": data, "runner_data": {}, "stats": {}})
    )
    (folder / "experiment_state-2025-01-01_00-00-00.json").write_text("{not json: older file")


def _lines(*results: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in results)


def test_the_json_reader_on_a_hand_written_folder(tmp_path: Path) -> None:
    from tune_extras.ray import load_experiment

    folder = tmp_path / "hand"
    it = "training_iteration"
    _write_experiment(
        folder,
        [
            {
                "id": "ab_00010",
                "status": "TERMINATED",
                "config": {"lr": 0.1, "opt": {"m": 0.9}},
                "results": _lines({"val": {"loss": 0.7}, it: 1}, {"val": {"loss": 0.5}, it: 3}),
            },
            {  # a line cut by a crash: the last complete one counts
                "id": "ab_00002",
                "status": "TERMINATED",
                "config": {"lr": 0.2, "opt": {"m": 0.8}},
                "results": _lines({"val": {"loss": 0.4}, it: 3}) + '{"val": {"lo',
            },
            {  # stopped early by a scheduler
                "id": "ab_00003",
                "status": "TERMINATED",
                "config": {"lr": 0.3, "opt": {"m": 0.7}},
                "results": _lines({"val": {"loss": 0.9}, it: 1}),
            },
            {"id": "ab_00004", "status": "ERROR", "config": {"lr": 0.4, "opt": {"m": 0.6}}},
            {  # no result.json yet: the state file's last result is used
                "id": "ab_00005",
                "status": "PAUSED",
                "config": {"lr": 0.5, "opt": {"m": 0.5}},
                "last": {"val": {"loss": 0.3}, it: 2},
            },
            {"id": "ab_00006", "status": "TERMINATED", "config": {"lr": 0.6, "opt": {"m": 0.4}}},
        ],
    )
    table = load_experiment(folder, "val/loss", "max")
    assert list(table["params_lr"]) == [0.2, 0.3, 0.4, 0.5, 0.6, 0.1]  # by trial index
    assert list(table["state"]) == ["COMPLETE", "PRUNED", "FAIL", "RUNNING", "FAIL", "COMPLETE"]
    assert list(table["value"].fillna(-1)) == [0.4, 0.9, -1, 0.3, -1, 0.5]
    assert list(table["training_iteration"]) == [3, 1, 0, 2, 0, 3]
    assert list(table["params_opt/m"]) == [0.8, 0.7, 0.6, 0.5, 0.4, 0.9]
    assert table.attrs == {
        "direction": "maximize",
        "study_name": "hand",
        "sampler": None,
        "metric": "val/loss",
    }
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no experiment_state"):
        load_experiment(empty, "loss", "min")
