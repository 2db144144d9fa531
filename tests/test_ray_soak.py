"""Soak tests (``-m slow``): 500 short trials under random worker kills, and Ctrl-C twice, 20 runs.

Afterwards no trial is RUNNING, and every one of the 500 configurations ended COMPLETE, PRUNED or
FAIL with its reason recorded: either on its own, or through its re-runs (the last attempt of a
lineage is its outcome).
"""

from __future__ import annotations

import random
import threading
import time
from functools import partial
from pathlib import Path

import optuna
import pytest

from tests.ray_faults import assert_consistent, interrupt_a_driver, kill_worker, soak_objective
from tune_extras.ray import FAIL_REASON_ATTR, RETRY_OF_ATTR

# Minutes on a loaded 2-core machine; the limit only guards against a hang.
pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(1200)]
optuna.logging.set_verbosity(optuna.logging.WARNING)
State = optuna.trial.TrialState


def test_500_trials_under_random_worker_kills(ray_local: object, tmp_path: Path) -> None:
    from tune_extras.ray import optimize

    stop = threading.Event()
    kills: list[float] = []
    rng = random.Random(0)

    def kill_a_random_running_trial_now_and_then() -> None:
        while not stop.wait(rng.uniform(0.3, 1.2)):
            running = sorted(tmp_path.glob("pid-*"))
            if running and kill_worker(rng.choice(running)):
                kills.append(time.monotonic())

    killer = threading.Thread(target=kill_a_random_running_trial_now_and_then)
    killer.start()
    study = optuna.create_study(
        storage=f"sqlite:///{tmp_path}/soak.db",
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.PercentilePruner(80.0, n_startup_trials=10, n_warmup_steps=1),
    )
    started = time.monotonic()
    try:
        optimize(
            study,
            partial(soak_objective, folder=str(tmp_path)),
            500,
            resources_per_trial={"cpu": 0.5},
            max_retries=3,
        )
    finally:
        stop.set()
        killer.join()
    wall = time.monotonic() - started

    counts = assert_consistent(study)  # nothing RUNNING; every FAIL has its reason
    trials = study.trials
    lineage: dict[int, list[optuna.trial.FrozenTrial]] = {}
    for trial in trials:
        lineage.setdefault(trial.user_attrs.get(RETRY_OF_ATTR, trial.number), []).append(trial)
    assert len(lineage) == 500, "one lineage per configuration"
    outcomes: dict[str, int] = {}
    for attempts in lineage.values():
        assert len({a.params.get("x") for a in attempts if "x" in a.params}) <= 1  # same x
        *lost, last = attempts
        for attempt in lost:
            assert attempt.state == State.FAIL
            assert attempt.user_attrs[FAIL_REASON_ATTR].startswith("its Ray worker was lost")
        reason = last.user_attrs.get(FAIL_REASON_ATTR, "")
        assert last.state != State.FAIL or reason, f"trial {last.number}: FAIL without a reason"
        key = last.state.name if last.state != State.FAIL else reason.split(" (")[0].split(":")[0]
        outcomes[key] = outcomes.get(key, 0) + 1
    lost_attempts = sum(len(a) - 1 for a in lineage.values())
    print(
        f"\nsoak: {len(trials)} trials for 500 configurations in {wall:.0f} s, "
        f"{len(kills)} workers SIGKILLed, {lost_attempts} attempts lost and re-run; "
        f"states {counts}; outcomes per configuration {outcomes}"
    )
    assert len(kills) >= 10, "the killer must have hit running trials"
    assert lost_attempts >= 1
    assert outcomes.get("COMPLETE", 0) > 0 and outcomes.get("PRUNED", 0) > 0
    assert outcomes.get("ValueError", 0) > 0  # the objective's own failures, with their reason


def test_ctrl_c_twice_to_a_driver_process_twenty_times(ray_local: object, tmp_path: Path) -> None:
    import ray

    address = ray.get_runtime_context().gcs_address
    rng = random.Random(1)
    left_running = []
    for run in range(20):
        folder = tmp_path / f"run-{run}"
        folder.mkdir()
        gap = rng.uniform(0.0, 0.3)
        returncode, err = interrupt_a_driver(folder, address, [gap])
        assert returncode != 0 and "database is locked" not in err, err[-2000:]
        study = optuna.load_study(study_name="s", storage=f"sqlite:///{folder}/study.db")
        running = [t.number for t in study.trials if t.state == State.RUNNING]
        if running:
            left_running.append((run, gap, running))
        assert_consistent(study)
    print(f"\nCtrl-C twice: 20 runs, {len(left_running)} left a trial RUNNING")
    assert not left_running
