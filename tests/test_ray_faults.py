"""Faults injected into real local Ray runs of ``optimize``: afterwards no trial is RUNNING.

Each test breaks something a careless or unlucky user would (a worker SIGKILLed, Ray's
out-of-memory error, an objective that raises or returns junk, resources the cluster lacks, a
sampler that crashes, Ctrl-C once and twice, in this process and in a driver process on SQLite)
and checks the stored study: every trial COMPLETE, PRUNED or FAIL, every FAIL with its reason.
Node loss and Ray's real memory monitor are in test_ray_cluster.py (they need their own Ray).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from functools import partial
from pathlib import Path

import optuna
import pytest

from tests.ray_faults import (
    assert_consistent,
    interrupt_a_driver,
    kill_worker,
    sleeper,
    started,
    wait_for,
)
from tune_extras.ray import ATTEMPT_ATTR, FAIL_REASON_ATTR, RETRY_OF_ATTR

pytestmark = pytest.mark.ray
optuna.logging.set_verbosity(optuna.logging.WARNING)
State = optuna.trial.TrialState


def _study(tmp_path: Path, seed: int = 0) -> optuna.Study:
    return optuna.create_study(
        storage=f"sqlite:///{tmp_path}/study.db", sampler=optuna.samplers.RandomSampler(seed=seed)
    )


def test_a_sigkilled_worker_is_recorded_and_re_run(ray_local: object, tmp_path: Path) -> None:
    from tune_extras.ray import optimize

    killed: list[Path] = []

    def kill_the_first_running_trial() -> None:
        wait_for(lambda: list(tmp_path.glob("pid-*")))
        for pid_file in tmp_path.glob("pid-*"):
            if kill_worker(pid_file):
                killed.append(pid_file)
                return

    killer = threading.Thread(target=kill_the_first_running_trial)
    killer.start()
    study = _study(tmp_path)
    optimize(study, partial(sleeper, folder=str(tmp_path), seconds=1.5), 3, max_concurrent=2)
    killer.join()
    assert len(killed) == 1
    counts = assert_consistent(study)
    assert counts == {"COMPLETE": 3, "FAIL": 1}
    (failed,) = [t for t in study.trials if t.state == State.FAIL]
    assert failed.user_attrs[FAIL_REASON_ATTR].startswith("its Ray worker was lost (")
    (rerun,) = [t for t in study.trials if t.user_attrs.get(RETRY_OF_ATTR) is not None]
    assert rerun.user_attrs[RETRY_OF_ATTR] == failed.number
    assert rerun.user_attrs[ATTEMPT_ATTR] == 2
    assert rerun.params == failed.params and rerun.state == State.COMPLETE


def _out_of_memory_once(trial: object, folder: str) -> float:
    import ray

    x = trial.suggest_float("x", 0.0, 1.0)  # type: ignore[attr-defined]
    marker = Path(folder) / f"oom-{x:.12f}"
    if not marker.exists():
        marker.touch()
        raise ray.exceptions.OutOfMemoryError(
            "Task was killed due to the node running low on memory"
        )
    return x


def test_rays_out_of_memory_error_is_re_run(ray_local: object, tmp_path: Path) -> None:
    from tune_extras.ray import optimize

    study = _study(tmp_path)
    optimize(study, partial(_out_of_memory_once, folder=str(tmp_path)), 2, max_concurrent=1)
    assert assert_consistent(study) == {"COMPLETE": 2, "FAIL": 2}
    reasons = [t.user_attrs.get(FAIL_REASON_ATTR, "") for t in study.trials]
    assert sum("(OutOfMemoryError: Task was killed" in r for r in reasons) == 2


def _raises_for_large_x(trial: object) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)  # type: ignore[attr-defined]
    if x > 0.5:
        raise ValueError(f"x={x:.3f} is too large")
    return x


def test_an_objectives_exception_is_logged_with_its_traceback(
    ray_local: object, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tune_extras.ray import optimize

    study = _study(tmp_path, seed=3)
    with caplog.at_level(logging.WARNING, logger="tune_extras.ray"):
        optimize(study, _raises_for_large_x, 8, max_concurrent=2)
    assert len(study.trials) == 8  # an exception is not re-run
    assert_consistent(study)
    failed = [t for t in study.trials if t.state == State.FAIL]
    assert failed, "seed 3 draws x > 0.5"
    assert all(t.params["x"] > 0.5 for t in failed)
    for trial in failed:
        reason = trial.user_attrs[FAIL_REASON_ATTR]
        assert reason == f"ValueError: x={trial.params['x']:.3f} is too large"
        assert f"Trial {trial.number} failed with parameters: {trial.params}" in caplog.text
    assert "in _raises_for_large_x" in caplog.text  # the remote traceback
    assert caplog.text.count("ray::run_trial()") == len(failed)
    assert "\x1b[" not in caplog.text  # no terminal colours in the log


def _returns_junk(trial: object) -> object:
    x = trial.suggest_float("x", 0.0, 1.0)  # type: ignore[attr-defined]
    return {0: "abc", 1: None, 2: float("nan")}.get(trial.number, x)  # type: ignore[attr-defined]


def test_an_invalid_return_value_is_a_failure_with_its_reason(
    ray_local: object, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tune_extras.ray import optimize

    study = _study(tmp_path)
    with caplog.at_level(logging.WARNING, logger="tune_extras.ray"):
        optimize(study, _returns_junk, 4, max_concurrent=1)
    assert_consistent(study)
    reasons = [t.user_attrs.get(FAIL_REASON_ATTR) for t in study.trials]
    assert reasons == [
        "the objective returned 'abc', not a number",
        "the objective returned None, not a number",
        "the objective returned NaN",
        None,
    ]
    assert "Trial 1 failed with parameters" in caplog.text


@pytest.mark.parametrize("resources", [{"gpu": 3}, {"cpu": 4}], ids=["gpu", "cpu"])
def test_resources_no_node_has_fail_at_once(
    ray_local: object, tmp_path: Path, resources: dict
) -> None:
    from tune_extras.ray import optimize

    study = _study(tmp_path)
    with pytest.raises(ValueError, match="fits on no node of the Ray cluster") as error:
        optimize(study, _raises_for_large_x, 4, resources_per_trial=resources, timeout=5)
    wanted = {"cpu": 1.0, **{k: float(v) for k, v in resources.items()}}
    assert f"resources_per_trial={wanted}" in str(error.value)
    assert "1 alive node: {'CPU': 2, 'GPU': 2}" in str(error.value)
    assert study.trials == []  # checked before any trial was asked


def test_resources_that_fill_a_node_exactly_run(ray_local: object, tmp_path: Path) -> None:
    from tune_extras.ray import optimize

    study = _study(tmp_path)
    optimize(study, _raises_for_large_x, 2, resources_per_trial={"cpu": 2, "gpu": 2})
    assert len(study.trials) == 2
    assert_consistent(study)


def test_an_autoscaler_gets_a_bounded_wait(
    ray_local: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tune_extras.ray import _resources, optimize

    monkeypatch.setattr(_resources, "autoscaler_fits", lambda resources: True)
    study = _study(tmp_path)
    with (
        caplog.at_level(logging.WARNING, logger="tune_extras.ray"),
        pytest.raises(RuntimeError, match="for 1 s"),
    ):
        optimize(study, _raises_for_large_x, 4, resources_per_trial={"gpu": 4}, resource_timeout=1)
    assert "waiting up to 1 s for one (autoscaler detected)" in caplog.text
    # One trial was queued for the autoscaler to see; it is recorded, not left RUNNING.
    assert assert_consistent(study) == {"FAIL": 1}
    reason = study.trials[0].user_attrs[FAIL_REASON_ATTR]
    assert reason.startswith("optimize stopped by NoNodeFitsError: no node of the Ray cluster")
    assert "the autoscaler added none that fits while it ran" in reason


class _CrashingSampler(optuna.samplers.RandomSampler):
    """A sampler that raises in ``study.ask`` (the driver) for the 4th trial, while others run."""

    def __init__(self) -> None:
        super().__init__(seed=0)
        self.asks = 0

    def before_trial(self, study: optuna.Study, trial: object) -> None:
        self.asks += 1
        if self.asks == 4:
            raise RuntimeError("sampler crashed")


def test_an_exception_in_the_driver_leaves_no_trial_running(
    ray_local: object, tmp_path: Path
) -> None:
    from tune_extras.ray import optimize

    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/s.db", sampler=_CrashingSampler())
    objective = partial(sleeper, folder=str(tmp_path), seconds=0.5)
    with pytest.raises(RuntimeError, match="sampler crashed"):
        optimize(study, objective, 10, max_concurrent=2)
    counts = assert_consistent(study)
    assert counts.get("FAIL", 0) >= 1
    reasons = [t.user_attrs[FAIL_REASON_ATTR] for t in study.trials if t.state == State.FAIL]
    # The 4th trial: created in the storage by study.ask() before the sampler raised.
    assert study.trials[3].user_attrs[FAIL_REASON_ATTR] == (
        "study.ask() raised RuntimeError: sampler crashed after creating the trial"
    )
    running = "optimize stopped by RuntimeError: sampler crashed while it ran"
    assert reasons.count(running) == counts["FAIL"] - 1 >= 1  # the two that ran


def test_an_unpicklable_objective_is_a_clear_error(ray_local: object) -> None:
    from tune_extras.ray import optimize

    lock = threading.Lock()
    study = optuna.create_study()
    with pytest.raises(TypeError, match="objective must be picklable"):
        optimize(study, lambda trial: float(lock.locked()), 2)
    assert study.trials == []


def _interrupt_when(folder: Path, n_started: int) -> threading.Thread:
    def send() -> None:
        wait_for(lambda: started(folder) >= n_started)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def test_ctrl_c_once_records_the_running_trials(
    ray_local: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tune_extras.ray import optimize

    study = _study(tmp_path)
    before = signal.getsignal(signal.SIGINT)
    sender = _interrupt_when(tmp_path, 2)
    objective = partial(sleeper, folder=str(tmp_path), seconds=1.0)
    with pytest.raises(KeyboardInterrupt):
        optimize(study, objective, 20, max_concurrent=2, show_progress_bar=True)
    sender.join()
    counts = assert_consistent(study)
    assert counts.get("FAIL", 0) >= 1
    for trial in study.trials:
        if trial.state == State.FAIL:
            assert (
                trial.user_attrs[FAIL_REASON_ATTR] == "interrupted (KeyboardInterrupt) while it ran"
            )
    assert "trials" in capsys.readouterr().err  # the progress bar was shown
    assert signal.getsignal(signal.SIGINT) is before  # the handler is restored


def test_ctrl_c_twice_the_second_during_the_clean_up(
    ray_local: object, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tune_extras.ray import optimize

    study = _study(tmp_path)
    real_tell = study.tell

    def tell_with_a_second_ctrl_c(trial: object, *args: object, **kwargs: object) -> object:
        if kwargs.get("skip_if_finished"):  # the shutdown's first write: Ctrl-C lands inside it
            study.tell = real_tell  # type: ignore[method-assign]
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)  # the handler runs here; before the fix it raised here
        return real_tell(trial, *args, **kwargs)  # type: ignore[arg-type]

    study.tell = tell_with_a_second_ctrl_c  # type: ignore[method-assign]
    sender = _interrupt_when(tmp_path, 2)
    objective = partial(sleeper, folder=str(tmp_path), seconds=1.0)
    with (
        caplog.at_level(logging.WARNING, logger="tune_extras.ray"),
        pytest.raises(KeyboardInterrupt),
    ):
        optimize(study, objective, 20, max_concurrent=2)
    sender.join()
    assert study.tell is real_tell, "the shutdown wrote no FAIL"
    counts = assert_consistent(study)
    assert counts.get("FAIL", 0) >= 1
    assert "1 further Ctrl-C ignored while the trials were recorded" in caplog.text


@pytest.mark.parametrize("gap", [0.0, 0.05], ids=["back-to-back", "50ms-apart"])
def test_ctrl_c_twice_to_a_driver_process_on_sqlite(
    ray_local: object, tmp_path: Path, gap: float
) -> None:
    import ray

    address = ray.get_runtime_context().gcs_address
    returncode, err = interrupt_a_driver(tmp_path, address, [gap])
    assert returncode != 0 and "KeyboardInterrupt" in err, err[-2000:]
    assert "database is locked" not in err
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path}/study.db")
    counts = assert_consistent(study)
    assert counts.get("FAIL", 0) >= 1, counts
