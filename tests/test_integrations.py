"""The cluster recipes in integrations/: configs that parse, and the entry point run locally."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

FOLDER = Path(__file__).resolve().parents[1] / "integrations"


def test_recipes_are_valid_yaml_with_the_entry_point() -> None:
    launcher = yaml.safe_load((FOLDER / "ray_cluster.yaml").read_text())
    assert {"cluster_name", "provider", "head_start_ray_commands"} <= set(launcher)
    job = yaml.safe_load((FOLDER / "kuberay_job.yaml").read_text())
    assert job["kind"] == "RayJob"
    assert "tune_extras.integrations.study_on_ray" in job["spec"]["entrypoint"]
    workers = job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]
    limits = workers["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "1"


def test_package_maps_the_folder() -> None:
    import tune_extras.integrations.study_on_ray as entry

    assert Path(entry.__file__).resolve().parent == FOLDER


@pytest.mark.ray
def test_entry_point_runs_a_study_with_logical_gpus(
    ray_local: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tune_extras.integrations.study_on_ray import main

    storage = f"sqlite:///{tmp_path}/s.db"
    assert (
        main(
            [
                "--storage",
                storage,
                "--n-trials",
                "4",
                "--gpus-per-trial",
                "1",
                "--cpus-per-trial",
                "0.5",
            ]
        )
        == 0
    )
    assert "the report needs at least 20" in capsys.readouterr().out  # 4 trials: no report yet
    import optuna

    study = optuna.load_study(study_name="study-on-ray", storage=storage)
    assert len(study.trials) == 4
    assert all(t.state.is_finished() for t in study.trials)


@pytest.mark.ray
def test_entry_point_reports_resources_the_cluster_lacks(
    ray_local: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tune_extras.integrations.study_on_ray import main

    storage = f"sqlite:///{tmp_path}/s.db"
    assert main(["--storage", storage, "--n-trials", "4", "--gpus-per-trial", "3"]) == 2
    assert "resources_per_trial={'cpu': 1.0, 'gpu': 3.0} fits on no node" in capsys.readouterr().err
    import optuna

    assert optuna.load_study(study_name="study-on-ray", storage=storage).trials == []
