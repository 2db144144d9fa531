"""Every table of a :class:`~tune_extras.analysis.StudyReport` as a pandas DataFrame.

The numbers come from the report as they are (its ``findings``, ``tuning_curve``,
``extrapolation``, ``importances`` and ``trial_counts``); this module only lays them out. Two
tables describe the trials themselves (their learning curves and the steps pruning saved) and need
the trials table the report was computed from (``report.trials``). The figure of the tail (the
fitted law against the observed values) evaluates the fitted distribution and its parameter draws
on a grid: that is drawing the fit, not a new estimate.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tune_extras._validation import loss_sign
from tune_extras.analysis._quantity import Quantity
from tune_extras.analysis._sample import select_sample

if TYPE_CHECKING:
    from tune_extras.analysis._report import StudyReport

#: The tables :meth:`StudyReport.to_frame` returns, by name.
FRAMES = (
    "summary",
    "tuning_curve",
    "targets",
    "importance",
    "counts",
    "trials",
    "tail",
    "learning_curves",
    "pruning",
)

#: Parameter draws behind the band of the tail figure (pointwise quantiles).
TAIL_DRAWS = 60


def frame(report: StudyReport, name: str = "summary") -> pd.DataFrame:
    """The table ``name`` of ``report`` (one of :data:`FRAMES`)."""
    builders = {
        "summary": summary,
        "tuning_curve": tuning_curve,
        "targets": targets,
        "importance": importance,
        "counts": counts,
        "trials": trials,
        "tail": tail,
        "learning_curves": learning_curves,
        "pruning": pruning,
    }
    if name not in builders:
        raise ValueError(f"name must be one of {', '.join(FRAMES)}; got {name!r}")
    return builders[name](report)


def _row(quantity: str, q: Quantity | None, unit: str, note: str | None = None) -> dict[str, Any]:
    if q is None:
        return {"quantity": quantity, "estimate": None, "low": None, "high": None, "level": None,
                "unit": unit, "note": note}
    notes = [*q.notes, *([note] if note else [])]
    return {"quantity": quantity, "estimate": q.estimate, "low": q.low, "high": q.high,
            "level": q.level, "unit": unit, "note": "; ".join(notes) or None}


def summary(report: StudyReport) -> pd.DataFrame:
    """The report's numbers: estimate and interval (``None`` where the data cannot say, with a
    note), one row per quantity. A refused study has only its best observed value."""
    word = report.word
    rows = [{"quantity": f"best observed {word}",
             "estimate": report.best_observed if math.isfinite(report.best_observed) else None,
             "low": None, "high": None, "level": None, "unit": report.metric,
             "note": None if math.isfinite(report.best_observed) else "no trial completed"}]
    f, ext = report.findings, report.extrapolation
    if f is not None and ext is not None:
        rows += [
            _row(f"best possible expected {word}", f.best_possible, report.metric,
                 f.noise_explanation),
            _row("effective hyperparameters", f.effective_dimension, "hyperparameters"),
            {"quantity": "evaluation noise (sigma)", "estimate": f.sigma,
             "low": None, "high": f.sigma_high if f.sigma == 0 else None, "level": None,
             "unit": report.metric,
             "note": "not detected" if f.sigma == 0 else None},
            _row(f"median best {word} after the {ext.n_trials} trials run", f.observed_now,
                 report.metric),
            _row(f"median best {word} after {ext.extra_trials} more trials", f.observed_after,
                 report.metric),
            _row(f"expected improvement from {ext.extra_trials} more trials", f.gain,
                 report.metric),
            {"quantity": "share of the search space within the best region",
             "estimate": f.region_share, "low": None, "high": None, "level": None,
             "unit": "share",
             "note": None if f.region_epsilon is None
             else f"configurations within {f.region_epsilon:.4g} of the optimum"},
        ]
    return pd.DataFrame(rows, columns=["quantity", "estimate", "low", "high", "level", "unit",
                                       "note"])


def tuning_curve(report: StudyReport) -> pd.DataFrame:
    """Median (and mean) best value after ``n`` random trials, its band, and the observed curve
    (the expected best of ``n`` of the trials run; NaN past them). ``extrapolated``: ``n`` beyond
    the trials run."""
    curve = report.tuning_curve
    columns = ["n", "median", "expected", "band_low", "band_high", "observed", "extrapolated"]
    if curve is None:
        return pd.DataFrame(columns=columns)
    observed = pd.Series(np.asarray(curve.observed, dtype=float),
                         index=np.asarray(curve.observed_n, dtype=float))
    n = np.asarray(curve.n, dtype=float)
    n_run = report.extrapolation.n_trials if report.extrapolation is not None else n.max()
    return pd.DataFrame({
        "n": n.astype(int),
        "median": curve.median,
        "expected": curve.expected,
        "band_low": curve.band_low,
        "band_high": curve.band_high,
        "observed": observed.reindex(n).to_numpy(),
        "extrapolated": n > n_run,
    })


def targets(report: StudyReport) -> pd.DataFrame:
    """Trials for a 50% chance that the best configuration is within ``epsilon`` of the best
    possible (``trials`` is ``None`` with a note when it is no useful target)."""
    ext = report.extrapolation
    rows = [] if ext is None else [t.as_dict() for t in ext.trials_to_reach]
    return pd.DataFrame(rows, columns=["epsilon", "trials", "note"])


def importance(report: StudyReport) -> pd.DataFrame:
    """Optuna's hyperparameter importances (shares summing to 1), largest first."""
    items = sorted((report.importances or {}).items(), key=lambda kv: -kv[1])
    return pd.DataFrame(items, columns=["parameter", "importance"])


def counts(report: StudyReport) -> pd.DataFrame:
    """How many trials the study has in each state, and how many the fit used."""
    return pd.DataFrame(list(report.trial_counts.items()), columns=["trials", "count"])


