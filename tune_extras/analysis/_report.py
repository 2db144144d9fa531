"""The study report: a verdict in plain words, the numbers behind it, JSON and a plot.

Every number shown is finite and inside the objective's possible range, or replaced by a sentence
saying why it is not shown (docs/report.md explains each one).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tune_extras.analysis._bounds import Bounds
from tune_extras.analysis._quantity import Quantity, fmt, fmt_trials
from tune_extras.analysis._verdict import Findings, Target
from tune_extras.surface import Interval, NearOptimumFit


@dataclass(frozen=True)
class TuningCurve:
    """Best value after ``n`` random-search trials: fitted median and mean, band, and observed.

    Every value is clipped to the objective's possible range; ``band_low <= median <= band_high``.
    """

    n: np.ndarray
    median: np.ndarray
    expected: np.ndarray
    band_low: np.ndarray
    band_high: np.ndarray
    observed_n: np.ndarray
    observed: np.ndarray
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            key: np.asarray(value).tolist()
            for key, value in self.__dict__.items()
            if key != "notes"
        }
        out["notes"] = list(self.notes)
        return out


@dataclass(frozen=True)
class Extrapolation:
    """What more random-search trials would buy (values in the objective's units).

    ``median_now`` / ``median_after``: median best *observed* value (noise included) after the
    trials run so far / after ``extra_trials`` more; ``gain``: the expected improvement of the best
    observed value from those extra trials; ``trials_to_reach``: trials for a 50% chance that the
    best configuration's *expected* value is within each target of the best possible.
    """

    n_trials: int
    extra_trials: int
    median_now: float | None
    median_after: float | None
    median_after_interval: tuple[float | None, float | None]
    gain: float
    gain_interval: tuple[float | None, float | None]
    trials_to_reach: tuple[Target, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_trials": self.n_trials,
            "extra_trials": self.extra_trials,
            "median_best_now": self.median_now,
            "median_best_after": self.median_after,
            "median_best_after_interval": list(self.median_after_interval),
            "expected_gain": self.gain,
            "expected_gain_interval": list(self.gain_interval),
            "trials_to_reach": [target.as_dict() for target in self.trials_to_reach],
        }


@dataclass(frozen=True)
class StudyReport:
    """Result of :func:`tune_extras.analyze`. ``print(report)`` shows it in plain words.

    When the study was not a random search (``refusal`` is set), ``fit``, ``findings``,
    ``tuning_curve`` and ``extrapolation`` are ``None``: its numbers would describe the sampler,
    not the search space.
    """

    study_name: str | None
    direction: str
    sampler: str | None
    trial_counts: dict[str, int]
    fit: NearOptimumFit | None
    best_observed: float
    tuning_curve: TuningCurve | None
    extrapolation: Extrapolation | None
    importances: dict[str, float] | None
    warnings: tuple[str, ...]
    bounds: Bounds = field(default_factory=Bounds)
    findings: Findings | None = None
    refusal: str | None = None
    random_draws_only: bool = False

    # ----- numbers --------------------------------------------------------------------------
    @property
    def best_possible(self) -> Quantity | None:
        """Best possible expected value (noise-free), clipped to the bounds; ``None`` if refused."""
        return None if self.findings is None else self.findings.best_possible

    @property
    def best(self) -> float | None:
        """Extrapolated best possible (expected) value, within the bounds (``None``: not shown)."""
        return None if self.findings is None else self.findings.best_possible.estimate

    @property
    def best_interval(self) -> Interval | None:
        """Interval of :attr:`best`, clipped to the bounds; an end the data cannot bound is +-inf."""
        if self.findings is None:
            return None
        q = self.findings.best_possible
        return Interval(
            -math.inf if q.low is None else q.low,
            math.inf if q.high is None else q.high,
            float(q.level or 0.0),
        )

    @property
    def effective_dimension(self) -> float | None:
        return None if self.findings is None else self.findings.effective_dimension.estimate

    @property
    def effective_dimension_interval(self) -> Interval | None:
        if self.findings is None:
            return None
        q = self.findings.effective_dimension
        return Interval(
            1.0 if q.low is None else q.low,
            math.inf if q.high is None else q.high,
            float(q.level or 0.0),
        )

    @property
    def verdict(self) -> tuple[str, ...]:
        """The plain-words verdict (the first lines of the text report)."""
        if self.refusal is not None:
            return (self.refusal,)
        return () if self.findings is None else self.findings.verdict

    # ----- JSON -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "study_name": self.study_name,
            "direction": self.direction,
            "sampler": self.sampler,
            "random_draws_only": self.random_draws_only,
            "bounds": self.bounds.as_dict(),
            "trials": self.trial_counts,
            "verdict": list(self.verdict),
            "refused": self.refusal,
            "best_observed": self.best_observed,
            "importances": self.importances,
            "warnings": list(self.warnings),
        }
        f, fit = self.findings, self.fit
        if f is None or fit is None:
            reason = self.refusal or "no fit"
            for key in ("best_possible", "effective_dimension", "noise_sigma", "fit",
                        "tuning_curve", "extrapolation"):
                out[key] = None
            out["missing_reason"] = reason
            return out
        out.update(
            {
                "best_possible": f.best_possible.as_dict(),
                "best_possible_note": f.noise_explanation,
                "effective_dimension": f.effective_dimension.as_dict(),
                "noise_sigma": f.sigma,
                "noise_sigma_high": f.sigma_high,
                "expected_observed": {
                    "median_best_now": f.observed_now.as_dict(),
                    "median_best_after": f.observed_after.as_dict(),
                },
                "best_region_share": f.region_share,
                "best_region_epsilon": f.region_epsilon,
                "top_configurations": {
                    "count": f.top_count,
                    "spread": f.top_spread,
                    "within_noise": f.top_within_noise,
                },
                "coarse": {"coarse": f.coarse, "reason": f.coarse_reason},
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
                    "note": "raw parameters of the fitted law (not clipped to the bounds)",
                },
                "tuning_curve": None if self.tuning_curve is None else self.tuning_curve.as_dict(),
                "extrapolation": (
                    None if self.extrapolation is None else self.extrapolation.as_dict()
                ),
            }
        )
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """JSON; a number that is not finite becomes ``null`` (each has a note saying why)."""

        def default(value: Any) -> Any:
            if isinstance(value, np.generic):
                return value.item()
            raise TypeError(f"cannot serialise {type(value).__name__}")

        return json.dumps(_finite(self.to_dict()), indent=indent, default=default,
                          allow_nan=False)

    # ----- text -----------------------------------------------------------------------------
    def __str__(self) -> str:
        return self.to_text()

    def to_text(self) -> str:
        counts = self.trial_counts
        word = "loss" if self.direction == "minimize" else "score"
        ignored = ", ".join(
            f"{counts[key]} {key.replace('_', ' ')}"
            for key in ("pruned", "fail", "running", "waiting", "not_finite", "not_random_draws")
            if counts.get(key)
        )
        sampler = self.sampler or "unknown (a stored study or a table does not record it)"
        lines = [
            f"tune-extras study report{f': {self.study_name}' if self.study_name else ''}",
            f"  objective: {self.direction} ({word}); sampler: {sampler}",
            f"  trials: {counts['used']} used of {counts['total']}"
            + (f" (not used: {ignored})" if ignored else ""),
        ]
        if self.random_draws_only:
            lines.append("  only the trials marked as random draws are analysed")
        if counts.get("pruned") and self.findings is not None:
            lines.append(
                f"  the {counts['pruned']} pruned trials count as trials worse than the fitted tail"
            )
        if self.bounds.source != "none":
            lines.append(f"  possible values: {self.bounds.describe()}")
        lines += ["", "  verdict:"] + [f"    - {line}" for line in self.verdict]
        best = (
            fmt(self.best_observed)
            if math.isfinite(self.best_observed)
            else "none (no trial completed)"
        )
        lines += ["", f"  best observed {word}: {best}"]
        f = self.findings
        if f is not None and self.extrapolation is not None:
            lines += self._numbers_text(f, self.extrapolation, word)
        if self.importances:
            lines += ["", "  hyperparameter importance (share of the variation explained):"]
            for name, value in sorted(self.importances.items(), key=lambda kv: -kv[1]):
                lines.append(f"    {name:<24} {value:.3f}")
        if self.warnings:
            lines += ["", "  warnings:"] + [f"    - {w}" for w in self.warnings]
        return "\n".join(lines)

    def _numbers_text(self, f: Findings, ext: Extrapolation, word: str) -> list[str]:
        fit = self.fit
        assert fit is not None
        above, below = ("above", "below") if self.direction == "minimize" else ("below", "above")
        no_worse = "the data cannot bound it from " + above
        no_better = "the data cannot bound it from " + below
        lines = [
            "",
            "  what you can expect to observe (one evaluation each, noise included):",
            f"    median best {word} after the {ext.n_trials} trials run: "
            + f.observed_now.text(no_better, no_worse),
            f"    median best {word} after {ext.extra_trials} more trials: "
            + f.observed_after.text(no_better, no_worse),
            "",
            "  what the search space holds (noise-free):",
            f"    best possible expected {word}: "
            + f.best_possible.text(no_better, no_worse),
            "    effective hyperparameters: "
            + f.effective_dimension.text("1", "the data cannot bound it from above", integer=True),
            "    evaluation noise (sigma): "
            + _noise_text(f),
            f"    ({f.noise_explanation})",
        ]
        notes = list(f.best_possible.notes) + list(f.effective_dimension.notes)
        notes += [n for n in f.observed_now.notes + f.observed_after.notes if "extrapolates" in n]
        lines += [f"    note: {note}" for note in notes]
        curve = self.tuning_curve
        if curve is not None:
            lines += ["", "  tuning curve (median best after n random trials, and band):"]
            shown = sorted({1, 10, ext.n_trials, 2 * ext.n_trials, int(curve.n[-1])})
            for n in shown:
                i = int(np.argmin(np.abs(curve.n - n)))
                lines.append(
                    f"    n={int(curve.n[i]):>6}: {fmt(curve.median[i])}  "
                    f"[{fmt(curve.band_low[i])}, {fmt(curve.band_high[i])}]"
                )
            lines += [f"    note: {note}" for note in curve.notes]
        if ext.trials_to_reach:
            lines += ["", f"  trials for a 50% chance that the best configuration's expected {word}"
                      " is within a target of the best possible:"]
            for target in ext.trials_to_reach:
                if target.trials is not None:
                    lines.append(f"    within {fmt(target.epsilon)}: {fmt_trials(target.trials)}"
                                 " trials")
                else:
                    lines.append(f"    {target.note}")
        lines += [
            "",
            f"  fit: the best {fit.n_tail} of {fit.n_trials} trials ({fit.tail_mass:.0%}); tail "
            f"threshold {fmt(fit.threshold)}; goodness of fit (KS) p-value {fit.ks_pvalue:.2f}",
        ]
        return lines

    # ----- plot -----------------------------------------------------------------------------
    def plot(self, path: str | Path) -> Path:
        """Save the tuning curve (observed, fitted median and band) as an image (needs matplotlib).

        Raises:
            ValueError: When the report has no fit (the study was not a random search).
        """
        curve = self.tuning_curve
        if curve is None:
            raise ValueError(f"no tuning curve to plot: {self.refusal or 'no fit'}")
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        ax.fill_between(curve.n, curve.band_low, curve.band_high, alpha=0.25, label="band")
        ax.plot(curve.n, curve.median, label="fitted median best")
        ax.plot(curve.observed_n, curve.observed, "k.", ms=3, label="observed (expected best)")
        if self.best is not None:
            ax.axhline(self.best, ls="--", c="gray", label="best possible (noise-free)")
        ax.set_xscale("log")
        ax.set_xlabel("random-search trials")
        ax.set_ylabel("best value")
        ax.legend()
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, dpi=120)
        plt.close(fig)
        return path


def _noise_text(f: Findings) -> str:
    if f.sigma > 0:
        return fmt(f.sigma)
    if f.sigma_high is None:
        return "not detected (the data cannot bound it)"
    return f"not detected (at most {fmt(f.sigma_high)})"


def _finite(value: Any) -> Any:
    """Replace non-finite floats by ``None`` (JSON has no infinity; notes say why)."""
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
