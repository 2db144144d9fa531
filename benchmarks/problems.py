"""Benchmark problems: replayed real curves, a surrogate, real torch training, synthetic functions.

Every multi-fidelity problem is a :class:`CurveProblem`: a configuration's curve (its value after
1, 2, ..., L units of resource) is revealed step by step to the pruner under test, and the resource it
consumed is counted. ``get_curve_problem(name)`` builds one by name (see :data:`CURVE_PROBLEMS`).

Problems:

* ``deberta-v3-base``, ``deberta-base``, ``alexnet``: **replay** of the opda random searches
  (``../shared/data/opda``, CC BY-SA 4.0). A configuration is a recorded run; one unit of resource is
  1,000 steps (DeBERTa, the last partial evaluation counts as one more unit) or one epoch (AlexNet).
  Values are accuracies (maximise); a run that diverged has NaN after the divergence.
* ``torch-mlp-digits``, ``torch-cnn-digits``, ``torch-mlp-tabular``: **real training** of a torch MLP
  or small CNN on scikit-learn's bundled digits, or an MLP on its breast-cancer table; one epoch a
  unit, validation log-loss (minimise); deterministic under the seed; curves cached on disk.
* ``synthetic-pow3``: curves ``y_t = c(x) + a(x) t^(-alpha(x))`` whose decay rates differ by
  configuration, so that curves cross (a test for early stopping), with seeded noise.
* ``mf-branin``, ``mf-hartmann6``: the standard functions with a fidelity ``z = t / T`` (formulas in
  ../shared/docs/BENCHMARKS_AND_CURVES.md); at full fidelity their minima are 0.397887 and -3.32237.

Sampler problems (no fidelity): :class:`QuadraticSurface` (known optimum and effective dimension, the
analyzer's ground truth), :class:`Surrogate` (a regression model of an opda search, so that any
configuration can be evaluated, with the search's own noise) and the full-fidelity synthetic ones.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from benchmarks.opda_data import load_runs

RESULTS = Path(__file__).resolve().parent / "results"
CURVE_PROBLEMS = (
    "deberta-v3-base",
    "deberta-base",
    "alexnet",
    "torch-mlp-digits",
    "torch-cnn-digits",
    "torch-mlp-tabular",
    "synthetic-pow3",
    "mf-branin",
    "mf-hartmann6",
)


def _seed_of(*parts: Any) -> int:
    """A stable 32-bit seed from any JSON-able parts (configurations, seeds, steps)."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).digest()
    return int.from_bytes(digest[:4], "little")


def random_configs(
    space: dict[str, optuna.distributions.BaseDistribution], n: int, seed: int
) -> list[dict[str, Any]]:
    """``n`` configurations of ``space`` drawn by Optuna's ``RandomSampler(seed=seed)``."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    configs = []
    for _ in range(n):
        trial = study.ask(space)
        configs.append(dict(trial.params))
        study.tell(trial, 0.0)
    return configs


class CurveProblem:
    """A multi-fidelity problem whose curve is revealed one unit of resource at a time."""

    name: str
    direction: str  # "minimize" | "maximize"
    max_resource: int

    def sample_configs(self, n: int, seed: int) -> list[dict[str, Any]]:
        raise NotImplementedError

    def search_space(self) -> dict[str, optuna.distributions.BaseDistribution]:
        raise NotImplementedError

    def curve(self, config: dict[str, Any], seed: int = 0) -> np.ndarray:
        raise NotImplementedError

    def final(self, config: dict[str, Any], seed: int = 0) -> float:
        """The value at the end of the configuration's curve (NaN if it diverged)."""
        return float(self.curve(config, seed)[-1])

    def better(self, x: float, y: float) -> bool:
        """Whether value ``x`` is strictly better than ``y`` (NaN is worst)."""
        if math.isnan(x):
            return False
        if math.isnan(y):
            return True
        return x < y if self.direction == "minimize" else x > y