def _require_trials(report: StudyReport) -> pd.DataFrame:
    if report.trials is None:
        raise ValueError(
            "this report holds no trials table; attach one with report.with_trials(study_or_table)"
        )
    return report.trials


def trials(report: StudyReport) -> pd.DataFrame:
    """One row per trial: number, state, value, steps reported, and whether the fit's tail holds
    it (``in_tail``: a trial of the analysed sample with a value at least as good as the tail
    threshold)."""
    table = _require_trials(report)
    out = pd.DataFrame({
        "number": table["number"] if "number" in table else np.arange(len(table)),
        "state": table["state"] if "state" in table else "COMPLETE",
        "value": pd.to_numeric(table["value"], errors="coerce"),
    })
    curves = _curves_column(table)
    out["steps"] = [len(c) for c in curves]
    out["last_step"] = [max(c) if c else None for c in curves]
    if report.fit is not None:
        sign = loss_sign(report.direction)
        rows = select_sample(table).rows
        sampled = out.index.isin(rows.index if rows is not None else out.index)
        done = sampled & out["state"].eq("COMPLETE") & np.isfinite(out["value"])
        out["in_tail"] = done & (sign * out["value"] <= sign * report.fit.threshold)
    return out.reset_index(drop=True)


def _curves_column(table: pd.DataFrame) -> list[dict[float, float]]:
    if "intermediate_values" not in table:
        return [{} for _ in range(len(table))]
    return [v if isinstance(v, dict) else {} for v in table["intermediate_values"]]


def learning_curves(report: StudyReport) -> pd.DataFrame:
    """The trials' intermediate values, long format: number, state, step, value."""
    table = _require_trials(report)
    numbers = table["number"] if "number" in table else pd.Series(range(len(table)))
    states = table["state"] if "state" in table else pd.Series(["COMPLETE"] * len(table))
    rows = [
        (int(number), str(state), float(step), float(value))
        for number, state, curve in zip(numbers, states, _curves_column(table))
        for step, value in sorted(curve.items())
    ]
    return pd.DataFrame(rows, columns=["number", "state", "step", "value"])


def pruning(report: StudyReport) -> pd.DataFrame:
    """Steps (reported intermediate values) run by each outcome, and the steps pruning saved.

    A pruned trial would have run to the longest completed trial's last step; the steps it did
    not run are the compute saved (in steps, assuming each costs the same). Columns: ``outcome``,
    ``trials``, ``steps_run``, ``steps_if_completed`` and ``saved`` (the share of
    ``steps_if_completed`` not run).
    """
    table = trials(report)
    full = table.loc[table["state"].eq("COMPLETE"), "last_step"].dropna()
    columns = ["outcome", "trials", "steps_run", "steps_if_completed", "saved"]
    if full.empty or not table["steps"].any():
        return pd.DataFrame(columns=columns)
    budget = float(full.max())
    rows: list[dict[str, Any]] = []
    for outcome in ("COMPLETE", "PRUNED", "FAIL"):
        part = table[table["state"].eq(outcome)]
        if part.empty:
            continue
        run = float(part["last_step"].fillna(0.0).sum())
        if_completed = budget * len(part) if outcome == "PRUNED" else run
        rows.append({
            "outcome": outcome.lower(), "trials": len(part), "steps_run": run,
            "steps_if_completed": if_completed,
            "saved": (1.0 - run / if_completed) if if_completed > 0 else 0.0,
        })
    run_all = sum(r["steps_run"] for r in rows)
    if_all = sum(r["steps_if_completed"] for r in rows)
    rows.append({"outcome": "all", "trials": len(table), "steps_run": run_all,
                 "steps_if_completed": if_all,
                 "saved": (1.0 - run_all / if_all) if if_all > 0 else 0.0})
    return pd.DataFrame(rows, columns=columns)


def tail(report: StudyReport, points: int = 120) -> pd.DataFrame:
    """The values near the optimum: the share of trials at least as good as each ``value``,
    observed (``empirical``, over all the fit's trials, pruned ones counted as worse) and fitted
    (``fitted``), with the fit's pointwise band over :data:`TAIL_DRAWS` parameter draws, from the
    best observed value to the tail threshold."""
    fit = report.fit
    columns = ["value", "empirical", "fitted", "band_low", "band_high"]
    if fit is None or report.trials is None:
        return pd.DataFrame(columns=columns)
    sample = select_sample(report.trials)
    y = sample.values
    sign = loss_sign(report.direction)
    best = float(sign * np.min(sign * y))
    grid = np.linspace(best, fit.threshold, points)
    total = float(fit.n_trials)
    empirical = np.array([(sign * y <= sign * v).sum() for v in grid]) / total

    def share(dist: Any) -> np.ndarray:
        return np.asarray(dist.cdf(grid) if sign > 0 else dist.sf(grid), dtype=float)

    fitted = share(fit.distribution)
    draws = []
    for dist in fit.parameter_draws(TAIL_DRAWS, seed=0):
        with np.errstate(all="ignore"):
            values = share(dist)
        if np.all(np.isfinite(values)):
            draws.append(values)
    level = fit.best_interval.level or 0.95
    if draws:
        stack = np.array(draws)
        low = np.quantile(stack, (1 - level) / 2, axis=0)
        high = np.quantile(stack, 1 - (1 - level) / 2, axis=0)
    else:
        low = high = np.full(grid.size, np.nan)
    return pd.DataFrame({
        "value": grid, "empirical": empirical, "fitted": np.clip(fitted, 0, 1),
        "band_low": np.clip(np.minimum(low, fitted), 0, 1),
        "band_high": np.clip(np.maximum(high, fitted), 0, 1),
    })
