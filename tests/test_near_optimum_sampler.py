"""NearOptimumSampler and its core: known answers for the quadratic fit, the trust-region rules, the
optimiser on a rank-2 quadratic, and the Optuna adapter on every parameter kind.

The Optuna contract (define-by-run, storages, n_jobs, pickling, reseeding) is checked for every
sampler of ours by ``tests/test_sampler_conformance.py``.
"""

from __future__ import annotations

import pickle

import numpy as np
import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tune_extras.optuna._near_optimum_sampler import STEP_ATTR, NearOptimumSampler
from tune_extras.samplers._near_optimum import NearOptimumOptimizer, sobol_point
from tune_extras.samplers._quadratic import fit_quadratic
from tune_extras.samplers._trust_region import TrustRegion, TrustRegionRules, is_success, replay

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _rank2(d: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A rank-2 Hessian (eigenvalues 10 and 2 along random orthonormal u1, u2) and a minimiser."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    u = q[:, :2]
    hessian = u @ np.diag([10.0, 2.0]) @ u.T
    return hessian, u, rng.uniform(0.3, 0.7, d)


# --------------------------------------------------------------------------------- quadratic fit
def test_quadratic_fit_recovers_a_known_hessian_and_minimiser() -> None:
    d = 6
    hessian, _, x_star = _rank2(d, 0)
    hessian = hessian + np.diag(np.linspace(0.5, 1.5, d))  # full rank: a unique minimiser
    rng = np.random.default_rng(1)
    x = rng.uniform(0.2, 0.8, (40, d))  # 40 > 28 coefficients of a full 6-D quadratic
    y = 0.5 * np.einsum("ni,ij,nj->n", x - x_star, hessian, x - x_star) + 3.0
    model = fit_quadratic(x, y, x[np.argmin(y)])
    values, _ = model.eigen_directions()
    np.testing.assert_allclose(np.sort(values), np.linalg.eigvalsh(hessian), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(x), y, atol=1e-6)
    found = model.minimize_in_box(np.zeros(d), np.ones(d), x[np.argmin(y)])
    np.testing.assert_allclose(found, x_star, atol=1e-4)


def test_quadratic_fit_finds_the_effective_directions_of_a_rank2_hessian() -> None:
    d = 10
    hessian, u, x_star = _rank2(d, 2)
    rng = np.random.default_rng(3)
    x = rng.uniform(0.2, 0.8, (80, d))  # 80 > 66 coefficients
    y = 0.5 * np.einsum("ni,ij,nj->n", x - x_star, hessian, x - x_star)
    model = fit_quadratic(x, y, x[np.argmin(y)])
    values, vectors = model.eigen_directions()
    np.testing.assert_allclose(values[:2], [10.0, 2.0], rtol=1e-4)
    assert np.max(np.abs(values[2:])) < 1e-4
    # The top two eigenvectors span the same plane as u1, u2: singular values of U^T V are 1.
    cosines = np.linalg.svd(u.T @ vectors[:, :2], compute_uv=False)
    np.testing.assert_allclose(cosines, [1.0, 1.0], atol=1e-6)
    found = model.minimize_in_box(np.zeros(d), np.ones(d), x[np.argmin(y)])
    assert 0.5 * (found - x_star) @ hessian @ (found - x_star) < 1e-8


def test_leave_one_out_ridge_smooths_noise_and_interpolates_exact_values() -> None:
    d = 3
    rng = np.random.default_rng(4)
    x = rng.uniform(0.0, 1.0, (40, d))
    exact = np.sum((x - 0.5) ** 2, axis=1)
    noisy = exact + rng.normal(scale=0.05, size=40)
    sharp = fit_quadratic(x, exact, x[0])
    smooth = fit_quadratic(x, noisy, x[0])
    assert sharp.loo_rmse < 1e-5
    assert smooth.ridge > 100 * sharp.ridge
    # The smoothed model is closer to the truth than the data it saw.
    assert np.sqrt(np.mean((smooth.predict(x) - exact) ** 2)) < 0.05


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_box_minimiser_stays_in_the_box_and_beats_the_start(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, (15, 4))
    y = rng.normal(size=15)
    model = fit_quadratic(x, y, x[0])
    low, high = np.full(4, 0.2), np.full(4, 0.6)
    start = np.full(4, 0.4)
    found = model.minimize_in_box(low, high, start)
    assert np.all(found >= low - 1e-12) and np.all(found <= high + 1e-12)
    assert model.predict(found)[0] <= model.predict(start)[0] + 1e-9


def test_quadratic_fit_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="finite"):
        fit_quadratic(np.zeros((2, 1)), np.array([0.0, np.nan]), np.zeros(1))
    with pytest.raises(ValueError, match="need x"):
        fit_quadratic(np.zeros((0, 2)), np.zeros(0), np.zeros(2))


