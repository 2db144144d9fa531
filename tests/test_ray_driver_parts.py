"""The parts of ``tune_extras.ray.optimize`` one at a time, without a Ray cluster.

Resources and the cluster's room (fake node lists, a fake clock), how a task's ending is sorted,
Optuna's value rule, Ctrl-C as a flag, and the driver's bookkeeping of results, re-runs and
shutdown on a real Optuna study (no task is submitted).
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
from pathlib import Path

import optuna
import pytest

ray = pytest.importorskip("ray")

from tune_extras.ray._driver import (  # noqa: E402
    ATTEMPT_ATTR,
    FAIL_REASON_ATTR,
    RETRY_OF_ATTR,
    StudyDriver,
)
from tune_extras.ray._interrupts import InterruptFlag  # noqa: E402
from tune_extras.ray._outcome import Outcome, invalid_value_reason, outcome_of  # noqa: E402
from tune_extras.ray._resources import (  # noqa: E402
    ClusterWatch,
    NoNodeFitsError,
    TrialResources,
    cluster_slots,
    describe_nodes,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)
State = optuna.trial.TrialState


def _node(cpu: float, gpu: float = 0.0, alive: bool = True) -> dict:
    resources = {"CPU": cpu, "memory": 1e9}
    if gpu:
        resources["GPU"] = gpu
    return {"Alive": alive, "Resources": resources}


# -- resources ------------------------------------------------------------------------------------


def test_resources_are_validated_with_the_argument_named() -> None:
    assert TrialResources.parse(None) == TrialResources(cpu=1.0, gpu=0.0)
    assert TrialResources.parse({"gpu": 0.5}) == TrialResources(cpu=1.0, gpu=0.5)
    with pytest.raises(ValueError, match=r"takes 'cpu' and 'gpu', got \['memory'\]"):
        TrialResources.parse({"memory": 1})
    with pytest.raises(ValueError, match=r"resources_per_trial\['gpu'\] must be a finite"):
        TrialResources.parse({"gpu": -1})
    with pytest.raises(ValueError, match=r"resources_per_trial\['cpu'\] must be a finite"):
        TrialResources.parse({"cpu": "4"})
    with pytest.raises(ValueError, match="above 1 must be a whole number"):
        TrialResources.parse({"gpu": 1.5})
    with pytest.raises(ValueError, match="needs a positive 'cpu' or 'gpu'"):
        TrialResources.parse({"cpu": 0})


@pytest.mark.parametrize(
    ("resources", "node", "slots"),
    [
        ({"cpu": 1}, _node(2), 2),
        ({"cpu": 4}, _node(2), 0),
        ({"gpu": 1}, _node(8), 0),  # a GPU trial on a CPU-only node
        ({"cpu": 0.5, "gpu": 1}, _node(2, 2), 2),
        ({"cpu": 0, "gpu": 0.5}, _node(1, 2), 4),
        ({"cpu": 0.1}, _node(0.3), 3),  # 0.3 / 0.1 is 2.9999999999999996 in floats; Ray says 3
        ({"cpu": 2, "gpu": 1}, _node(16, 1), 1),
    ],
)
def test_slots_on_a_node(resources: dict, node: dict, slots: int) -> None:
    assert TrialResources.parse(resources).slots_on(node["Resources"]) == slots


def test_slots_of_a_cluster_count_alive_nodes_only() -> None:
    nodes = [_node(0), _node(2, 1), _node(4, 1, alive=False), _node(1)]
    assert cluster_slots(TrialResources.parse({"cpu": 1}), nodes) == 3
    assert cluster_slots(TrialResources.parse({"cpu": 0.5, "gpu": 1}), nodes) == 1
    assert describe_nodes(nodes) == (
        "3 alive nodes: {'CPU': 0, 'GPU': 0}, {'CPU': 2, 'GPU': 1}, {'CPU': 1, 'GPU': 0}"
    )


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _watch(nodes: list[dict], wait: float | None, autoscaler: bool | None, **kw: object):
    clock = _Clock()
    reads = {"n": 0}

    def read() -> list[dict]:
        reads["n"] += 1
        return nodes

    watch = ClusterWatch(
        TrialResources.parse(kw.pop("resources", {"gpu": 1})),  # type: ignore[arg-type]
        wait,
        nodes=read,
        autoscaler=lambda r: autoscaler,
        clock=clock,
    )
    return watch, clock, reads


def test_no_node_fits_on_a_fixed_cluster_fails_at_once() -> None:
    watch, _, _ = _watch([_node(2)], None, None)
    assert watch.wait == 0
    with pytest.raises(ValueError, match=r"resources_per_trial=\{'cpu': 1.0, 'gpu': 1.0\} fits on"):
        watch.check(force=True)
    watch, _, _ = _watch([_node(2)], None, False)  # an autoscaler whose node types lack GPUs
    with pytest.raises(ValueError, match="no node type of its autoscaler has them"):
        watch.check(force=True)


def test_an_autoscaler_gets_a_warning_and_a_bounded_wait(caplog: pytest.LogCaptureFixture) -> None:
    nodes = [_node(2)]
    watch, clock, _ = _watch(nodes, None, True)
    assert watch.autoscaling and watch.wait == 600.0
    with caplog.at_level(logging.WARNING, logger="tune_extras.ray"):
        assert watch.check(force=True) == 0
    assert "waiting up to 600 s" in caplog.text and "autoscaler detected" in caplog.text
    clock.now = 599.0
    assert watch.check(force=True) == 0
    nodes.append(_node(4, 1))  # the autoscaler added a GPU node
    assert watch.check(force=True) == 1
    nodes.pop()
    clock.now = 700.0
    assert watch.check(force=True) == 0  # a new wait starts
    clock.now = 1300.0
    with pytest.raises(NoNodeFitsError, match="for 600 s"):
        watch.check(force=True)


def test_losing_the_last_fitting_node_is_an_error() -> None:
    nodes = [_node(1), _node(1, 1)]
    watch, _, _ = _watch(nodes, None, None)
    assert watch.check(force=True) == 1
    nodes.pop()
    with pytest.raises(NoNodeFitsError, match="lost every node that could hold"):
        watch.check(force=True)


def test_nodes_are_read_at_most_once_per_refresh_period() -> None:
    watch, clock, reads = _watch([_node(2, 2)], None, None)
    for _ in range(5):
        watch.check()
    assert reads["n"] == 1
    clock.now = 1.0
    watch.check()
    assert reads["n"] == 2
    watch.check(force=True)
    assert reads["n"] == 3


def test_an_autoscaler_is_detected_from_its_node_types_or_the_launchers_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ray._private import state as ray_state
    from ray.core.generated import autoscaler_pb2

    from tune_extras.ray._resources import autoscaler_fits

    config = autoscaler_pb2.ClusterConfig()
    group = config.node_group_configs.add()
    group.name, group.max_count = "gpu-workers", 2
    group.resources["CPU"], group.resources["GPU"] = 8, 1
    monkeypatch.setattr(ray_state.state, "get_cluster_config", lambda: config)
    one_gpu = TrialResources.parse({"gpu": 1})
    assert autoscaler_fits(one_gpu) is True
    assert autoscaler_fits(TrialResources.parse({"gpu": 2})) is False
    group.max_count = 0  # a node type the autoscaler may never start
    assert autoscaler_fits(one_gpu) is False

    monkeypatch.setattr(ray_state.state, "get_cluster_config", lambda: None)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert autoscaler_fits(one_gpu) is None
    (tmp_path / "ray_bootstrap_config.yaml").write_text("cluster_name: demo\n")
    assert autoscaler_fits(one_gpu) is True


# -- outcomes -------------------------------------------------------------------------------------


def _raise(error: BaseException):
    def get() -> object:
        raise error

    return get


def test_outcomes_sort_the_objectives_errors_from_lost_workers() -> None:
    assert outcome_of(lambda: ("value", 0.5)) == Outcome("value", value=0.5)
    assert outcome_of(lambda: ("pruned", None)) == Outcome("pruned")

    task_error = ray.exceptions.RayTaskError("f", "Traceback: line 7 in f", ValueError("boom"))
    failed = outcome_of(_raise(task_error.as_instanceof_cause()))
    assert failed.kind == "failed"
    assert failed.reason == "ValueError: boom"
    assert "line 7 in f" in failed.traceback

    lost = {
        "WorkerCrashedError": ray.exceptions.WorkerCrashedError(),
        "NodeDiedError": ray.exceptions.NodeDiedError("node 1 died"),
        "OutOfMemoryError": ray.exceptions.OutOfMemoryError("Task was killed: low memory"),
        "LocalRayletDiedError": ray.exceptions.LocalRayletDiedError(),
    }
    for name, error in lost.items():
        outcome = outcome_of(_raise(error))
        assert outcome.kind == "lost", name
        assert outcome.reason.startswith(name)

    # Ray's OOM error raised inside the objective arrives as RayTaskError(OutOfMemoryError).
    oom = ray.exceptions.RayTaskError(
        "f", "tb", ray.exceptions.OutOfMemoryError("killed")
    ).as_instanceof_cause()
    assert outcome_of(_raise(oom)) == Outcome("lost", reason="OutOfMemoryError: killed")

    setup = outcome_of(_raise(ray.exceptions.RuntimeEnvSetupError("pip failed")))
    assert setup.kind == "failed"
    unreadable = outcome_of(_raise(ModuleNotFoundError("No module named 'model'")))
    assert unreadable == Outcome(
        "failed",
        reason="its result could not be read: ModuleNotFoundError: No module named 'model'",
    )


def test_invalid_values_follow_optunas_rule() -> None:
    assert invalid_value_reason(0.5, 1) == ""
    assert invalid_value_reason(math.inf, 1) == ""  # Optuna keeps infinities
    assert invalid_value_reason([1, 2.0], 2) == ""
    assert invalid_value_reason(math.nan, 1) == "the objective returned NaN"
    assert invalid_value_reason("abc", 1) == "the objective returned 'abc', not a number"
    assert invalid_value_reason(None, 1) == "the objective returned None, not a number"
    assert "2 value(s) for a study of 1 objective(s)" in invalid_value_reason((1, 2), 1)


# -- Ctrl-C ---------------------------------------------------------------------------------------


def test_sigint_inside_the_flag_is_counted_not_raised() -> None:
    received: list[int] = []
    before = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        with InterruptFlag() as flag:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # let the interpreter run the handler
                if flag.count == 2:
                    break
            assert flag.count == 2 and flag.requested
            assert received == []  # the handler in place before was not called
        os.kill(os.getpid(), signal.SIGINT)  # after the context: that handler again
        for _ in range(1000):
            if received:
                break
        assert received == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, before)


def test_the_flag_changes_nothing_outside_the_main_thread() -> None:
    seen = {}

    def body() -> None:
        with InterruptFlag() as flag:
            seen["installed"] = flag._installed

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == {"installed": False}


# -- the driver's bookkeeping ---------------------------------------------------------------------


def _driver(study: optuna.Study, n_trials: int = 3, max_retries: int = 2) -> StudyDriver:
    resources = TrialResources.parse({"cpu": 1})
    watch = ClusterWatch(resources, nodes=lambda: [_node(2)], autoscaler=lambda r: None)
    return StudyDriver(
        study,
        lambda trial: 0.0,
        n_trials,
        resources=resources,
        cluster=watch,
        max_retries=max_retries,
    )


def _objective_params(driver: StudyDriver) -> object:
    attempt = driver.ask()
    attempt.trial.suggest_float("x", 0.0, 1.0)
    return attempt


def test_a_lost_trial_is_re_run_with_its_lineage_until_max_retries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    driver = _driver(study, n_trials=1, max_retries=2)
    first = _objective_params(driver)
    x = first.trial.params["x"]
    with caplog.at_level(logging.WARNING, logger="tune_extras.ray"):
        driver.record(first, Outcome("lost", reason="WorkerCrashedError: died"))
        second = _objective_params(driver)
        driver.record(second, Outcome("lost", reason="OutOfMemoryError: killed"))
        third = _objective_params(driver)
        driver.record(third, Outcome("lost", reason="NodeDiedError: gone"))
    assert (second.retry_of, second.attempt) == (first.trial.number, 2)
    assert (third.retry_of, third.attempt) == (first.trial.number, 3)
    trials = study.trials
    assert [t.state for t in trials] == [State.FAIL] * 3
    assert [t.params["x"] for t in trials] == [x, x, x]
    assert trials[1].user_attrs[RETRY_OF_ATTR] == trials[2].user_attrs[RETRY_OF_ATTR] == 0
    assert [t.user_attrs.get(ATTEMPT_ATTR) for t in trials] == [None, 2, 3]
    reasons = [t.user_attrs[FAIL_REASON_ATTR] for t in trials]
    assert reasons[0] == (
        "its Ray worker was lost (WorkerCrashedError: died); re-run as attempt 2 of 3"
    )
    assert reasons[2].endswith("not re-run: max_retries=2 reached")
    assert driver.finished == 1 and not driver.retries and not driver.running
    assert caplog.text.count("its Ray worker was lost") == 3


def test_a_user_enqueued_trial_asked_first_keeps_its_own_identity() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    driver = _driver(study, n_trials=3)
    lost = _objective_params(driver)
    driver.record(lost, Outcome("lost", reason="WorkerCrashedError: died"))
    study.enqueue_trial({"x": 0.25})  # the user's, older than the re-run once that is enqueued
    users = driver.ask()  # enqueues the re-run, but the user's trial comes out first
    assert users.trial.suggest_float("x", 0.0, 1.0) == 0.25
    assert (users.retry_of, users.attempt) == (users.trial.number, 1)
    rerun = driver.ask()
    assert (rerun.retry_of, rerun.attempt) == (lost.trial.number, 2)
    assert rerun.trial.suggest_float("x", 0.0, 1.0) == lost.trial.params["x"]


def test_failures_are_logged_with_the_remote_traceback_and_recorded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    driver = _driver(study, n_trials=4)
    outcomes = [
        Outcome("value", value=0.5),
        Outcome("pruned"),
        Outcome("failed", reason="ValueError: boom", traceback="Traceback: objective line 9"),
        Outcome("value", value=math.nan),
    ]
    with caplog.at_level(logging.WARNING, logger="tune_extras.ray"):
        for outcome in outcomes:
            driver.record(_objective_params(driver), outcome)
    trials = study.trials
    assert [t.state for t in trials] == [State.COMPLETE, State.PRUNED, State.FAIL, State.FAIL]
    assert trials[0].value == 0.5
    assert trials[2].user_attrs[FAIL_REASON_ATTR] == "ValueError: boom"
    assert trials[3].user_attrs[FAIL_REASON_ATTR] == "the objective returned NaN"
    assert "Trial 2 failed with parameters: {'x'" in caplog.text
    assert "because of the following error: ValueError: boom." in caplog.text
    assert "Traceback: objective line 9" in caplog.text
    assert "Trial 3 failed with parameters" in caplog.text
    assert driver.finished == 4


def test_shutdown_records_every_running_trial_even_when_a_write_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    driver = _driver(study, n_trials=5)
    attempts = [_objective_params(driver) for _ in range(3)]
    driver.record(
        attempts[0], Outcome("lost", reason="WorkerCrashedError: died")
    )  # a queued re-run
    real_tell = study.tell
    calls = {"n": 0}

    def flaky_tell(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:  # the storage fails once, for the first trial of the shutdown
            raise OSError("disk full")
        return real_tell(*args, **kwargs)

    study.tell = flaky_tell  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="tune_extras.ray"):
        driver.shutdown(KeyboardInterrupt())
    study.tell = real_tell  # type: ignore[method-assign]
    assert not driver.running and not driver.retries
    states = [t.state for t in study.trials]
    assert states == [State.FAIL, State.RUNNING, State.FAIL]  # trial 1's write failed
    assert study.trials[2].user_attrs[FAIL_REASON_ATTR] == (
        "interrupted (KeyboardInterrupt) while it ran"
    )
    assert "Could not record trial 1 as FAIL (OSError: disk full)" in caplog.text
    assert "1 lost trial(s) not re-run" in caplog.text