@dataclass
class OpdaReplay(CurveProblem):
    """Replay of a recorded opda random search (accuracy to maximise)."""

    name: str
    direction: str = "maximize"

    @cached_property
    def runs(self) -> list[Any]:
        return load_runs(self.name)

    @cached_property
    def curves(self) -> list[np.ndarray]:
        return [run.values if len(run.values) else np.array([math.nan]) for run in self.runs]

    @property
    def max_resource(self) -> int:  # type: ignore[override]
        return max(len(c) for c in self.curves)

    def sample_configs(self, n: int, seed: int) -> list[dict[str, Any]]:
        rng = np.random.default_rng(seed)
        replace = n > len(self.runs)
        indices = rng.choice(len(self.runs), size=n, replace=replace)
        return [{"index": int(i), **self.runs[int(i)].config} for i in indices]

    def curve(self, config: dict[str, Any], seed: int = 0) -> np.ndarray:
        return self.curves[int(config["index"])]

    def best_final(self) -> float:
        """Best final value over every recorded configuration (for regret)."""
        finals = np.array([c[-1] for c in self.curves])
        return float(np.nanmax(finals))


@dataclass
class SyntheticPow3(CurveProblem):
    """Crossing power-law loss curves ``c(x) + a(x) t^(-alpha(x))`` with seeded noise (minimise)."""

    name: str = "synthetic-pow3"
    direction: str = "minimize"
    max_resource: int = 50
    noise: float = 0.005

    def search_space(self) -> dict[str, optuna.distributions.BaseDistribution]:
        return {f"x{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(3)}

    def sample_configs(self, n: int, seed: int) -> list[dict[str, Any]]:
        rng = np.random.default_rng(seed)
        return [{f"x{i}": float(v) for i, v in enumerate(row)} for row in rng.random((n, 3))]

    def _parameters(self, config: dict[str, Any]) -> tuple[float, float, float]:
        x0, x1, x2 = config["x0"], config["x1"], config["x2"]
        final = 0.1 + 0.5 * (x0 - 0.3) ** 2 + 0.3 * (x1 - 0.6) ** 2
        scale = 0.3 + 0.7 * x2
        alpha = 0.3 + 1.5 * (1.0 - x2) * x1  # slow learners can end up best: curves cross
        return final, scale, alpha

    def curve(self, config: dict[str, Any], seed: int = 0) -> np.ndarray:
        final, scale, alpha = self._parameters(config)
        t = np.arange(1, self.max_resource + 1, dtype=float)
        rng = np.random.default_rng(_seed_of(config, seed))
        return final + scale * t**-alpha + self.noise * rng.standard_normal(t.size)

    def noiseless_final(self, config: dict[str, Any]) -> float:
        final, scale, alpha = self._parameters(config)
        return final + scale * self.max_resource**-alpha


def branin(x1: float, x2: float, z: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> float:
    """Multi-fidelity Branin (Kandasamy et al. 2017); ``z = (1, 1, 1)`` is the standard Branin."""
    b = 5.1 / (4 * math.pi**2) - 0.01 * (1 - z[0])
    c = 5 / math.pi - 0.1 * (1 - z[1])
    t = 1 / (8 * math.pi) + 0.005 * (1 - z[2])
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann6(x: np.ndarray, alpha: np.ndarray = _H6_ALPHA) -> float:
    """Hartmann-6 on [0, 1]^6; minimum -3.32237 at the standard argmin."""
    inner = np.sum(_H6_A * (np.asarray(x)[None, :] - _H6_P) ** 2, axis=1)
    return float(-np.sum(alpha * np.exp(-inner)))


@dataclass
class MultiFidelityBranin(CurveProblem):
    """Branin whose fidelity ``z = t / T`` rises with resource (Kandasamy et al. 2017)."""

    name: str = "mf-branin"
    direction: str = "minimize"
    max_resource: int = 20

    def search_space(self) -> dict[str, optuna.distributions.BaseDistribution]:
        return {
            "x1": optuna.distributions.FloatDistribution(-5.0, 10.0),
            "x2": optuna.distributions.FloatDistribution(0.0, 15.0),
        }

    def sample_configs(self, n: int, seed: int) -> list[dict[str, Any]]:
        rng = np.random.default_rng(seed)
        return [{"x1": float(-5 + 15 * a), "x2": float(15 * b)} for a, b in rng.random((n, 2))]

    def curve(self, config: dict[str, Any], seed: int = 0) -> np.ndarray:
        z = np.arange(1, self.max_resource + 1) / self.max_resource
        return np.array([branin(config["x1"], config["x2"], (f, f, f)) for f in z])


@dataclass
class MultiFidelityHartmann6(CurveProblem):
    """MFHartmann6 (mf-prior-bench): ``alpha' = alpha - bias (1 - zh)``, noise shrinking with fidelity.

    ``z`` in 1..100 over the resource, ``zh = ln z / ln 100``; noise ``|N(0, 1)| noise (1 - zh)``
    seeded per (z, x). Preset "good": bias 2.5, noise 2 scaled by 0.01 of the function's range.
    """

    name: str = "mf-hartmann6"
    direction: str = "minimize"
    max_resource: int = 25
    bias: float = 2.5
    noise: float = 0.02

    def search_space(self) -> dict[str, optuna.distributions.BaseDistribution]:
        return {f"x{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(6)}

    def sample_configs(self, n: int, seed: int) -> list[dict[str, Any]]:
        rng = np.random.default_rng(seed)
        return [{f"x{i}": float(v) for i, v in enumerate(row)} for row in rng.random((n, 6))]

    def curve(self, config: dict[str, Any], seed: int = 0) -> np.ndarray:
        x = np.array([config[f"x{i}"] for i in range(6)])
        values = []
        for step in range(1, self.max_resource + 1):
            z = 1 + 99 * (step - 1) / (self.max_resource - 1)
            zh = math.log(z) / math.log(100)
            value = hartmann6(x, _H6_ALPHA - self.bias * (1 - zh))
            rng = np.random.default_rng(_seed_of(config, step, seed))
            values.append(value + abs(rng.standard_normal()) * self.noise * (1 - zh))
        return np.array(values)


@dataclass
class TorchTraining(CurveProblem):
    """Real torch training with epochs as the fidelity; validation log-loss per epoch (minimise).

    ``architecture`` ``"mlp"`` or ``"cnn"`` (two 3x3 convolutions, on 8x8 digits), ``dataset``
    ``"digits"`` (1,797 images, 10 classes) or ``"breast_cancer"`` (569 rows, 30 features, 2
    classes), both bundled with scikit-learn. Under a second per 20-epoch curve on one core; curves
    are cached under ``benchmarks/results/cache``.
    """

    name: str = "torch-mlp-digits"
    architecture: str = "mlp"
    dataset: str = "digits"
    direction: str = "minimize"
    max_resource: int = 20
    cache: bool = True
    _data: Any = field(default=None, repr=False)

    def search_space(self) -> dict[str, optuna.distributions.BaseDistribution]:
        return {
            "lr": optuna.distributions.FloatDistribution(1e-4, 1.0, log=True),
            "momentum": optuna.distributions.FloatDistribution(0.0, 0.99),
            "weight_decay": optuna.distributions.FloatDistribution(1e-6, 1e-1, log=True),
            "hidden": optuna.distributions.IntDistribution(8, 256, log=True),
            "batch_size": optuna.distributions.CategoricalDistribution([16, 32, 64, 128]),
        }

    def sample_configs(self, n: int, seed: int) -> list[dict[str, Any]]:
        return random_configs(self.search_space(), n, seed)

    def _load(self) -> Any:
        if self._data is None:
            import torch
            from sklearn import datasets

            if self.dataset == "digits":
                x, y = datasets.load_digits(return_X_y=True)
                x = x / 16.0
            else:
                x, y = datasets.load_breast_cancer(return_X_y=True)
                x = (x - x.mean(axis=0)) / x.std(axis=0)
            order = np.random.default_rng(0).permutation(len(y))
            x, y = x[order].astype(np.float32), y[order]
            split = 2 * len(y) // 3
            if self.architecture == "cnn":
                x = x.reshape(-1, 1, 8, 8)
            self._data = (
                torch.from_numpy(x[:split]),
                torch.from_numpy(y[:split]),
                torch.from_numpy(x[split:]),
                torch.from_numpy(y[split:]),
            )
        return self._data

    def _model(self, width: int, n_in: int, n_out: int) -> Any:
        import torch

        if self.architecture == "cnn":
            return torch.nn.Sequential(
                torch.nn.Conv2d(1, width, 3, padding=1),
                torch.nn.ReLU(),
                torch.nn.Conv2d(width, width, 3, padding=1),
                torch.nn.ReLU(),
                torch.nn.MaxPool2d(2),
                torch.nn.Flatten(),
                torch.nn.Linear(width * 16, n_out),
            )
        return torch.nn.Sequential(
            torch.nn.Linear(n_in, width), torch.nn.ReLU(), torch.nn.Linear(width, n_out)
        )

    def curve(self, config: dict[str, Any], seed: int = 0) -> np.ndarray:
        key = _seed_of(self.name, config, seed, self.max_resource)
        path = RESULTS / "cache" / f"{self.name}-{key}.npy"
        if self.cache and path.exists():
            return np.load(path)
        values = self._train(config, seed)
        if self.cache:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, values)
        return values

    def _train(self, config: dict[str, Any], seed: int) -> np.ndarray:
        import torch

        torch.set_num_threads(1)
        x_train, y_train, x_val, y_val = self._load()
        torch.manual_seed(_seed_of(config, seed))
        width = int(config["hidden"])
        if self.architecture == "cnn":
            width = max(4, width // 8)  # channels: keep a CNN trial near a second on CPU
        n_out = int(y_train.max()) + 1
        model = self._model(width, x_train.shape[-1], n_out)
        optimizer = torch.optim.SGD(
            model.parameters(),
            lr=config["lr"],
            momentum=config["momentum"],
            weight_decay=config["weight_decay"],
        )
        generator = torch.Generator().manual_seed(_seed_of(config, seed, "order"))
        batch_size = int(config["batch_size"])
        values: list[float] = []
        for _ in range(self.max_resource):
            order = torch.randperm(len(x_train), generator=generator)
            for start in range(0, len(x_train), batch_size):
                batch = order[start : start + batch_size]
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(x_train[batch]), y_train[batch])
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                value = float(torch.nn.functional.cross_entropy(model(x_val), y_val))
            if not math.isfinite(value):
                values.extend([math.nan] * (self.max_resource - len(values)))
                break
            values.append(value)
        return np.array(values)


def get_curve_problem(name: str) -> CurveProblem:
    """Build a curve problem by name (one of :data:`CURVE_PROBLEMS`)."""
    if name in ("deberta-v3-base", "deberta-base", "alexnet"):
        return OpdaReplay(name)
    factories: dict[str, Any] = {
        "torch-mlp-digits": TorchTraining,
        "torch-cnn-digits": lambda: TorchTraining("torch-cnn-digits", architecture="cnn"),
        "torch-mlp-tabular": lambda: TorchTraining("torch-mlp-tabular", dataset="breast_cancer"),
        "synthetic-pow3": SyntheticPow3,
        "mf-branin": MultiFidelityBranin,
        "mf-hartmann6": MultiFidelityHartmann6,
    }
    if name not in factories:
        raise ValueError(f"unknown curve problem {name!r}; choose from {CURVE_PROBLEMS}")
    return factories[name]()


# ----------------------------------------------------------------------------- sampler problems
@dataclass
class QuadraticSurface:
    """Loss quadratic in ``k`` of ``d`` hyperparameters on [0, 1]^d, plus Gaussian noise.

    ``loss(x) = sum_{i<k} w_i (x_i - x*_i)^2 + Normal(0, noise)``: best possible expected loss 0,
    effective number of hyperparameters ``k`` (the ellipsoid stays inside the box below
    ``min_i w_i min(x*_i, 1 - x*_i)^2``). The analyzer's ground truth.
    """

    d: int = 6
    k: int = 2
    noise: float = 0.01
    name: str = "quadratic"
    direction: str = "minimize"
    best_value: float = 0.0

    @cached_property
    def weights(self) -> np.ndarray:
        return np.linspace(1.0, 2.0, self.k)

    @cached_property
    def optimum(self) -> np.ndarray:
        return np.linspace(0.35, 0.65, self.d)

    def search_space(self) -> dict[str, optuna.distributions.BaseDistribution]:
        return {f"x{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(self.d)}

    def true_value(self, config: dict[str, Any]) -> float:
        """The noiseless loss of a configuration."""
        x = np.array([config[f"x{i}"] for i in range(self.d)])
        return float(self.weights @ (x[: self.k] - self.optimum[: self.k]) ** 2)

    def evaluate(self, config: dict[str, Any], seed: int = 0) -> float:
        noise = float(np.random.default_rng(_seed_of(config, seed)).standard_normal())
        return self.true_value(config) + self.noise * noise

    def sample_scores(self, n: int, seed: int) -> np.ndarray:
        """Random-search scores: ``n`` i.i.d. uniform configurations."""
        rng = np.random.default_rng(seed)
        x = rng.random((n, self.d))
        values = (x[:, : self.k] - self.optimum[: self.k]) ** 2 @ self.weights
        return values + self.noise * rng.standard_normal(n)


@dataclass
class FullFidelity:
    """A curve problem's final value as a plain objective (for samplers)."""

    problem: CurveProblem

    @property
    def name(self) -> str:
        return self.problem.name

    @property
    def direction(self) -> str:
        return self.problem.direction

    def search_space(self) -> dict[str, optuna.distributions.BaseDistribution]:
        return self.problem.search_space()

    def evaluate(self, config: dict[str, Any], seed: int = 0) -> float:
        return self.problem.final(config, seed)

    def true_value(self, config: dict[str, Any]) -> float:
        return self.problem.final(config, seed=0)


@dataclass
class Surrogate:
    """A regression model of an opda search (config -> final score) with the search's own noise.

    A random forest on the searched hyperparameters (log learning rate, warmup share, ...) fitted on
    all recorded runs; evaluating adds Gaussian noise with the seed-to-seed sigma that the analyzer
    estimates on the same search, seeded by (configuration, seed).
    """

    name: str = "deberta-v3-base"

    @property
    def direction(self) -> str:
        return "maximize"

    def search_space(self) -> dict[str, optuna.distributions.BaseDistribution]:
        return {
            "num_train_epochs": optuna.distributions.IntDistribution(1, 4),
            "train_batch_size": optuna.distributions.IntDistribution(16, 64),
            "learning_rate": optuna.distributions.FloatDistribution(1e-6, 1e-3, log=True),
            "warmup_proportion": optuna.distributions.FloatDistribution(0.0, 0.6),
            "cls_drop_out": optuna.distributions.FloatDistribution(0.0, 0.3),
        }

    @staticmethod
    def _features(config: dict[str, Any]) -> list[float]:
        return [
            config["num_train_epochs"],
            config["train_batch_size"],
            math.log10(config["learning_rate"]),
            config["warmup_proportion"],
            config["cls_drop_out"],
        ]

    @cached_property
    def model(self) -> tuple[Any, float]:
        from sklearn.ensemble import RandomForestRegressor

        from tune_extras.surface import fit_near_optimum

        runs = load_runs(self.name)
        rows, targets = [], []
        for run in runs:
            config = dict(run.config)
            steps_per_epoch = config["total_model_steps"] / config["num_train_epochs"]
            config["warmup_proportion"] = config["warmup_steps"] / steps_per_epoch
            rows.append(self._features(config))
            targets.append(run.final)
        forest = RandomForestRegressor(n_estimators=200, min_samples_leaf=3, random_state=0)
        forest.fit(np.array(rows), np.array(targets))
        sigma = fit_near_optimum(np.array(targets), "maximize").sigma
        return forest, sigma

    def true_value(self, config: dict[str, Any]) -> float:
        """The surrogate's mean score of a configuration (no noise)."""
        forest, _ = self.model
        return float(forest.predict(np.array([self._features(config)]))[0])

    def evaluate(self, config: dict[str, Any], seed: int = 0) -> float:
        _, sigma = self.model
        noise = float(np.random.default_rng(_seed_of(config, seed)).standard_normal())
        return self.true_value(config) + sigma * noise
