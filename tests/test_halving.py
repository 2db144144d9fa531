"""Successive halving: rung arithmetic, the stopping rule, and the Optuna pruners on real storages."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tune_extras.halving import (
    Hyperband,
    Rungs,
    auto_min_resource,
    first_completed,
    is_promotable,
    should_stop,
    value_at,
)
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
    # NaN values are not recorded at the rung (as in Optuna's built-in): with three finite values
    # and one NaN, only the best finite value continues (3 // 3 = 1), not the best one of four.
    reports = {"a": [(1.0, 0.5)], "b": [(1.0, math.nan)], "c": [(1.0, 0.6)], "d": [(1.0, 0.7)]}
    assert should_stop(rungs, reports, "c", "minimize")


def test_a_trial_is_judged_only_at_the_report_that_reaches_a_rung() -> None:
    """Regression: a trial was re-judged at rungs it had passed, so it stopped between rungs."""
    rungs = Rungs(1, 3, max_resource=30)
    passed = [(1.0, 0.5), (2.0, 0.4)]  # best of one at step 1, now at step 2 (no rung)
    later = {f"x{i}": [(1.0, 0.1 * i)] for i in range(1, 5)}  # four better trials reach step 1
    assert should_stop(rungs, {"t": passed[:1], **later}, "t", "minimize")  # judged now: worst
    assert not should_stop(rungs, {"t": passed, **later}, "t", "minimize")  # step 2: no rung
    # Several rungs first reached by one report are all judged, with the latest value.
    sparse = {"t": [(1.0, 0.5), (10.0, 0.9)], "o": [(3.0, 0.1), (9.0, 0.2)], "p": [(9.0, 0.3)]}
    assert should_stop(rungs, sparse, "t", "minimize")
    assert Rungs(1, 3, max_resource=30).between(1, 10) == [3.0, 9.0]


@pytest.mark.parametrize("direction", ["min", "max", "MINIMIZE ", "up"])
def test_public_functions_reject_unknown_directions(direction: str) -> None:
    """Regression: any string but "minimize" used to maximise silently."""
    rungs = Rungs(1, 3, max_resource=30)
    with pytest.raises(ValueError, match="direction must be 'minimize' or 'maximize'"):
        should_stop(rungs, {"a": [(1.0, 0.5)]}, "a", direction)
    with pytest.raises(ValueError, match="direction"):
        is_promotable(0.5, [0.5, 0.7], 3, direction)
    with pytest.raises(ValueError, match="direction"):
        Hyperband(max_resource=30).should_stop({0: [(1.0, 0.5)]}, 0, direction)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reduction_factor": True}, "reduction_factor must be an int >= 2, got True"),
        ({"reduction_factor": 3.0}, "reduction_factor"),
        ({"min_early_stopping_rate": False}, "min_early_stopping_rate"),
        ({"bootstrap_count": -1}, "bootstrap_count"),
        ({"min_resource": 0}, "min_resource"),
        ({"max_resource": "big"}, "max_resource"),
        ({"brackets": 0}, "brackets"),
        ({"min_resource": 5, "max_resource": 5}, "must be < max_resource"),
    ],
)
def test_core_validates_its_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Hyperband(**kwargs)


def test_bracket_weights_are_li_et_al_budgets_as_in_optuna() -> None:
    """n_b = ceil(B eta^t / (t + 1)), t = B - 1 - b: Optuna's ``_trial_allocation_budgets``."""
    for max_resource, min_resource, eta in [(81, 1, 3), (50, 1, 3), (100, 2, 4), (30, 1, 2)]:
        ours = Hyperband(min_resource, max_resource, eta, brackets="auto").bracket_weights()
        reference = optuna.pruners.HyperbandPruner(min_resource, max_resource, eta)
        study = optuna.create_study(pruner=reference)
        reference._try_initialization(study)
        assert list(ours) == reference._trial_allocation_budgets
    # A round-robin period of sum(n_b) trials holds exactly n_b trials of bracket b.
    hb = Hyperband(1, 81, 3, brackets="auto")
    period = sum(hb.bracket_weights())
    counts = np.bincount([hb.bracket(n) for n in range(period)])
    assert counts.tolist() == list(hb.bracket_weights())
    counts = np.bincount([hb.bracket(n) for n in range(1000, 1000 + period)])
    assert counts.tolist() == list(hb.bracket_weights())


def test_min_early_stopping_rate_shifts_every_bracket() -> None:
    plain = Hyperband(1, 81, 3, brackets="auto")
    shifted = Hyperband(1, 81, 3, min_early_stopping_rate=1, brackets="auto")
    assert plain.bracket_count() == 5 and shifted.bracket_count() == 4
    assert shifted.rungs_of(0) is not None and shifted.rungs_of(0).all_steps() == [3, 9, 27]
    assert Hyperband(1, 81, 3, brackets=2).bracket_weights() == (3, 2)  # ceil(2*3/2), 2


def test_first_completed_ignores_later_and_outlier_steps() -> None:
    assert first_completed([]) is None
    assert first_completed([((2, 5), 10**12), ((1, 7), 30.0), ((3, 0), 40.0)]) == 30.0


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


