"""The benchmark harness: known optima, faithful replay, determinism, and a smoke run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from benchmarks.__main__ import main as bench_main
from benchmarks.__main__ import suites, summarise
from benchmarks.opda_data import load_runs
from benchmarks.problems import (
    CURVE_PROBLEMS,
    MultiFidelityBranin,
    QuadraticSurface,
    SyntheticPow3,
    TorchTraining,
    branin,
    get_curve_problem,
    hartmann6,
)


@pytest.mark.parametrize("x", [(-math.pi, 12.275), (math.pi, 2.275), (9.42478, 2.475)])
def test_branin_minima(x: tuple[float, float]) -> None:
    assert branin(*x) == pytest.approx(0.397887, abs=1e-5)


def test_hartmann6_minimum() -> None:
    argmin = np.array([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])
    assert hartmann6(argmin) == pytest.approx(-3.32237, abs=1e-4)
    rng = np.random.default_rng(0)
    assert min(hartmann6(x) for x in rng.random((500, 6))) > -3.32237


def test_multi_fidelity_branin_reaches_branin_at_full_fidelity() -> None:
    problem = MultiFidelityBranin()
    config = {"x1": 2.0, "x2": 5.0}
    curve = problem.curve(config)
    assert len(curve) == problem.max_resource
    assert curve[-1] == pytest.approx(branin(2.0, 5.0))
    assert curve[0] != pytest.approx(curve[-1])


def test_quadratic_surface_has_known_optimum_and_effective_dimension() -> None:
    from tune_extras.surface import fit_near_optimum

    surface = QuadraticSurface(d=6, k=2, noise=0.01)
    best = {f"x{i}": float(v) for i, v in enumerate(surface.optimum)}
    assert surface.true_value(best) == 0.0
    moved = dict(best, x5=0.0)  # a direction that does not matter
    assert surface.true_value(moved) == 0.0
    fit = fit_near_optimum(surface.sample_scores(400, seed=0))
    assert 0.0 in fit.best_interval
    assert 2.0 in fit.effective_dimension_interval


def test_replay_curve_is_the_recorded_curve(opda_available: bool) -> None:
    problem = get_curve_problem("deberta-v3-base")
    runs = load_runs("deberta-v3-base")
    config = problem.sample_configs(5, seed=1)[3]
    np.testing.assert_array_equal(problem.curve(config), runs[config["index"]].values)
    assert problem.direction == "maximize"
    assert problem.max_resource == max(len(r.values) for r in runs)
    assert problem.best_final() == pytest.approx(max(r.final for r in runs))


def test_problems_are_deterministic() -> None:
    pow3 = SyntheticPow3()
    configs = pow3.sample_configs(4, seed=7)
    assert configs == pow3.sample_configs(4, seed=7)
    np.testing.assert_array_equal(pow3.curve(configs[0], seed=2), pow3.curve(configs[0], seed=2))
    assert not np.array_equal(pow3.curve(configs[0], seed=2), pow3.curve(configs[0], seed=3))
    digits = TorchTraining(max_resource=3, cache=False)
    config = digits.sample_configs(1, seed=0)[0]
    first = digits.curve(config, seed=0)
    np.testing.assert_array_equal(first, digits.curve(config, seed=0))
    assert first.shape == (3,)
    cnn = get_curve_problem("torch-cnn-digits")
    assert isinstance(cnn, TorchTraining) and cnn.architecture == "cnn"


def test_every_named_curve_problem_builds() -> None:
    for name in CURVE_PROBLEMS:
        problem = get_curve_problem(name)
        assert problem.direction in ("minimize", "maximize")
        assert problem.max_resource >= 1
    with pytest.raises(ValueError, match="unknown curve problem"):
        get_curve_problem("nope")


def test_summarise_median_and_iqr() -> None:
    rows = [{"problem": "p", "method": "m", "seed": s, "x": float(s)} for s in range(5)]
    (entry,) = summarise(rows, ("x",))
    assert entry["x"] == (2.0, 1.0, 3.0)
    assert entry["seeds"] == 5


def test_pruners_smoke_run_writes_results(tmp_path: Path, opda_available: bool) -> None:
    assert {"analyzer", "pruners", "samplers"} <= set(suites())
    code = bench_main(
        ["run", "pruners", "--quick", "--seeds", "1", "--budget", "30", "--out", str(tmp_path)]
    )
    assert code == 0
    payload = json.loads((tmp_path / "results.json").read_text())
    methods = {row["method"] for row in payload["rows"]}
    assert {"none", "optuna-sha", "optuna-hyperband", "ray-asha", "ours-lc"} <= methods
    for row in payload["rows"]:
        if row["method"] == "none":
            assert row["resource"] == 1.0 and row["regret"] == 0.0
        else:
            assert row["resource"] <= 1.0 and row["regret"] >= 0.0


def test_curves_smoke_run_reports_coverage(tmp_path: Path, opda_available: bool) -> None:
    code = bench_main(
        ["run", "curves", "--quick", "--seeds", "2", "--budget", "30", "--out", str(tmp_path)]
    )
    assert code == 0
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    coverage = [row for row in rows if "coverage90_five" in row]
    assert {row["problem"] for row in coverage} == {"synthetic-pow3", "deberta-base"}
    for row in coverage:
        assert 0.0 <= row["coverage90_fixed"] <= 1.0 and row["curves"] >= 25
        for key in ("coverage90_forty", "coverage90_five", "miss_per_trial"):
            assert 0.0 <= row[key] <= 1.0
        assert row["coverage90_five_min"] <= row["coverage90_five"] <= row["coverage90_five_max"]
        assert row["width90_five"] > 0 and row["test_curves"] >= 25
        assert row["miss_per_trial"] <= row["miss_per_decision_level"]  # a per-trial level is lower
        assert 0 < row["ms_median"] < 50


@pytest.mark.benchmark
@pytest.mark.parametrize("suite", ["pruners", "samplers", "analyzer", "ray_scaling", "curves"])
def test_quick_suites_run(suite: str, tmp_path: Path) -> None:
    assert bench_main(["run", suite, "--quick", "--seeds", "2", "--out", str(tmp_path)]) == 0
