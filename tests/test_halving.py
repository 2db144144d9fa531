"""Successive halving: rung arithmetic, the stopping rule, and the Optuna pruners on real storages."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tune_extras.halving import Rungs, auto_min_resource, is_promotable, should_stop, value_at
from tune_extras.optuna import HyperbandPruner, SuccessiveHalvingPruner

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_rung_arithmetic_known_cases() -> None:
    rungs = Rungs(min_resource=1, reduction_factor=3, max_resource=30)
    assert [rungs.step(k) for k in range(4)] == [1, 3, 9, 27]
    assert rungs.all_steps() == [1, 3, 9, 27]
    assert rungs.reached(0.5) == 0 and rungs.reached(3) == 2 and rungs.reached(100) == 4
    assert Rungs(2, 4, min_early_stopping_rate=1).step(0) == 8
    assert Rungs(1, 3, max_resource=27).all_steps() == [1, 3, 9]  # no rung at the last step
    assert auto_min_resource(100, 3) == 3  # floor(100 / 27)
    assert auto_min_resource(20, 3) == 1


def test_value_at_uses_first_report_at_or_beyond_the_rung() -> None:
    reports = [(1, 0.9), (2, 0.8), (5, 0.6)]
    assert value_at(reports, 3) == 0.6
    assert value_at(reports, 1) == 0.9
    assert value_at(reports, 6) is None


def test_promotion_rule_known_cases() -> None:
    # Top max(1, n // eta) continue: n = 9, eta = 3 -> the best 3.
    values = [float(v) for v in range(9)]
    assert is_promotable(2.0, values, 3, "minimize")
    assert not is_promotable(3.0, values, 3, "minimize")
    assert is_promotable(6.0, values, 3, "maximize")
    assert not is_promotable(5.0, values, 3, "maximize")
    assert is_promotable(0.5, [0.5, 0.7], 3, "minimize")  # n < eta: only the best continues
    assert not is_promotable(0.7, [0.5, 0.7], 3, "minimize")
    assert not is_promotable(math.nan, [math.nan], 3, "minimize")
    assert is_promotable(1.0, [1.0, math.nan, math.inf], 2, "minimize")


def test_nan_trial_stops_at_its_next_rung() -> None:
    rungs = Rungs(1, 3, max_resource=30)
    reports = {"a": [(1.0, 0.5)], "b": [(1.0, math.nan)]}
    assert should_stop(rungs, reports, "b", "minimize")
    assert not should_stop(rungs, reports, "a", "minimize")


@settings(max_examples=60, deadline=None)
@given(
    curves=st.lists(
        st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=12),
        min_size=1,
        max_size=15,
    ),
    eta=st.integers(2, 4),
    direction=st.sampled_from(["minimize", "maximize"]),
)
def test_best_trial_at_every_rung_is_never_stopped(
    curves: list[list[float]], eta: int, direction: str
) -> None:
    rungs = Rungs(1, eta, max_resource=13)
    reports = {i: [(float(s + 1), v) for s, v in enumerate(c)] for i, c in enumerate(curves)}
    sign = 1.0 if direction == "minimize" else -1.0
    for trial, own in reports.items():
        last = max(s for s, _ in own)
        best_everywhere = True
        for rung in range(rungs.reached(last)):
            at = rungs.step(rung)
            mine = value_at(own, at)
            others = [v for r in reports.values() if (v := value_at(r, at)) is not None]
            best_everywhere &= sign * mine <= min(sign * v for v in others)
        if best_everywhere:
            assert not should_stop(rungs, reports, trial, direction)


def _curve(x: float, step: int) -> float:
    # Crossing-free curves: the ranking at every step is the ranking of x.
    return x + 1.0 / step


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    for step in range(1, 31):
        trial.report(_curve(x, step), step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return _curve(x, 30)


def test_same_decisions_as_optuna_successive_halving_with_fixed_rungs() -> None:
    """Sequential study, rungs 1, 3, 9, 27 in both: ASHA's rule gives identical decisions."""
    states = []
    for pruner in (
        optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
        SuccessiveHalvingPruner(min_resource=1, max_resource=30, reduction_factor=3),
    ):
        study = optuna.create_study(pruner=pruner, sampler=optuna.samplers.RandomSampler(seed=3))
        study.optimize(_objective, n_trials=60)
        states.append([(t.state, t.last_step) for t in study.trials])
    assert states[0] == states[1]
    assert sum(s == optuna.trial.TrialState.PRUNED for s, _ in states[1]) > 30


