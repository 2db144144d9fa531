"""Each tune-extras sampler behind ``tune_extras.ray.OptunaSearch`` in a real local Ray Tune run.

Ray's searcher pickles itself (sampler included) into the experiment checkpoint and asks the sampler
from the Tune controller; the Optuna study, in an sqlite file, must afterwards hold every trial with
its parameters, final value and (for the multi-fidelity sampler's sake) the intermediate values.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from tests.test_sampler_conformance import CASES, OURS, SamplerCase, _available, assert_valid

pytestmark = pytest.mark.ray

STEPS = 3


def _trainable(config: dict[str, Any]) -> None:
    from ray import tune

    base = (config["x"] - 0.3) ** 2 + (math.log10(config["lr"]) + 2.0) ** 2 / 4.0
    base += 0.2 * config["layers"] + (0.0 if config["act"] == "relu" else 0.5)
    for step in range(1, STEPS + 1):
        tune.report({"loss": base + 1.0 / step})


def _space() -> dict[str, Any]:
    import optuna

    return {
        "x": optuna.distributions.FloatDistribution(-1.0, 1.0),
        "lr": optuna.distributions.FloatDistribution(1e-4, 1.0, log=True),
        "layers": optuna.distributions.IntDistribution(1, 4),
        "act": optuna.distributions.CategoricalDistribution(["relu", "tanh"]),
    }


def _run(case: SamplerCase, tmp_path: Path, num_samples: int) -> list[Any]:
    import optuna
    from ray import tune

    from tune_extras.ray import OptunaSearch

    storage = f"sqlite:///{tmp_path}/ray-{case.name}.db"
    searcher = OptunaSearch(
        space=_space(),
        metric="loss",
        mode="min",
        sampler=case.make(0),
        storage=optuna.storages.RDBStorage(storage),
        study_name=case.name,
        max_resource=STEPS,
    )
    tuner = tune.Tuner(
        _trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            num_samples=num_samples,
            max_concurrent_trials=2,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name=case.name, verbose=0),
    )
    results = tuner.fit()
    assert not results.errors
    assert len(results) == num_samples

    # Ray's checkpoint of the searcher (a pickle of it, sampler and study included) resumes.
    searcher.save(str(tmp_path / "searcher.pkl"))
    restored = OptunaSearch()
    restored.restore(str(tmp_path / "searcher.pkl"))
    assert type(restored._sampler) is type(searcher._sampler)
    config = restored.suggest("after-restore")
    assert config is not None and set(config) == set(_space())
    for name, value in config.items():
        assert_valid(value, _space()[name], f"restored {name}")
    restored.on_trial_complete(
        "after-restore", {"loss": 1.0, "training_iteration": STEPS, "done": True}
    )
    return optuna.load_study(study_name=case.name, storage=storage).trials


def _check(trials: list[Any], num_samples: int) -> None:
    import optuna

    space = _space()
    assert len(trials) == num_samples + 1  # and the one the restored searcher ran
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * (num_samples + 1)
    for trial in trials:
        assert set(trial.params) == set(space)
        for name, value in trial.params.items():
            assert_valid(value, space[name], f"trial {trial.number} {name}")
    for trial in trials[:num_samples]:
        assert sorted(trial.intermediate_values) == list(range(1, STEPS + 1))
        assert trial.value == pytest.approx(trial.intermediate_values[STEPS])
    keys = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(keys)) == len(keys), "a configuration was suggested twice"


def _params() -> list[Any]:
    return [
        pytest.param(
            case,
            id=case.name,
            marks=[] if _available(case) else [pytest.mark.skip(reason=f"{case.name} not built")],
        )
        for case in OURS
    ]


@pytest.mark.parametrize("case", _params())
def test_tuner_with_our_sampler(case: SamplerCase, ray_local: object, tmp_path: Path) -> None:
    _check(_run(case, tmp_path, num_samples=12), 12)


@pytest.mark.slow
@pytest.mark.parametrize("case", _params())
def test_tuner_with_our_sampler_past_the_start_phase(
    case: SamplerCase, ray_local: object, tmp_path: Path
) -> None:
    """40 trials: the model phase runs under Ray too, and the best trial beats the first 10's best."""
    trials = _run(case, tmp_path, num_samples=40)
    _check(trials, 40)
    assert min(t.value for t in trials[:40]) < min(t.value for t in trials[:10])


def test_random_share_marks_survive_ray(ray_local: object, tmp_path: Path) -> None:
    """RandomShareSampler(share=1) under Ray: every trial carries the random-draw mark."""
    from tune_extras._attrs import RANDOM_DRAW_ATTR

    case = CASES["random-share"]
    if not _available(case):
        pytest.skip("random-share sampler not built yet")
    from tune_extras.optuna import RandomShareSampler

    everything = SamplerCase(
        "all-random", lambda s: RandomShareSampler(share=1.0, seed=s), 0, True, True
    )
    trials = _run(everything, tmp_path, num_samples=4)
    assert all(t.user_attrs.get(RANDOM_DRAW_ATTR) is True for t in trials)