# --------------------------------------------------------------------------------- trust region
def test_trust_region_doubles_after_successes_and_halves_after_failures() -> None:
    rules = TrustRegionRules(initial_length=0.4, min_length=0.05, success_tolerance=3,
                             failure_tolerance=2)
    state = TrustRegion(0.4)
    for _ in range(3):
        state = state.update(True, rules)
    assert state.length == 0.8
    state = state.update(True, rules).update(True, rules).update(True, rules)
    assert state.length == 1.0  # capped at max_length
    for expected in (0.5, 0.25, 0.125, 0.0625):
        state = state.update(False, rules).update(False, rules)
        assert state.length == expected
    state = state.update(False, rules).update(False, rules)  # 0.03125 < 0.05: restart
    assert (state.length, state.restarts) == (0.4, 1)
    # A success resets the failure count.
    state = state.update(False, rules).update(True, rules).update(False, rules)
    assert state.length == 0.4


def test_success_needs_a_relative_margin() -> None:
    assert is_success(0.998, 1.0) and not is_success(0.9995, 1.0)
    assert is_success(-1.002, -1.0) and not is_success(-1.0005, -1.0)
    assert is_success(5.0, float("inf")) and not is_success(float("nan"), 1.0)


def test_replay_equals_stepwise_updates() -> None:
    rules = TrustRegionRules(failure_tolerance=3)
    rng = np.random.default_rng(5)
    values = rng.normal(size=60).cumsum() * 0.1 + rng.normal(size=60)
    flags = (rng.random(60) < 0.7).tolist()
    state, best = TrustRegion(rules.initial_length), float("inf")
    for value, local in zip(values, flags):
        if local:
            state = state.update(is_success(value, best), rules)
        best = min(best, value)
    assert replay(values.tolist(), flags, rules) == state
    assert state.restarts >= 1  # the sequence does restart


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"initial_length": 0.0}, "initial_length"),
        ({"initial_length": 0.5, "max_length": 0.4}, "initial_length"),
        ({"min_length": 0.5}, "min_length"),
        ({"success_tolerance": 0}, "success_tolerance"),
        ({"failure_tolerance": 0}, "failure_tolerance"),
        ({"max_length": float("inf")}, "max_length"),
    ],
)
def test_trust_region_rules_are_validated(kwargs: dict[str, float], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        TrustRegionRules(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------- optimiser
def _run_core(opt: NearOptimumOptimizer, f, n: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    xs, ys, flags, kinds = np.empty((0, opt.dim)), np.empty(0), [], []
    for i in range(n):
        step = opt.propose(xs, ys, flags, index=i)
        xs = np.vstack([xs, step.point])
        ys = np.append(ys, f(step.point))
        flags.append(step.kind == "local")
        kinds.append(step.kind)
    return xs, ys, kinds


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_optimiser_finds_the_minimum_of_a_rank2_quadratic_in_10d(seed: int) -> None:
    """Random search needs ~1/(pi r^2) draws to come within r of the minimum of a rank-2 quadratic
    (a disc of the effective plane): 1e-3 takes tens of thousands of draws; here 80 steps."""
    hessian, _, x_star = _rank2(10, seed)

    def f(x: np.ndarray) -> float:
        return float(0.5 * (x - x_star) @ hessian @ (x - x_star))

    _, ys, kinds = _run_core(NearOptimumOptimizer(10, seed=seed), f, 80)
    assert kinds[:10] == ["startup"] * 10 and set(kinds[10:]) <= {"local", "explore"}
    assert kinds.count("local") >= 60
    assert ys.min() < 1e-3


def test_model_neighbourhood_is_wide_on_a_noisy_quadratic_and_narrow_on_a_rugged_surface() -> None:
    """100 uniform points in the square. A noisy quadratic (noise 0.01) is described within the noise
    by the fit of all of them; a rugged surface (sin 12x cos 9y) only by a small neighbourhood; an
    exact quadratic by all points, with zero leave-one-out error. Measured on seeds 0-9: the noisy
    quadratic chose 100 points on 8 seeds and 27 or 40 on two; the rugged surface 18-27 points."""
    opt = NearOptimumOptimizer(2, seed=0)
    wide, narrow = 0, 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        x = rng.uniform(0.0, 1.0, (100, 2))
        bowl = np.sum((x - 0.5) ** 2, axis=1)
        rugged = np.sin(12 * x[:, 0]) * np.cos(9 * x[:, 1]) + bowl
        for y, counter in ((bowl + 0.01 * rng.standard_normal(100), "wide"), (rugged, "narrow")):
            centre = x[np.argmin(y)]
            order = np.argsort(np.max(np.abs(x - centre), axis=1), kind="stable")
            chosen, _ = opt._fit_model(x, y, order, centre)
            if counter == "wide":
                wide += len(chosen) == 100
            else:
                narrow += len(chosen) <= 30
        order = np.argsort(np.max(np.abs(x - 0.5), axis=1), kind="stable")
        chosen, model = opt._fit_model(x, bowl, order, x[order[0]])
        assert len(chosen) == 100 and model.loo_rmse < 1e-8
    assert wide >= 7 and narrow == 10


def test_reflect_keeps_jittered_points_in_the_box_and_apart() -> None:
    from tune_extras.samplers._near_optimum import _reflect

    low, high = np.array([0.2, 0.0]), np.array([0.6, 1.0])
    a = _reflect(np.array([0.65, 0.5]), low, high)
    b = _reflect(np.array([0.7, 0.5]), low, high)
    np.testing.assert_allclose([a[0], b[0]], [0.55, 0.5])  # mirrored through the face x = 0.6
    rng = np.random.default_rng(0)
    points = _reflect(rng.normal(0.4, 1.0, (1000, 2)), low, high)
    assert np.all(points >= low) and np.all(points <= high)


def test_optimiser_start_is_the_scrambled_sobol_sequence_and_deterministic() -> None:
    opt = NearOptimumOptimizer(3, seed=7)
    xs, _, _ = _run_core(opt, lambda x: float(np.sum(x)), 8)
    from scipy.stats import qmc

    engine = qmc.Sobol(3, scramble=True, seed=np.random.default_rng([7, 0x50B0]))
    np.testing.assert_array_equal(xs, engine.random(8))
    np.testing.assert_array_equal(sobol_point(3, 7, 5), xs[5])
    again, _, _ = _run_core(NearOptimumOptimizer(3, seed=7), lambda x: float(np.sum(x)), 8)
    np.testing.assert_array_equal(xs, again)


def test_optimiser_never_repeats_a_snapped_point_nor_a_running_one() -> None:
    grid = 4  # a 4 x 4 integer grid: 16 cells

    def snap(u: np.ndarray) -> np.ndarray:
        return (np.clip(np.floor(np.asarray(u) * grid), 0, grid - 1) + 0.5) / grid

    opt = NearOptimumOptimizer(2, seed=0, n_startup=3)
    xs, ys, flags = np.empty((0, 2)), np.empty(0), []
    for i in range(12):
        running = np.array([[0.9, 0.9]])
        step = opt.propose(xs, ys, flags, index=i, running=running, snap=snap)
        assert not np.any(np.all(snap(xs) == snap(step.point), axis=1))
        assert not np.all(snap(step.point) == snap(running[0]))
        xs = np.vstack([xs, step.point])
        ys = np.append(ys, float(np.sum((snap(step.point) - 0.3) ** 2)))
        flags.append(step.kind == "local")


def test_incumbent_is_the_models_prediction_on_noisy_values() -> None:
    """Near the optimum, the luckiest noisy draw does not become the centre of the trust region."""
    rng = np.random.default_rng(6)
    x = rng.uniform(0.3, 0.7, (60, 2))
    truth = np.sum((x - 0.5) ** 2, axis=1)
    y = truth + rng.normal(scale=0.005, size=60)
    lucky = int(np.argsort(truth)[30])  # a middling point with the best observed value
    y[lucky] = y.min() - 0.005
    step = NearOptimumOptimizer(2, seed=0).propose(x, y, [False] * 60, index=60)
    assert step.kind == "local" and step.incumbent is not None
    assert step.incumbent != lucky
    assert truth[step.incumbent] < np.quantile(truth, 0.1)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"dim": 0}, "dim"), ({"n_startup": 0}, "n_startup"), ({"explore_every": 1}, "explore_every"),
     ({"max_model_points": 1}, "max_model_points")],
)
def test_optimiser_arguments_are_validated(kwargs: dict[str, int], name: str) -> None:
    args = {"dim": 2, **kwargs}
    dim = args.pop("dim")
    with pytest.raises(ValueError, match=name):
        NearOptimumOptimizer(dim, **args)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------- Optuna adapter