def test_auto_resources_prune_from_the_first_trials() -> None:
    study = optuna.create_study(
        pruner=SuccessiveHalvingPruner(), sampler=optuna.samplers.RandomSampler(seed=0)
    )
    study.optimize(_objective, n_trials=40)
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    # max_resource is learned from the first trial (30 steps): min_resource = floor(30/27) = 1.
    assert len(pruned) >= 20
    best = min(study.trials, key=lambda t: t.params["x"])
    assert best.state == optuna.trial.TrialState.COMPLETE  # the best configuration is never cut


def test_hyperband_brackets_keep_the_best_and_save_resource() -> None:
    study = optuna.create_study(
        pruner=HyperbandPruner(max_resource=30), sampler=optuna.samplers.RandomSampler(seed=1)
    )
    study.optimize(_objective, n_trials=60)
    steps = sum(t.last_step for t in study.trials)
    assert steps < 0.7 * 60 * 30
    best = min(study.trials, key=lambda t: t.params["x"])
    assert best.state == optuna.trial.TrialState.COMPLETE


def test_sqlite_study_with_threads(tmp_path: Path) -> None:
    study = optuna.create_study(
        storage=f"sqlite:///{tmp_path}/sha.db",
        pruner=SuccessiveHalvingPruner(max_resource=30),
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    study.optimize(_objective, n_trials=40, n_jobs=2)
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.PRUNED) >= 10
    assert optuna.trial.TrialState.RUNNING not in states


_WORKER = """
import sys, optuna
sys.path.insert(0, {root!r})
from tests.test_halving import _objective
from tune_extras.optuna import SuccessiveHalvingPruner
from optuna.storages.journal import JournalFileBackend
optuna.logging.set_verbosity(optuna.logging.WARNING)
storage = optuna.storages.JournalStorage(JournalFileBackend({path!r}))
study = optuna.load_study(study_name="shared", storage=storage,
                          sampler=optuna.samplers.RandomSampler(seed=int(sys.argv[1])),
                          pruner=SuccessiveHalvingPruner(max_resource=30))
study.optimize(_objective, n_trials=25)
"""


def test_processes_sharing_a_journal_file(tmp_path: Path) -> None:
    from optuna.storages.journal import JournalFileBackend

    path = str(tmp_path / "journal.log")
    storage = optuna.storages.JournalStorage(JournalFileBackend(path))
    optuna.create_study(study_name="shared", storage=storage)
    root = str(Path(__file__).resolve().parents[1])
    script = _WORKER.format(root=root, path=path)
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(seed)], stderr=subprocess.PIPE)
        for seed in (1, 2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err.decode()
    study = optuna.load_study(study_name="shared", storage=storage)
    trials = study.trials
    assert len(trials) == 50
    pruned = [t for t in trials if t.state == optuna.trial.TrialState.PRUNED]
    assert len(pruned) >= 20
    # Every decision is a function of the stored curves: replaying the final storage, a completed
    # trial that is the best at every rung it reached would never be stopped.
    best = min(trials, key=lambda t: t.params["x"])
    assert best.state == optuna.trial.TrialState.COMPLETE


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_resource": 0}, "min_resource"),
        ({"max_resource": "big"}, "max_resource"),
        ({"reduction_factor": 1}, "reduction_factor"),
        ({"min_early_stopping_rate": -1}, "min_early_stopping_rate"),
        ({"bootstrap_count": -2}, "bootstrap_count"),
        ({"min_resource": 10, "max_resource": 5}, "must be <"),
    ],
)
def test_invalid_arguments_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SuccessiveHalvingPruner(**kwargs)


class _Trial:
    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id


def _ray_decisions(scheduler: object, curves: list[list[float]]) -> list[int]:
    """Drive a Ray scheduler object as Ray's controller does; return each trial's last step."""
    from ray.tune.schedulers import TrialScheduler

    last_steps = []
    for number, curve in enumerate(curves):
        trial = _Trial(str(number))
        scheduler.on_trial_add(None, trial)  # type: ignore[attr-defined]
        last = 0
        for step, value in enumerate(curve, start=1):
            last = step
            action = scheduler.on_trial_result(  # type: ignore[attr-defined]
                None, trial, {"training_iteration": step, "loss": value}
            )
            if action == TrialScheduler.STOP:
                break
        last_steps.append(last)
    return last_steps


def _optuna_decisions(pruner: optuna.pruners.BasePruner, curves: list[list[float]]) -> list[int]:
    study = optuna.create_study(pruner=pruner)
    last_steps = []
    for curve in curves:
        trial = study.ask()
        last = 0
        for step, value in enumerate(curve, start=1):
            last = step
            trial.report(value, step)
            if trial.should_prune():
                break
        study.tell(trial, state=optuna.trial.TrialState.PRUNED) if last < len(curve) else (
            study.tell(trial, curve[-1])
        )
        last_steps.append(last)
    return last_steps


