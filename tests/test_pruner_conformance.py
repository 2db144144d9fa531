"""One conformance suite for every pruner and scheduler of tune-extras, Optuna and Ray alike.

Each kind (successive halving, Hyperband, learning curve) is a pair: the Optuna pruner and the Ray
Tune scheduler built on the same framework-free core. Every pair must

* take the same decisions on the same reports, in both directions, with NaN reports and failed
  trials among them (Ray's controller is played by :func:`_drive_ray`, as in the pruner benchmark);
* stop a trial reporting NaN, and keep failed trials' curves out of the finished ones;
* stay consistent on real shared storages (sqlite with ``n_jobs=2``, a journal file shared by two
  processes): no trial left running, nothing written to the study, the best configuration kept;
* survive an outlier step (``10**12``): learned resources do not move and pruning goes on;
* decide for a new study exactly as a fresh pruner would, when reused (same study name too);
* pickle, and (Ray) save and restore its state with the same decisions afterwards.
"""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

from tune_extras.optuna import HyperbandPruner, LearningCurvePruner, SuccessiveHalvingPruner

optuna.logging.set_verbosity(optuna.logging.WARNING)
pytest.importorskip("ray")
STEPS = 30
KINDS = ("halving", "hyperband", "learning-curve")


def _pruner(kind: str, **overrides: Any) -> optuna.pruners.BasePruner:
    if kind == "halving":
        return SuccessiveHalvingPruner(**{"min_resource": 1, "max_resource": STEPS, **overrides})
    if kind == "hyperband":
        return HyperbandPruner(**{"max_resource": STEPS, **overrides})
    return LearningCurvePruner(**{"max_resource": STEPS, **overrides})


def _scheduler(kind: str, mode: str) -> Any:
    from tune_extras.ray import (
        HyperbandScheduler,
        LearningCurveScheduler,
        SuccessiveHalvingScheduler,
    )

    if kind == "halving":
        return SuccessiveHalvingScheduler(metric="loss", mode=mode, max_t=STEPS, min_resource=1)
    if kind == "hyperband":
        return HyperbandScheduler(metric="loss", mode=mode, max_t=STEPS)
    return LearningCurveScheduler(metric="loss", mode=mode, max_t=STEPS)


