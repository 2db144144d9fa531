"""The study report: numbers, plain-words text, JSON and a plot."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tune_extras.surface import NearOptimumFit


@dataclass(frozen=True)
class TuningCurve:
    """Best value after ``n`` random-search trials: fitted median and mean, band, and observed."""

    n: np.ndarray
    median: np.ndarray
    expected: np.ndarray
    band_low: np.ndarray
    band_high: np.ndarray
    observed_n: np.ndarray
    observed: np.ndarray

    def as_dict(self) -> dict[str, list[float]]:
        return {key: np.asarray(value).tolist() for key, value in self.__dict__.items()}


@dataclass(frozen=True)
class Extrapolation:
    """What more random-search trials would buy."""

    n_trials: int
    extra_trials: int
    median_now: float
    median_after: float
    median_after_interval: tuple[float, float]
    # epsilon -> trials for a 50% chance that the best configuration's expected value is within
    # epsilon of the best possible (half and a tenth of today's median gap)
    trials_to_reach: dict[float, float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_trials": self.n_trials,
            "extra_trials": self.extra_trials,
            "median_best_now": self.median_now,
            "median_best_after": self.median_after,
            "median_best_after_interval": list(self.median_after_interval),
            "trials_to_reach": [
                {"epsilon": eps, "trials": trials} for eps, trials in self.trials_to_reach.items()
            ],
        }


@dataclass(frozen=True)
class StudyReport:
    """Result of :func:`tune_extras.analyze`. ``print(report)`` shows it in plain words."""

    study_name: str | None
    direction: str
    sampler: str | None
    trial_counts: dict[str, int]
    fit: NearOptimumFit
    best_observed: float
    tuning_curve: TuningCurve
    extrapolation: Extrapolation
    importances: dict[str, float] | None
    warnings: tuple[str, ...]

    @property
    def best(self) -> float:
        """Extrapolated best possible (expected) value."""
        return self.fit.best

    @property
    def best_interval(self) -> Any:
        return self.fit.best_interval

    @property
    def effective_dimension(self) -> float:
        return self.fit.effective_dimension

    @property
    def effective_dimension_interval(self) -> Any:
        return self.fit.effective_dimension_interval

    def to_dict(self) -> dict[str, Any]:
        fit = self.fit
        return {
            "study_name": self.study_name,
            "direction": self.direction,
            "sampler": self.sampler,
            "trials": self.trial_counts,
            "best_observed": self.best_observed,
            "best_possible": {"estimate": fit.best, **fit.best_interval.as_dict()},
            "effective_dimension": {
                "estimate": fit.effective_dimension,
                **fit.effective_dimension_interval.as_dict(),
            },
            "noise_sigma": fit.sigma,
            "fit": {
                "a": fit.distribution.a,
                "b": fit.distribution.b,
                "c": fit.distribution.c,
                "sigma": fit.sigma,
                "tail_trials": fit.n_tail,
                "tail_share": fit.tail_mass,
                "threshold": fit.threshold,
                "ks_statistic": fit.ks_statistic,
                "ks_pvalue": fit.ks_pvalue,
            },
            "tuning_curve": self.tuning_curve.as_dict(),
            "extrapolation": self.extrapolation.as_dict(),
            "importances": self.importances,
            "warnings": list(self.warnings),
        }

    def to_json(self, indent: int | None = 2) -> str:
        def default(value: Any) -> Any:
            if isinstance(value, np.generic):
                return value.item()
            raise TypeError(f"cannot serialise {type(value).__name__}")

        return json.dumps(_finite(self.to_dict()), indent=indent, default=default)

    def __str__(self) -> str:
        return self.to_text()

    def to_text(self) -> str:
        fit, ext, counts = self.fit, self.extrapolation, self.trial_counts
        word = "loss" if self.direction == "minimize" else "score"
        level = f"{fit.best_interval.level:.0%}"
        ignored = ", ".join(
            f"{counts[key]} {key.replace('_', ' ')}"
            for key in ("pruned", "fail", "running", "waiting", "not_finite")
            if counts.get(key)
        )
        lines = [
            f"tune-extras study report{f': {self.study_name}' if self.study_name else ''}",
            f"  objective: {self.direction} ({word}); sampler: {self.sampler or 'unknown'}",
            f"  trials: {counts['used']} used of {counts['total']}"
            + (f" (ignored: {ignored})" if ignored else ""),
            "",
            f"  best observed {word}:            {self.best_observed:.6g}",
            f"  best possible {word} (estimate): {fit.best:.6g}   {level} CI "
            f"[{_fmt(fit.best_interval.low)}, {_fmt(fit.best_interval.high)}]",
            f"  effective hyperparameters:      {fit.effective_dimension:.2f}   {level} CI "
            f"[{_fmt(fit.effective_dimension_interval.low)}, "
            f"{_fmt(fit.effective_dimension_interval.high)}]",
            f"  evaluation noise (sigma):       {fit.sigma:.3g}",
            f"  fitted on the best {fit.n_tail} trials ({fit.tail_mass:.0%}), threshold "
            f"{fit.threshold:.6g}; tail fit KS p-value {fit.ks_pvalue:.2f}",
            "",
            "  tuning curve (median best after n random trials):",
        ]
        curve = self.tuning_curve
        shown = sorted({1, 10, ext.n_trials, 2 * ext.n_trials, int(curve.n[-1])})
        for n in shown:
            idx = int(np.argmin(np.abs(curve.n - n)))
            lines.append(
                f"    n={int(curve.n[idx]):>6}: {curve.median[idx]:.6g}  "
                f"[{curve.band_low[idx]:.6g}, {curve.band_high[idx]:.6g}]"
            )
        low, high = ext.median_after_interval
        lines += [
            "",
            f"  {ext.extra_trials} more trials: median best {ext.median_now:.6g} -> "
            f"{ext.median_after:.6g} [{low:.6g}, {high:.6g}]",
        ]
        for eps, trials in ext.trials_to_reach.items():
            lines.append(
                f"  trials until the best configuration's expected {word} is within {eps:.3g} of "
                f"the best possible (50% chance): {_fmt(trials, integer=True)}"
            )
        if self.importances:
            lines += ["", "  hyperparameter importance:"]
            for name, value in sorted(self.importances.items(), key=lambda kv: -kv[1]):
                lines.append(f"    {name:<24} {value:.3f}")
        if self.warnings:
            lines += ["", "  warnings:"] + [f"    - {w}" for w in self.warnings]
        return "\n".join(lines)

    def plot(self, path: str | Path) -> Path:
        """Save the tuning curve (observed, fitted median and band) as an image (needs matplotlib)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        curve = self.tuning_curve
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        ax.fill_between(curve.n, curve.band_low, curve.band_high, alpha=0.25, label="band")
        ax.plot(curve.n, curve.median, label="fitted median best")
        ax.plot(curve.observed_n, curve.observed, "k.", ms=3, label="observed (expected best)")
        ax.axhline(self.fit.best, ls="--", c="gray", label="best possible (estimate)")
        ax.set_xscale("log")
        ax.set_xlabel("random-search trials")
        ax.set_ylabel("best value")
        ax.legend()
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, dpi=120)
        plt.close(fig)
        return path


def _fmt(value: float, integer: bool = False) -> str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.0f}" if integer else f"{value:.6g}"


def _finite(value: Any) -> Any:
    """Replace non-finite floats by strings, since JSON has no infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
