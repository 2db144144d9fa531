"""The study report: a verdict in plain words and the numbers behind it, with several faces.

One :class:`StudyReport` shows itself as terminal text (:mod:`._text`), a self-contained HTML page
and a notebook view (:mod:`._html`), matplotlib figures (:mod:`._figures`), DataFrames
(:mod:`._frames`), versioned JSON, and a note with figures on optuna-dashboard (:mod:`._publish`).
Every number shown is finite and inside the objective's possible range, or replaced by a sentence
saying why it is not shown (docs/analyzer.md explains each one); the faces show the numbers of
``findings`` as they are.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tune_extras.analysis._bounds import Bounds
from tune_extras.analysis._quantity import Quantity
from tune_extras.analysis._verdict import Findings, Target
from tune_extras.surface import Interval, NearOptimumFit

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Version of the JSON layout of :meth:`StudyReport.to_json` (docs/reference/json.md); a field's
#: meaning never changes within a version, new fields may be added.
SCHEMA_VERSION = 1


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


@dataclass(frozen=True, repr=False)
class StudyReport:
    """Result of :func:`tune_extras.analyze`. ``print(report)`` shows it in plain words.

    When the study was not a random search (``refusal`` is set), ``fit``, ``findings``,
    ``tuning_curve`` and ``extrapolation`` are ``None``: its numbers would describe the sampler,
    not the search space.

    Faces: :meth:`to_text` (and ``print``), :meth:`print` (colour on a terminal), :meth:`to_html`
    (a self-contained page), ``_repr_html_`` (notebooks), ``plot_*`` (matplotlib figures),
    :meth:`to_frame` (DataFrames), :meth:`to_json` (versioned JSON) and :meth:`publish`
    (optuna-dashboard). ``trials`` is the trials table the report was computed from (learning
    curves, compute saved by pruning, the observed tail); ``None`` when not attached.
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
    trials: pd.DataFrame | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        best = self.best_possible
        numbers = ""
        if best is not None and best.estimate is not None:
            numbers = f", best_possible={best.estimate:.4g}"
            if best.low is not None and best.high is not None:
                numbers += f" [{best.low:.4g}, {best.high:.4g}]"
        if self.effective_dimension is not None:
            numbers += f", effective_dimension={self.effective_dimension:.0f}"
        if self.refusal is not None:
            numbers = ", refused"
        return (
            f"StudyReport(study={self.study_name!r}, direction={self.direction!r}, "
            f"trials={self.trial_counts.get('used', 0)}/{self.trial_counts.get('total', 0)}"
            f"{numbers})"
        )

    def with_trials(self, source: Any) -> StudyReport:
        """This report with the trials table of ``source`` (an ``optuna.Study``, a storage URL or a
        trials table) attached, for the faces that show the trials themselves."""
        if isinstance(source, pd.DataFrame):
            table = source
        else:
            from tune_extras.optuna._loader import load_trials

            table = load_trials(source, study_name=self.study_name)
        return dataclasses.replace(self, trials=table)

    # ----- names ----------------------------------------------------------------------------
    @property
    def word(self) -> str:
        """``"loss"`` when minimising, ``"score"`` when maximising."""
        return "loss" if self.direction == "minimize" else "score"

    @property
    def metric_name(self) -> str | None:
        """The metric's name when the study records it (``study.set_metric_names``)."""
        if self.trials is None:
            return None
        name = self.trials.attrs.get("metric")
        return str(name) if name else None

    @property
    def metric(self) -> str:
        """The metric's name, or ``"loss"``/``"score"`` when the study does not record it."""
        return self.metric_name or self.word

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
    def effective_dimension(self) -> int | None:
        """The effective number of hyperparameters (an integer), ``None`` when not estimated."""
        if self.findings is None or self.findings.effective_dimension.estimate is None:
            return None
        return round(self.findings.effective_dimension.estimate)

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
            "schema": "tune-extras/study-report",
            "schema_version": SCHEMA_VERSION,
            "study_name": self.study_name,
            "metric": self.metric_name,
            "direction": self.direction,
            "sampler": self.sampler,
            "random_draws_only": self.random_draws_only,
            "bounds": self.bounds.as_dict(),
            "trials": self.trial_counts,
            "verdict": list(self.verdict),
            "refused": self.refusal,
            "best_observed": self.best_observed,
            "best_observed_note": (
                None if math.isfinite(self.best_observed) else "no trial completed"
            ),
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
                "noise_sigma_high_note": (
                    None if f.sigma_high is not None
                    else "the data cannot bound how large an undetected noise could be"
                ),
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
        """The report as plain text, verdict first (one logical line per line)."""
        from tune_extras.analysis._text import to_text

        return to_text(self)

    def print(self, file: Any = None) -> None:
        """Print the report (in colour on a terminal, plain text elsewhere)."""
        from tune_extras.analysis._text import print_report

        print_report(self, file)

    # ----- tables ---------------------------------------------------------------------------
    def to_frame(self, name: str = "summary") -> pd.DataFrame:
        """One of the report's tables as a DataFrame: ``"summary"`` (every number with its
        interval and note), ``"tuning_curve"``, ``"targets"``, ``"importance"``, ``"counts"``,
        ``"trials"``, ``"tail"``, ``"learning_curves"`` or ``"pruning"`` (the last four need
        :attr:`trials`)."""
        from tune_extras.analysis._frames import frame

        return frame(self, name)

    # ----- figures --------------------------------------------------------------------------
    def plot_tuning_curve(self) -> Figure:
        """Figure: the tuning curve with its band, observed points and the extrapolation."""
        return self._figure("tuning_curve")

    def plot_tail(self) -> Figure:
        """Figure: the observed values near the optimum against the fitted law and its band."""
        return self._figure("tail")

    def plot_importance(self) -> Figure:
        """Figure: Optuna's hyperparameter importances."""
        return self._figure("importance")

    def plot_learning_curves(self) -> Figure:
        """Figure: the trials' learning curves coloured by outcome, pruned ones marked."""
        return self._figure("learning_curves")

    def plot_pruning(self) -> Figure:
        """Figure: the steps run against the steps without pruning (compute saved)."""
        return self._figure("pruning")

    def _figure(self, name: str) -> Figure:
        from tune_extras.analysis._figures import FIGURES

        return FIGURES[name](self)

    def plot(self, path: str | Path) -> Path:
        """Save the tuning-curve figure to ``path`` (PNG, SVG or PDF from the suffix; needs
        matplotlib). The caller's matplotlib backend is left as it is.

        Raises:
            ValueError: When the report has no fit (the study was not a random search), or the
                folder of ``path`` does not exist.
        """
        path = Path(path)
        if not path.parent.is_dir():
            raise ValueError(f"cannot write {str(path)!r}: no folder {str(path.parent)!r}")
        self.plot_tuning_curve().savefig(path, dpi=120)
        return path

    # ----- HTML -----------------------------------------------------------------------------
    def to_html(self, path: str | Path | None = None, *, note: str | None = None) -> str:
        """A self-contained HTML page (no script, no network: figures are inline SVG); written
        to ``path`` when given. ``note``: a sentence shown at the page's foot (a data licence,
        say). Figures need matplotlib; without it the page has the tables."""
        from tune_extras.analysis._html import page

        html = page(self, note)
        if path is not None:
            Path(path).write_text(html, encoding="utf-8")
        return html

    def _repr_html_(self) -> str:
        from tune_extras.analysis._html import fragment

        return fragment(self)

    # ----- optuna-dashboard -----------------------------------------------------------------
    def publish(self, study: Any, artifact_store: Any = None) -> str:
        """Attach the report to ``study`` for optuna-dashboard: a note with the verdict and the
        numbers, and, with ``artifact_store``, the figures as SVG artifacts. Opt-in and the only
        write: it touches no trial. Returns the note's text. See
        :func:`tune_extras.analysis.publish`."""
        from tune_extras.analysis._publish import publish

        return publish(self, study, artifact_store)


def _finite(value: Any) -> Any:
    """Replace non-finite floats by ``None`` (JSON has no infinity; notes say why)."""
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