@pytest.mark.parametrize("hyperband", [False, True])
def test_optuna_and_ray_adapters_decide_identically(hyperband: bool) -> None:
    from tune_extras.ray import HyperbandScheduler, SuccessiveHalvingScheduler

    rng = np.random.default_rng(5)
    # Noisy, crossing curves of 40 steps: final level, speed and noise differ by trial.
    curves = [
        list(
            rng.uniform(0, 1)
            + rng.uniform(0.2, 2) / np.arange(1, 41) ** rng.uniform(0.3, 1.5)
            + rng.normal(0, 0.02, 40)
        )
        for _ in range(50)
    ]
    ray_cls = HyperbandScheduler if hyperband else SuccessiveHalvingScheduler
    optuna_cls = HyperbandPruner if hyperband else SuccessiveHalvingPruner
    ray_steps = _ray_decisions(ray_cls(metric="loss", mode="min", max_t=40), curves)
    optuna_steps = _optuna_decisions(optuna_cls(max_resource=40), curves)
    # Ray stops a trial at max_t itself; Optuna lets it complete at its last report: same step.
    assert ray_steps == optuna_steps
    assert sum(s < 40 for s in ray_steps) > 20


def _scheduler_with_three_trials(max_t: int, steps: int) -> object:
    from tune_extras.ray import SuccessiveHalvingScheduler

    scheduler = SuccessiveHalvingScheduler(metric="loss", mode="min", max_t=max_t)
    for number, level in enumerate([0.5, 0.2, 0.9]):
        trial = _Trial(str(number))
        scheduler.on_trial_add(None, trial)
        for step in range(1, steps + 1):
            scheduler.on_trial_result(
                None, trial, {"training_iteration": step, "loss": level + 1 / step}
            )
    return scheduler


def test_ray_scheduler_state_survives_save_and_restore(tmp_path: Path) -> None:
    from ray.tune.schedulers import TrialScheduler

    from tune_extras.ray import SuccessiveHalvingScheduler

    first = _scheduler_with_three_trials(max_t=30, steps=30)
    path = str(tmp_path / "scheduler.json")
    first.save(path)  # type: ignore[attr-defined]
    restored = SuccessiveHalvingScheduler(metric="loss", mode="min", max_t=30)
    restored.restore(path)
    late = _Trial("late")
    restored.on_trial_add(None, late)
    # Worse than the stored trials at the first rung: stopped, as the original scheduler would.
    action = restored.on_trial_result(None, late, {"training_iteration": 1, "loss": 5.0})
    assert action == TrialScheduler.STOP
    assert "rungs at [1.0, 3.0, 9.0, 27.0]" in restored.debug_string()
    with pytest.raises(ValueError, match="mode"):
        SuccessiveHalvingScheduler(mode="up")


def test_promotion_candidate_known_cases() -> None:
    from tune_extras.halving import promotion_candidate

    rungs = Rungs(1, 3, max_resource=30)
    # Six trials reached rung 0 (step 1): the best 6 // 3 = 2 are promotable.
    reports = {k: [(1.0, v)] for k, v in zip("abcdef", [0.1, 0.5, 0.2, 0.9, 0.7, 0.3])}
    paused = dict.fromkeys("abcdef", 0)
    assert promotion_candidate(rungs, reports, paused, "minimize") == "a"
    del paused["a"]  # promoted: "a" runs on
    assert promotion_candidate(rungs, reports, paused, "minimize") == "c"
    del paused["c"]
    assert promotion_candidate(rungs, reports, paused, "minimize") is None  # start a new trial
    # Higher rungs first; a lone trial at a rung is promoted only when the search is finishing.
    reports["a"] = [(1.0, 0.1), (3.0, 0.05)]
    paused["a"] = 1
    assert promotion_candidate(rungs, reports, paused, "minimize") is None
    assert promotion_candidate(rungs, reports, paused, "minimize", finishing=True) == "a"
    assert promotion_candidate(rungs, reports, {"d": 0}, "maximize") == "d"


def test_scheduler_state_callback_round_trip() -> None:
    """Ray saves callbacks' ``get_state`` with every experiment checkpoint and hands it back to
    ``set_state`` on ``Tuner.restore``: the callback carries the scheduler's rungs across."""
    from ray.tune.callback import CallbackList

    from tune_extras.ray import SchedulerStateCallback, SuccessiveHalvingScheduler

    original = _scheduler_with_three_trials(max_t=27, steps=9)
    fresh = SuccessiveHalvingScheduler(metric="loss", mode="min", max_t=27)
    saved = CallbackList([SchedulerStateCallback(original)]).get_state()  # type: ignore[arg-type]
    CallbackList([SchedulerStateCallback(fresh)]).set_state(saved)
    assert fresh.state_dict() == original.state_dict()  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="tune-extras scheduler"):
        SchedulerStateCallback(object())  # type: ignore[arg-type]