@pytest.mark.parametrize("seed", [0, 1])
def test_sampler_finds_the_minimum_of_a_rank2_quadratic_in_10d(seed: int) -> None:
    hessian, _, x_star = _rank2(10, seed)
    lows = np.linspace(-3.0, -1.0, 10)

    def objective(trial: optuna.Trial) -> float:
        x = np.array([trial.suggest_float(f"x{i}", lows[i], lows[i] + 4.0) for i in range(10)])
        u = (x - lows) / 4.0
        return float(0.5 * (u - x_star) @ hessian @ (u - x_star))

    study = optuna.create_study(sampler=NearOptimumSampler(seed=seed))
    study.optimize(objective, n_trials=80)
    assert study.best_value < 1e-3
    tpe = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    tpe.optimize(objective, n_trials=80)
    assert study.best_value < tpe.best_value


def test_sampler_handles_every_parameter_kind_and_maximisation() -> None:
    seen: list[dict[str, object]] = []

    def objective(trial: optuna.Trial) -> float:
        p = {
            "f": trial.suggest_float("f", -1.0, 1.0),
            "log": trial.suggest_float("log", 1e-5, 1e-1, log=True),
            "int": trial.suggest_int("int", 0, 40),
            "logint": trial.suggest_int("logint", 1, 1024, log=True),
            "step": trial.suggest_float("step", 0.0, 2.0, step=0.05),
            "coarse": trial.suggest_int("coarse", 0, 3),
            "cat": trial.suggest_categorical("cat", ["a", "b", "c"]),
        }
        seen.append(p)
        bonus = {"a": 0.0, "b": 0.3, "c": 0.1}[p["cat"]]
        return -(
            (p["f"] - 0.2) ** 2 + (np.log10(p["log"]) + 3) ** 2 / 10 + (p["int"] - 13) ** 2 / 400
            + (np.log2(p["logint"]) - 5) ** 2 / 50 + (p["step"] - 0.65) ** 2 + p["coarse"] / 10
            + bonus
        )

    study = optuna.create_study(direction="maximize", sampler=NearOptimumSampler(seed=3))
    study.optimize(objective, n_trials=80)
    for p in seen:
        assert isinstance(p["f"], float) and -1.0 <= p["f"] <= 1.0
        assert isinstance(p["log"], float) and 1e-5 <= p["log"] <= 1e-1
        assert isinstance(p["int"], int) and 0 <= p["int"] <= 40
        assert isinstance(p["logint"], int) and 1 <= p["logint"] <= 1024
        assert abs(p["step"] / 0.05 - round(p["step"] / 0.05)) < 1e-9
        assert p["coarse"] in (0, 1, 2, 3) and p["cat"] in ("a", "b", "c")
    kinds = [t.system_attrs[STEP_ATTR] for t in study.trials]
    assert kinds[:10] == ["startup"] * 10 and "local" in kinds
    best = study.best_params
    assert best["cat"] == "a" and best["coarse"] == 0
    assert study.best_value > -0.05
    keys = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(set(keys)) == len(keys)