def _curves(seed: int, n: int = 40) -> list[tuple[list[float], bool]]:
    """Crossing noisy loss curves; one in eight turns NaN at step 8, one in eight crashes at 12.

    Each item: (values to report, whether the trial crashes after its last report).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(1, STEPS + 1)
    out = []
    for i in range(n):
        final, scale, speed = rng.uniform(0.1, 1.0), rng.uniform(0.2, 2.0), rng.uniform(0.3, 1.5)
        curve = list(final + scale * t**-speed + rng.normal(0, 0.01, STEPS))
        if i % 8 == 5:
            curve[7:] = [math.nan] * (STEPS - 7)
        crash = i % 8 == 6
        out.append((curve[:12] if crash else curve, crash))
    return out


class _Trial:
    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id
        self.config: dict[str, Any] = {}


def _drive_ray(
    scheduler: Any, curves: list[tuple[list[float], bool]], sign: float, start: int = 0
) -> list[int]:
    """Ray's controller, played sequentially: how many results each trial reported.

    A stopped trial is reported complete (as Ray's controller does), a trial whose result is NaN
    and that is not stopped, or that crashes, errors.
    """
    from ray.tune.schedulers import TrialScheduler

    steps = []
    for number, (curve, crash) in enumerate(curves, start=start):
        trial = _Trial(f"t{number:03d}")
        scheduler.on_trial_add(None, trial)
        ended = False
        for step, value in enumerate(curve, start=1):
            result = {"training_iteration": step, "loss": sign * value}
            action = scheduler.on_trial_result(None, trial, result)
            if action == TrialScheduler.STOP and step < STEPS:
                scheduler.on_trial_complete(None, trial, result)
                ended = True
            elif math.isnan(value):
                scheduler.on_trial_error(None, trial)
                ended = True
            if ended:
                break
        if not ended:
            if crash:
                scheduler.on_trial_error(None, trial)
            else:
                scheduler.on_trial_complete(None, trial, result)
        steps.append(step)
    return steps


def _drive_optuna(
    pruner: optuna.pruners.BasePruner,
    curves: list[tuple[list[float], bool]],
    sign: float,
    study: optuna.Study | None = None,
) -> list[int]:
    """The same trials in an Optuna study: PRUNED when pruned, FAIL on NaN or a crash."""
    direction = "minimize" if sign > 0 else "maximize"
    study = study or optuna.create_study(direction=direction, pruner=pruner)
    steps = []
    for curve, crash in curves:
        trial = study.ask()
        state: optuna.trial.TrialState | None = None
        for step, value in enumerate(curve, start=1):
            trial.report(sign * value, step)
            if trial.should_prune() and step < STEPS:
                state = optuna.trial.TrialState.PRUNED
            elif math.isnan(value):
                state = optuna.trial.TrialState.FAIL
            if state is not None:
                break
        if state is None and crash:
            state = optuna.trial.TrialState.FAIL
        if state is None:
            study.tell(trial, sign * curve[-1])
        else:
            study.tell(trial, state=state)
        steps.append(step)
    return steps


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_optuna_and_ray_take_the_same_decisions(kind: str, sign: float) -> None:
    for seed in range(3):
        curves = _curves(seed)
        optuna_steps = _drive_optuna(_pruner(kind), curves, sign)
        ray_steps = _drive_ray(_scheduler(kind, "min" if sign > 0 else "max"), curves, sign)
        assert optuna_steps == ray_steps
        assert sum(s < len(c) for s, (c, _) in zip(optuna_steps, curves, strict=True)) >= 8


@pytest.mark.parametrize("kind", KINDS)
def test_nan_reports_stop_and_failed_trials_are_not_finished(kind: str) -> None:
    study = optuna.create_study(pruner=_pruner(kind))
    _drive_optuna(study.pruner, _curves(0, 24), 1.0, study)
    trial = study.ask()
    for step in range(1, STEPS):
        trial.report(math.nan if step >= 3 else 0.5, step)
        if trial.should_prune():
            break
    if kind == "learning-curve":
        assert step == 3  # at once
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        crashed = study.ask()  # better than every trial, then it crashes: not a finished trial
        for step in range(1, STEPS):
            crashed.report(0.01, step)
        study.tell(crashed, state=optuna.trial.TrialState.FAIL)
        complete = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
        probe = study.ask()
        for step in range(1, 6):
            probe.report(0.5 + 1 / step, step)
        decision = study.pruner.decide(study, study._storage.get_trial(probe._trial_id))
        assert decision.reference == pytest.approx(min(t.value for t in complete))
    else:  # at the next rung of its bracket
        rungs = study.pruner.core.rungs_of(trial.number)
        assert rungs is not None
        assert step == min(r for r in rungs.all_steps() if r >= 3)


def _objective(trial: optuna.Trial) -> float:
    x, y = trial.suggest_float("x", 0, 1), trial.suggest_float("y", 0, 1)
    for step in range(1, STEPS + 1):
        trial.report(0.1 + x + (0.3 + y) * step ** -(0.3 + 1.2 * y), step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return 0.1 + x + (0.3 + y) * STEPS ** -(0.3 + 1.2 * y)


def _check_shared_study(study: optuna.Study, kind: str, n_trials: int) -> None:
    trials = study.trials
    assert len(trials) == n_trials
    states = [t.state for t in trials]
    assert optuna.trial.TrialState.RUNNING not in states
    assert states.count(optuna.trial.TrialState.PRUNED) >= n_trials // 4
    assert all(not t.user_attrs and not t.system_attrs for t in trials)  # nothing written
    if kind != "learning-curve":
        for trial in study.get_trials(states=[optuna.trial.TrialState.PRUNED]):
            rungs = study.pruner.core.rungs_of(trial.number)
            assert rungs is not None and trial.last_step in rungs.all_steps()


@pytest.mark.parametrize("kind", KINDS)
def test_sqlite_with_two_threads(kind: str, tmp_path: Path) -> None:
    study = optuna.create_study(
        storage=f"sqlite:///{tmp_path / 'c.db'}",
        pruner=_pruner(kind),
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    study.optimize(_objective, n_trials=40, n_jobs=2)
    _check_shared_study(study, kind, 40)


_WORKER = """
import sys, optuna
sys.path.insert(0, {root!r})
from tests.test_pruner_conformance import _objective, _pruner
from optuna.storages.journal import JournalFileBackend
optuna.logging.set_verbosity(optuna.logging.WARNING)
storage = optuna.storages.JournalStorage(JournalFileBackend({path!r}))
study = optuna.load_study(study_name="shared", storage=storage, pruner=_pruner({kind!r}),
                          sampler=optuna.samplers.RandomSampler(seed=int(sys.argv[1])))
study.optimize(_objective, n_trials=20)
"""


@pytest.mark.parametrize("kind", KINDS)
def test_journal_file_shared_by_two_processes(kind: str, tmp_path: Path) -> None:
    from optuna.storages.journal import JournalFileBackend

    path = str(tmp_path / "journal.log")
    storage = optuna.storages.JournalStorage(JournalFileBackend(path))
    optuna.create_study(study_name="shared", storage=storage)
    root = str(Path(__file__).resolve().parents[1])
    script = _WORKER.format(root=root, path=path, kind=kind)
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(seed)], stderr=subprocess.PIPE)
        for seed in (1, 2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err.decode()
    study = optuna.load_study(study_name="shared", storage=storage, pruner=_pruner(kind))
    _check_shared_study(study, kind, 40)


@pytest.mark.parametrize("kind", KINDS)
def test_an_outlier_step_moves_nothing(kind: str) -> None:
    overrides = {"max_resource": "auto"}
    if kind == "halving":
        overrides["min_resource"] = 1
    study = optuna.create_study(
        pruner=_pruner(kind, **overrides), sampler=optuna.samplers.RandomSampler(seed=0)
    )
    study.optimize(_objective, n_trials=8)
    outlier = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    outlier.report(0.5, 1)
    outlier.report(0.5, 10**12)
    if kind == "learning-curve":
        assert not outlier.should_prune()  # beyond its target: never stopped
    else:
        with pytest.warns(UserWarning, match="beyond max_resource"):
            outlier.should_prune()  # judged at the rungs it passed; rungs stay where they were
    study.tell(outlier, 0.5)  # it even completes: the first completed trial still sets the end
    before = len(study.get_trials(states=[optuna.trial.TrialState.PRUNED]))
    study.optimize(_objective, n_trials=24)
    pruned = study.get_trials(states=[optuna.trial.TrialState.PRUNED])
    assert len(pruned) - before >= 8
    assert all(t.last_step < STEPS for t in pruned)


def _decisions_on(study: optuna.Study, pruner: optuna.pruners.BasePruner) -> list[bool]:
    return [pruner.prune(study, t) for t in study.trials]


@pytest.mark.parametrize("kind", KINDS)
def test_reused_for_a_new_study_of_the_same_name(kind: str, tmp_path: Path) -> None:
    """Regression: a LearningCurvePruner reused for a new study used the old study's curves."""
    storage = f"sqlite:///{tmp_path / 'r.db'}"
    pruner = _pruner(kind)
    first = optuna.create_study(study_name="same", storage=storage, pruner=pruner)
    _drive_optuna(pruner, _curves(0, 24), 1.0, first)
    _decisions_on(first, pruner)
    optuna.delete_study(study_name="same", storage=storage)
    second = optuna.create_study(study_name="same", storage=storage, pruner=pruner)
    _drive_optuna(pruner, _curves(1, 24), -1.0, second)  # other curves, other direction
    fresh = _pruner(kind)
    assert _decisions_on(second, pruner) == _decisions_on(second, fresh)
    memory = optuna.create_study(study_name="same", pruner=pruner)
    _drive_optuna(pruner, _curves(2, 24), 1.0, memory)
    assert _decisions_on(memory, pruner) == _decisions_on(memory, _pruner(kind))


@pytest.mark.parametrize("kind", KINDS)
def test_pickles_with_the_same_decisions(kind: str) -> None:
    study = optuna.create_study(pruner=_pruner(kind))
    _drive_optuna(study.pruner, _curves(3, 24), 1.0, study)
    copy = pickle.loads(pickle.dumps(study.pruner))
    assert _decisions_on(study, copy) == _decisions_on(study, study.pruner)
    scheduler = _scheduler(kind, "min")
    _drive_ray(scheduler, _curves(3, 24), 1.0)
    restored = pickle.loads(pickle.dumps(scheduler))
    assert repr(restored.state_dict()) == repr(scheduler.state_dict())  # NaN != NaN: by repr
    assert _drive_ray(restored, _curves(5, 8), 1.0, start=24) == _drive_ray(
        scheduler, _curves(5, 8), 1.0, start=24
    )


@pytest.mark.parametrize("kind", KINDS)
def test_ray_save_and_restore_keep_the_decisions(kind: str, tmp_path: Path) -> None:
    curves = _curves(4, 36)
    whole = _drive_ray(_scheduler(kind, "min"), curves, 1.0)
    first = _scheduler(kind, "min")
    head = _drive_ray(first, curves[:20], 1.0)
    path = tmp_path / "state.json"
    first.save(str(path))
    restored = _scheduler(kind, "min")
    restored.restore(str(path))
    assert head + _drive_ray(restored, curves[20:], 1.0, start=20) == whole
