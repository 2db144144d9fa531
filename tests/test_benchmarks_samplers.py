"""The sampler benchmark's problems (known optima, formulas, tabular lookups) and its machinery."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import suite_samplers as suite
from benchmarks.__main__ import main as bench_main
from benchmarks.problems import hartmann6, random_configs
from benchmarks.sampler_problems import (
    BBOB_FUNCTIONS,
    BRANIN_MIN,
    HARTMANN6_ARGMIN,
    OPTIMIZER_EFFECT,
    BBOBProblem,
    EmbeddedProblem,
    LowRankQuadratic,
    MixedQuadratic,
    TabularProblem,
    family_of,
    get_problem,
    hartmann6_min,
    lambda_diag,
    problem_names,
    t_asy,
    t_osz,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _x(values: np.ndarray) -> dict[str, float]:
    return {f"x{i}": float(v) for i, v in enumerate(values)}


def _random_params(problem, n: int, seed: int) -> list[dict]:
    return random_configs(problem.search_space(), n, seed)


# ------------------------------------------------------------------------------- registry
def test_registry_has_every_family_and_the_required_problems() -> None:
    names = problem_names()
    assert len(names) == len(set(names)) == 40
    counts = {f: sum(family_of(n) == f for n in names) for f in suite.FAMILIES}
    assert counts == {"tabular": 15, "bbob": 16, "embedded": 3, "quadratic": 4, "surrogate": 2}
    for name in ("branin-in-10d", "hartmann6", "hartmann6-in-30d", "quadratic-r2-30d"):
        assert name in names
    with pytest.raises(ValueError, match="unknown problem"):
        get_problem("no-such-problem")
    with pytest.raises(ValueError, match="function"):
        BBOBProblem("sphere2", 5)


# ---------------------------------------------------------------------------------- BBOB
def test_bbob_transforms_match_the_definitions() -> None:
    assert t_osz(np.array([0.0]))[0] == 0.0
    # log|x| = 0 at |x| = 1: T_osz(+-1) = +-1 exactly.
    np.testing.assert_allclose(t_osz(np.array([1.0, -1.0])), [1.0, -1.0])
    x = np.array([math.e, -math.e])  # xhat = 1
    expected = [
        math.e * math.exp(0.049 * (math.sin(10.0) + math.sin(7.9))),
        -math.e * math.exp(0.049 * (math.sin(5.5) + math.sin(3.1))),
    ]
    np.testing.assert_allclose(t_osz(x), expected, rtol=1e-14)
    # T_asy: first coordinate and negative ones unchanged; last one x^(1 + beta sqrt x).
    z = t_asy(np.array([4.0, -2.0, 4.0]), 0.2)
    np.testing.assert_allclose(z, [4.0, -2.0, 4.0 ** (1 + 0.2 * 2.0)])
    # Lambda^alpha = diag(alpha^(0.5 (i-1)/(D-1))): condition number sqrt(alpha)... squared: alpha.
    np.testing.assert_allclose(lambda_diag(3, 100.0), [1.0, math.sqrt(10.0), 10.0])


@pytest.mark.parametrize("function", BBOB_FUNCTIONS)
@pytest.mark.parametrize("dim", [5, 10])
def test_bbob_minimum_is_zero_at_x_opt_and_positive_nearby(function: str, dim: int) -> None:
    problem = BBOBProblem(function, dim)
    assert np.all(np.abs(problem.x_opt) <= 5.0)
    assert abs(problem.true_value(_x(problem.x_opt))) < 1e-9
    rng = np.random.default_rng(dim)
    for _ in range(20):
        step = rng.normal(0.0, 0.05, dim)
        assert problem.true_value(_x(problem.x_opt + step)) > 0.0
    np.testing.assert_allclose(problem.rotation @ problem.rotation.T, np.eye(dim), atol=1e-12)


def test_bbob_known_values() -> None:
    sphere = BBOBProblem("sphere", 5)
    assert sphere.true_value(_x(sphere.x_opt + 1.0)) == pytest.approx(5.0, rel=1e-12)
    # Separable ellipsoid: T_osz(1) = 1, so a unit step on the last axis costs 10^6, on the first 1.
    ellipsoid = BBOBProblem("ellipsoid", 5)
    first, last = np.zeros(5), np.zeros(5)
    first[0], last[-1] = 1.0, 1.0
    assert ellipsoid.true_value(_x(ellipsoid.x_opt + first)) == pytest.approx(1.0, rel=1e-12)
    assert ellipsoid.true_value(_x(ellipsoid.x_opt + last)) == pytest.approx(1e6, rel=1e-12)
    # Rosenbrock at z = 0 (x = x_opt - R^T 1 / c): sum_i (0 - 1)^2 = D - 1.
    rosen = BBOBProblem("rosenbrock", 10)
    scale = max(1.0, math.sqrt(10) / 8.0)
    x = rosen.x_opt - rosen.rotation.T @ np.ones(10) / scale
    assert rosen.true_value(_x(x)) == pytest.approx(9.0, rel=1e-10)
    # Rastrigin: its period-1 cosines make z = integer vectors local minima of value 10 + |z|^2 ...
    # at the optimum itself every cosine is 1 and |z| = 0.
    rastrigin = BBOBProblem("rastrigin-rotated", 5)
    assert rastrigin.true_value(_x(rastrigin.x_opt)) == pytest.approx(0.0, abs=1e-12)
    # Schwefel: the raw value at x_opt is 4.189828872724339 - 418.98.../100 = about 0.
    schwefel = BBOBProblem("schwefel", 5)
    assert abs(schwefel._f_at_opt) < 1e-6


# ------------------------------------------------------------------------------- embedded
def test_branin_embedded_minimum_and_inert_dimensions() -> None:
    problem = EmbeddedProblem("branin", 10)
    assert len(problem.active) == 2
    params = {f"x{i}": 0.5 for i in range(10)}
    params[f"x{problem.active[0]}"] = (-math.pi + 5.0) / 15.0
    params[f"x{problem.active[1]}"] = 12.275 / 15.0
    assert problem.true_value(params) == pytest.approx(BRANIN_MIN, abs=1e-5)
    assert problem.regret(params) < 1e-5
    inert = next(i for i in range(10) if i not in problem.active)
    moved = dict(params, **{f"x{inert}": 0.01})
    assert problem.true_value(moved) == problem.true_value(params)


def test_hartmann6_minimum() -> None:
    assert hartmann6_min() == pytest.approx(-3.32237, abs=1e-5)
    assert hartmann6_min() <= hartmann6(HARTMANN6_ARGMIN)
    problem = EmbeddedProblem("hartmann6", 30)
    params = {f"x{i}": 0.9 for i in range(30)}
    for value, index in zip(HARTMANN6_ARGMIN, problem.active):
        params[f"x{index}"] = float(value)
    assert 0.0 <= problem.regret(params) < 1e-5


# ------------------------------------------------------------------------------ quadratics
def test_low_rank_quadratic_optimum_null_space_and_noise() -> None:
    problem = LowRankQuadratic(10)
    assert problem.true_value(_x(problem.x_star)) == 0.0
    # A step orthogonal to both directions changes nothing (rank 2).
    step = np.random.default_rng(0).normal(size=10)
    step -= problem.directions.T @ (problem.directions @ step)
    moved = _x(problem.x_star + 0.1 * step / np.linalg.norm(step))
    assert problem.true_value(moved) == pytest.approx(0.0, abs=1e-24)
    # Noise: 0.01 of the range, deterministic under the seed, with that standard deviation.
    assert problem.sigma > 0
    params = _x(problem.x_star)
    assert problem.evaluate(params, 3) == problem.evaluate(params, 3)
    draws = np.array([problem.evaluate(params, s) for s in range(2000)])
    # The standard deviation of 2,000 normal draws is within 5% of sigma with overwhelming odds.
    assert np.std(draws) == pytest.approx(problem.sigma, rel=0.05)
    assert abs(np.mean(draws)) < 4 * problem.sigma / math.sqrt(2000)


def test_mixed_quadratic_optimum_on_the_grid_and_categorical_shift() -> None:
    problem = MixedQuadratic(categorical=True)
    best = {
        "lr": 10**-3.5,
        "weight_decay": 1e-4,
        "batch_size": 64,
        "layers": 3,
        "dropout": 0.1,
        "width": 256,
        "optimizer": "adam",
    }
    for name, distribution in problem.search_space().items():
        assert distribution._contains(distribution.to_internal_repr(best[name]))
    assert problem.true_value(best) == pytest.approx(0.0, abs=1e-15)
    shift, offset = OPTIMIZER_EFFECT["sgd"]
    sgd = dict(best, optimizer="sgd", lr=10 ** (-3.5 + shift))
    assert problem.true_value(sgd) == pytest.approx(offset, abs=1e-12)
    # The adam optimum is not sgd's: there the shifted learning rate costs 4 * (1.5 / 5)^2 too.
    assert problem.true_value(dict(best, optimizer="sgd")) == pytest.approx(
        offset + 4.0 * (shift / 5.0) ** 2, rel=1e-9
    )
    assert problem.mixed and not MixedQuadratic(categorical=False).mixed


# --------------------------------------------------------------------------------- tabular
@pytest.mark.parametrize(
    ("name", "dims", "categorical"),
    [("hpobench-kc1", 5, 0), ("fcnet-protein_structure", 9, 3), ("nb201-cifar100", 6, 6)],
)
def test_tabular_lookup_matches_the_package(name: str, dims: int, categorical: int) -> None:
    problem = get_problem(name)
    assert isinstance(problem, TabularProblem)
    space = problem.search_space()
    assert len(space) == dims
    kinds = [isinstance(d, optuna.distributions.CategoricalDistribution) for d in space.values()]
    assert sum(kinds) == categorical
    bench = type(problem._impl)(problem.dataset, seed=0)
    for params in _random_params(problem, 4, seed=1):
        config = problem.config(params)
        recorded = {bench(config)[problem.metric] for _ in range(60)}  # every seed, w.h.p.
        table = problem._table[problem._table_id(params)]
        assert recorded == set(table.tolist())
        assert problem.true_value(params) == pytest.approx(float(np.mean(table)))
        assert problem.evaluate(params, 7) in recorded
        assert problem.evaluate(params, 7) == problem.evaluate(params, 7)
        assert problem.regret(params) >= 0.0


def test_tabular_optimum_is_the_best_mean_and_has_zero_regret() -> None:
    problem = get_problem("nb201-cifar10")
    assert problem.direction == "maximize"
    key = max(problem._table, key=lambda k: np.mean(problem._table[k]))
    ops = problem._grid["Op0"]
    params = {f"Op{i}": ops[int(c)] for i, c in enumerate(key)}
    assert problem._table_id(params) == key
    assert problem.regret(params) == 0.0
    assert problem.optimum == pytest.approx(91.6067, abs=1e-3)  # NAS-Bench-201's best val. accuracy


# ------------------------------------------------------------------------------ properties
@settings(max_examples=30, deadline=None)
@given(
    name=st.sampled_from(
        ["bbob-schwefel-5d", "bbob-attractive-sector-10d", "hartmann6", "quadratic-logint",
         "quadratic-r2-30d", "hpobench-car", "fcnet-naval_propulsion"]
    ),
    seed=st.integers(0, 10_000),
)
def test_raw_regret_is_never_negative(name: str, seed: int) -> None:
    problem = get_problem(name)
    for params in _random_params(problem, 5, seed):
        assert problem.raw_regret(params) >= -1e-12
        assert math.isfinite(problem.evaluate(params, seed))


def test_surrogate_optimum_bounds_random_configurations(opda_available: bool) -> None:
    problem = get_problem("surrogate-deberta-v3-base")
    assert 0.85 < problem.optimum < 1.0
    regrets = [problem.raw_regret(p) for p in _random_params(problem, 200, seed=5)]
    assert min(regrets) >= 0.0


# ------------------------------------------------------------------------------- machinery
def _record(problem: str, sampler: str, seed: int, regret: dict[str, float]) -> dict:
    return {
        "version": suite.CACHE_VERSION, "problem": problem, "sampler": sampler, "seed": seed,
        "budget": max(int(k) for k in regret), "regret": regret,
    }


def test_normalise_ranks_and_wilcoxon_on_known_numbers() -> None:
    records = []
    for seed in range(10):
        records.append(_record("bbob-sphere-5d", "random", seed, {"25": 2.0 + seed % 3 - 1}))
        records.append(_record("bbob-sphere-5d", "tpe", seed, {"25": 1.0}))
        records.append(_record("bbob-sphere-5d", "qmc", seed, {"25": 4.0 + 0.1 * seed}))
        records.append(_record("hartmann6", "random", seed, {"25": 0.0}))
        records.append(_record("hartmann6", "tpe", seed, {"25": 0.0}))
    normalised, dropped = suite.normalise(records)
    assert dropped == [("hartmann6", 25)]  # random's median regret is 0 there
    assert normalised[("bbob-sphere-5d", "tpe", 0, 25)] == 0.5  # median of random is 2
    ranks = suite.mean_ranks(records, ["bbob-sphere-5d"], ["random", "tpe", "qmc"], 25)
    # Random ties TPE (regret 1) on seeds 0, 3, 6, 9: ranks 1.5 each there, 2 and 1 elsewhere.
    assert ranks == pytest.approx({"random": 1.8, "tpe": 1.2, "qmc": 3.0})
    pairs, p, verdict = suite.wilcoxon_vs(normalised, ["bbob-sphere-5d"], "qmc", "tpe", 25)
    assert pairs == 10 and p < 0.01 and verdict == "significantly worse"
    pairs, p, verdict = suite.wilcoxon_vs(normalised, ["bbob-sphere-5d"], "tpe", "qmc", 25)
    assert verdict == "significantly better"
    text = suite.report(records, ["random", "tpe", "qmc"], 25, 10)
    assert "hartmann6 at 25" in text and "significantly worse" in text
    assert "nan" not in text.lower().replace("n/a", "")


def test_cache_serves_smaller_budgets_and_skips_cut_lines(tmp_path: Path) -> None:
    cache = suite.RunCache(tmp_path / "runs.jsonl")
    cache.add(_record("p", "tpe", 0, {"25": 3.0, "50": 2.0, "100": 1.0, "200": 0.5}))
    with (tmp_path / "runs.jsonl").open("a") as handle:
        handle.write('{"version": 1, "problem": "p", "sam')  # an interrupted write
    reloaded = suite.RunCache(tmp_path / "runs.jsonl")
    hit = reloaded.get("p", "tpe", 0, 50)
    assert hit is not None and hit["regret"] == {"25": 3.0, "50": 2.0}
    assert reloaded.get("p", "tpe", 0, 60) is None  # no checkpoint at 60 trials
    assert reloaded.get("p", "tpe", 1, 50) is None


def test_run_is_deterministic_cached_and_monotone_on_noiseless_problems(tmp_path: Path) -> None:
    options = ["--problems", "bbob-sphere-5d", "--samplers", "random,tpe"]
    logs: list[str] = []
    first = suite.run(2, 30, options=[*options, "--cache", str(tmp_path / "a.jsonl")], log=logs.append)
    assert len(first) == 4 and any("4 runs to compute" in line for line in logs)
    logs.clear()
    again = suite.run(2, 30, options=[*options, "--cache", str(tmp_path / "a.jsonl")], log=logs.append)
    assert not any("to compute" in line for line in logs)
    fresh = suite.run(2, 30, options=[*options, "--cache", str(tmp_path / "b.jsonl")], log=print)
    key = lambda r: (r["sampler"], r["seed"])  # noqa: E731
    for a, b, c in zip(sorted(first, key=key), sorted(again, key=key), sorted(fresh, key=key)):
        assert a["regret"] == b["regret"] == c["regret"]
        assert a["regret"]["30"] <= a["regret"]["25"]  # noiseless: the incumbent only improves
        assert a["regret"]["30"] >= 0.0


def test_command_line_passes_suite_options(tmp_path: Path) -> None:
    cache = tmp_path / "runs.jsonl"
    code = bench_main(
        ["run", "samplers", "--quick", "--seeds", "1", "--budget", "26", "--samplers", "random,tpe",
         "--cache", str(cache), "--out", str(tmp_path)]
    )
    assert code == 0
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert {r["sampler"] for r in rows} == {"random", "tpe"}
    assert {r["problem"] for r in rows} == set(problem_names(quick=True))
    assert all(set(r["regret"]) == {"25", "26"} and r["regret"]["26"] >= 0 for r in rows)
    with pytest.raises(SystemExit):
        bench_main(["run", "pruners", "--samplers", "tpe"])


# ------------------------------------------------------------------------- multi-fidelity suite
def test_nearest_replay_replays_the_recorded_curve_of_a_recorded_configuration(
    opda_available: bool,
) -> None:
    from benchmarks.suite_multi_fidelity import NearestReplay

    for search in ("deberta-v3-base", "alexnet"):
        problem = NearestReplay(search=search)
        space = problem.search_space()
        for index in (0, 17, 300):
            run = problem.replay.runs[index]
            config = {name: problem._recorded(run)[name] for name in space}
            np.testing.assert_array_equal(problem.curve(config), problem.replay.curves[index])
        finals = [c[-1] for c in problem.replay.curves if len(c)]
        assert problem.optimum == np.nanmax(finals)


def test_multi_fidelity_runs_spend_the_same_resource_and_repeat_exactly(tmp_path: Path) -> None:
    from benchmarks import suite_multi_fidelity as mf

    options = ["--problems", "mf-branin", "--methods", "tpe+hyperband,multi-fidelity+ours,tpe",
               "--cache", str(tmp_path / "mf.jsonl")]
    first = mf.run(2, 5, options=options, log=lambda _: None)
    assert len(first) == 6
    for record in first:
        assert record["resource"] == 5 * 20  # budget x max_resource units, whatever the pruning
        assert set(record["regret"]) == {"0.25", "0.5", "1"}
        regrets = [record["regret"][k] for k in ("0.25", "0.5", "1")]
        assert regrets == sorted(regrets, reverse=True) and regrets[-1] >= 0.0  # noiseless finals
    unpruned = [r for r in first if r["sampler"] == "tpe"]
    assert all(r["trials"]["pruned"] <= 1 for r in unpruned)  # at most the budget's last trial
    fresh = mf.run(2, 5, options=[*options[:-1], str(tmp_path / "again.jsonl")], log=lambda _: None)
    key = lambda r: (r["sampler"], r["seed"])  # noqa: E731
    for a, b in zip(sorted(first, key=key), sorted(fresh, key=key), strict=True):
        assert a["regret"] == b["regret"] and a["trials"] == b["trials"]