def test_sampler_is_deterministic_under_a_seed_and_pickles() -> None:
    def objective(trial: optuna.Trial) -> float:
        return (trial.suggest_float("x", -2, 2) - 1) ** 2 + trial.suggest_int("n", 0, 50) / 50

    runs = []
    for _ in range(2):
        study = optuna.create_study(sampler=NearOptimumSampler(seed=11))
        study.optimize(objective, n_trials=30)
        runs.append([t.params for t in study.trials])
    assert runs[0] == runs[1]
    sampler = pickle.loads(pickle.dumps(NearOptimumSampler(seed=11)))
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=30)
    assert [t.params for t in study.trials] == runs[0]


def test_sampler_rejects_multi_objective_studies() -> None:
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=NearOptimumSampler())
    with pytest.raises(ValueError, match="multi-objective"):
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), 0.0), n_trials=1)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_startup_trials": 0}, "n_startup_trials"),
        ({"explore_every": 1}, "explore_every"),
        ({"explore_every": -2}, "explore_every"),
        ({"initial_length": 0.0}, "initial_length"),
        ({"initial_length": 1.5}, "initial_length"),
        ({"max_model_points": 1}, "max_model_points"),
        ({"min_grid_levels": 1}, "min_grid_levels"),
    ],
)
def test_sampler_arguments_are_validated(kwargs: dict[str, float], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        NearOptimumSampler(**kwargs)  # type: ignore[arg-type]