@pytest.mark.parametrize("hyperband", [False, True])
def test_sqlite_study_with_threads_stops_only_at_rungs(tmp_path: Path, hyperband: bool) -> None:
    """Regression: with n_jobs=2, 1-4 trials per 100 stopped at steps that are not rungs."""
    pruner = (HyperbandPruner if hyperband else SuccessiveHalvingPruner)(
        min_resource=1, max_resource=30
    )
    study = optuna.create_study(
        storage=f"sqlite:///{tmp_path}/sha.db",
        pruner=pruner,
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    study.optimize(_objective, n_trials=60, n_jobs=2)
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.PRUNED) >= 10
    assert optuna.trial.TrialState.RUNNING not in states
    for trial in study.get_trials(states=[optuna.trial.TrialState.PRUNED]):
        rungs = pruner.core.rungs_of(trial.number)
        assert rungs is not None and trial.last_step in rungs.all_steps()


def _failing_objective(trial: optuna.Trial) -> float:
    """Crossing curves; some trials crash after a few decisions, some report NaN from step 8."""
    x, y = trial.suggest_float("x", 0.0, 1.0), trial.suggest_float("y", 0.0, 1.0)
    crash_at = 2 + int(10 * x) if y < 0.3 else None
    for step in range(1, 31):
        value = math.nan if 0.9 < x and step >= 8 else x + (0.5 + y) / step**y
        trial.report(value, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
        if step == crash_at:
            raise RuntimeError("the run crashed")
    return x


@pytest.mark.parametrize("seed", range(10))
def test_failed_and_nan_trials_count_as_in_optunas_built_in(seed: int) -> None:
    """Regression: FAILed trials were left out of the rungs (Optuna's built-in keeps them)."""
    outcomes = []
    for pruner in (
        optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
        SuccessiveHalvingPruner(min_resource=1, max_resource=30, reduction_factor=3),
    ):
        study = optuna.create_study(pruner=pruner, sampler=optuna.samplers.RandomSampler(seed=seed))
        study.optimize(_failing_objective, n_trials=60, catch=(RuntimeError,))
        outcomes.append([(t.state, t.last_step) for t in study.trials])
    assert outcomes[0] == outcomes[1]
    states = [state for state, _ in outcomes[1]]
    assert optuna.trial.TrialState.FAIL in states and optuna.trial.TrialState.PRUNED in states


def test_outlier_step_does_not_switch_pruning_off() -> None:
    """Regression: one report at step 10**12 with max_resource="auto" moved every rung past it."""
    study = optuna.create_study(
        pruner=SuccessiveHalvingPruner(), sampler=optuna.samplers.RandomSampler(seed=0)
    )
    study.optimize(_objective, n_trials=10)
    outlier = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    outlier.report(0.5, 1)
    with pytest.warns(UserWarning, match="beyond max_resource=30"):
        outlier.report(0.5, 10**12)
        outlier.should_prune()
    study.tell(outlier, state=optuna.trial.TrialState.PRUNED)
    before = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    study.optimize(_objective, n_trials=30)
    after = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    assert after - before >= 15
    rungs = study.pruner.core.rungs_of(0, 30)
    assert rungs is not None and rungs.all_steps() == [1, 3, 9, 27]


@pytest.mark.filterwarnings("ignore:trial .* beyond max_resource")
def test_learned_brackets_never_change_during_a_study() -> None:
    """Regression: with max_resource="auto" a trial's bracket moved as longer trials appeared."""

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        for step in range(1, 10 + trial.number + 1):  # every trial longer than the one before
            trial.report(x + 1 / step, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return x

    seen: dict[int, set[Rungs]] = {}

    class Recording(Hyperband):
        def rungs_of(self, number: int, learned_max: float | None = None) -> Rungs | None:
            rungs = super().rungs_of(number, learned_max)
            if rungs is not None:
                seen.setdefault(number, set()).add(rungs)
            return rungs

    pruner = HyperbandPruner(min_resource=1)
    pruner._core = Recording(**dataclasses.asdict(pruner.core))
    study = optuna.create_study(pruner=pruner, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=40)
    assert len(seen) >= 30
    assert all(len(rungs) == 1 for rungs in seen.values())
    assert {r.max_resource for rungs in seen.values() for r in rungs} == {10.0}


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


def test_ray_hyperband_takes_no_variant_even_positionally() -> None:
    """Regression: a positional "promotion" slipped through ``HyperbandScheduler(*args)``."""
    from tune_extras.ray import HyperbandScheduler

    args = ("training_iteration", "loss", "min", 27, 1, 3, 0, 0)
    assert HyperbandScheduler(*args).core.bracket_count() == 4
    with pytest.raises(TypeError):
        HyperbandScheduler(*args, "promotion")  # type: ignore[misc]
    with pytest.raises(TypeError):
        HyperbandScheduler(variant="promotion")  # type: ignore[call-arg]


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
        ({"min_resource": 2.5}, "min_resource"),
        ({"max_resource": "big"}, "max_resource"),
        ({"max_resource": True}, "max_resource"),
        ({"reduction_factor": 1}, "reduction_factor"),
        ({"reduction_factor": True}, "reduction_factor"),
        ({"min_early_stopping_rate": -1}, "min_early_stopping_rate"),
        ({"bootstrap_count": -2}, "bootstrap_count"),
        ({"min_resource": 10, "max_resource": 5}, "must be <"),
    ],
)
@pytest.mark.parametrize("hyperband", [False, True])
def test_invalid_arguments_are_named(kwargs: dict, message: str, hyperband: bool) -> None:
    with pytest.raises(ValueError, match=message):
        (HyperbandPruner if hyperband else SuccessiveHalvingPruner)(**kwargs)


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
