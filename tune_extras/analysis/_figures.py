"""The report's figures as matplotlib :class:`~matplotlib.figure.Figure` objects.

Figures are built with the object-oriented API (``Figure()``, never ``pyplot``), so making one
neither selects a backend nor registers a figure with pyplot's global state: inline plots in a
notebook keep working, and nothing needs closing. Export with ``fig.savefig("x.png")`` or
``"x.svg"``. Every figure has a title, and its axes name the metric and the direction. The data of
each figure is a table of :mod:`tune_extras.analysis._frames`.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np

from tune_extras.analysis import _frames

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from tune_extras.analysis._report import StudyReport

#: Colours (matplotlib's tab10, readable for colour-blind viewers in these pairs).
BLUE, ORANGE, GREEN, GREY, RED = "#1f77b4", "#ff7f0e", "#2ca02c", "#7f7f7f", "#d62728"
_SIZE = (7.0, 4.2)


def _figure(title: str) -> tuple[Figure, Any]:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "figures need matplotlib: pip install 'tune-extras[plot]'"
        ) from None
    fig = Figure(figsize=_SIZE, layout="constrained")
    ax = fig.subplots()
    ax.set_title(title, fontsize=11, loc="left")
    ax.grid(True, alpha=0.3, lw=0.6)
    return fig, ax


def _value_label(report: StudyReport, what: str = "") -> str:
    better = "lower" if report.direction == "minimize" else "higher"
    name = f"{what} {report.metric}".strip()
    return f"{name} ({report.direction}: {better} is better)"


def _level(report: StudyReport) -> str:
    interval = report.best_interval
    return f"{interval.level:.0%}" if interval is not None and interval.level else "95%"


def _no_fit(report: StudyReport, what: str = "fit") -> ValueError:
    return ValueError(f"no {what} to plot: {report.refusal or 'no fit'}")


def tuning_curve(report: StudyReport) -> Figure:
    """Median best value after ``n`` random trials (fitted, with its band), the observed curve, and
    the extrapolation past the trials run (to the report's horizon, 10x by default)."""
    data = _frames.tuning_curve(report)
    if data.empty:
        raise _no_fit(report, "tuning curve")
    level = _level(report)
    fig, ax = _figure(f"Tuning curve: median best {report.metric} after n random-search trials")
    n = data["n"].to_numpy(dtype=float)
    ax.fill_between(n, data["band_low"], data["band_high"], color=BLUE, alpha=0.2, lw=0,
                    label=f"{level} band of the median")
    now = data.loc[~data["extrapolated"], "n"].max()
    inside = ~data["extrapolated"].to_numpy()
    ax.plot(n[inside], data["median"][inside], color=BLUE, lw=1.8, label="fitted median")
    ax.plot(n[~inside | (n == now)], data["median"][~inside | (n == now)], color=BLUE, lw=1.8,
            ls="--", label="extrapolated median")
    observed = data.dropna(subset=["observed"])
    ax.plot(observed["n"], observed["observed"], "o", color="black", ms=2.5,
            label="observed (median best of n of the trials run)")
    ext = report.extrapolation
    if ext is not None:
        ax.axvline(ext.n_trials, color=GREY, lw=0.8, ls=":")
        ax.annotate(f"{ext.n_trials} trials run", (ext.n_trials, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -12), textcoords="offset points", fontsize=8, color=GREY)
    best = report.best_possible
    if best is not None and best.estimate is not None:
        ax.axhline(best.estimate, color=GREEN, lw=1.0, ls="-.", label="best possible (noise-free)")
        if best.low is not None and best.high is not None:
            ax.axhspan(best.low, best.high, color=GREEN, alpha=0.08, lw=0)
    ax.set_xscale("log")
    ax.set_xlabel("n, number of random-search trials (log scale)")
    ax.set_ylabel(_value_label(report, "best"))
    ax.legend(fontsize=8, loc="best")
    return fig


def tail(report: StudyReport) -> Figure:
    """The values near the optimum: the share of trials at least as good as each value, observed
    and fitted (noisy quadratic law, with its band), with the best possible value."""
    data = _frames.tail(report)
    if report.fit is None:
        raise _no_fit(report)
    if data.empty:
        raise ValueError("the tail figure needs the trials table (report.with_trials(...))")
    level = _level(report)
    fit = report.fit
    fig, ax = _figure(
        f"Scores near the optimum: the best {fit.n_tail} of {fit.n_trials} trials against the fit"
    )
    ax.fill_between(data["value"], data["band_low"], data["band_high"], color=BLUE, alpha=0.2,
                    lw=0, label=f"{level} band of the fit")
    ax.plot(data["value"], data["fitted"], color=BLUE, lw=1.8, label="fitted noisy quadratic law")
    ax.step(data["value"], data["empirical"], where="post", color="black", lw=1.2,
            label="observed share")
    best = report.best_possible
    if best is not None and best.estimate is not None:
        ax.axvline(best.estimate, color=GREEN, lw=1.0, ls="-.", label="best possible (noise-free)")
        if best.low is not None and best.high is not None:
            ax.axvspan(best.low, best.high, color=GREEN, alpha=0.08, lw=0)
    ax.axvline(fit.threshold, color=GREY, lw=0.8, ls=":", label="tail threshold")
    if report.direction == "maximize":
        ax.invert_xaxis()  # better values on the left in both directions
    ax.set_xlabel(_value_label(report))
    ax.set_ylabel("share of trials at least this good")
    ax.legend(fontsize=8, loc="best")
    return fig


def importance(report: StudyReport) -> Figure:
    """Optuna's hyperparameter importances as horizontal bars."""
    data = _frames.importance(report)
    if data.empty:
        raise ValueError("this report has no importances (a table, or fewer than 2 parameters)")
    fig, ax = _figure(
        f"Hyperparameter importance for {report.metric} (Optuna's default evaluator)"
    )
    data = data.iloc[::-1]
    ax.barh(data["parameter"], data["importance"], color=BLUE)
    ax.set_xlabel(f"share of the variation of {report.metric} explained")
    ax.set_ylabel("hyperparameter")
    ax.set_xlim(0, max(1.0, float(data["importance"].max())))
    return fig


def learning_curves(report: StudyReport) -> Figure:
    """Each trial's intermediate values, coloured by outcome, with a cross where pruned trials
    stopped (pruned and failed curves drawn under the completed ones)."""
    from matplotlib.collections import LineCollection

    data = _frames.learning_curves(report)
    if data.empty:
        raise ValueError("the trials reported no intermediate values (no learning curves)")
    fig, ax = _figure(f"Learning curves: {report.metric} per step, by outcome")
    styles = (("PRUNED", ORANGE, "pruned", 0.6), ("FAIL", RED, "failed", 0.6),
              ("COMPLETE", BLUE, "completed", 0.9))
    for state, colour, label, alpha in styles:
        part = data[data["state"] == state]
        if part.empty:
            continue
        curves = [g[["step", "value"]].to_numpy() for _, g in part.groupby("number", sort=True)]
        # drawn as pixels inside vector output (SVG/PDF): thousands of curves stay small
        ax.add_collection(LineCollection(curves, colors=colour, linewidths=0.7, alpha=alpha,
                                         label=f"{label} ({len(curves)})", rasterized=True))
        if state == "PRUNED":
            ends = np.array([c[-1] for c in curves])
            ax.plot(ends[:, 0], ends[:, 1], "x", color=colour, ms=4, label="where pruned")
    ax.autoscale_view()
    ax.set_xlabel("step (as reported with trial.report)")
    ax.set_ylabel(_value_label(report))
    ax.legend(fontsize=8, loc="best")
    return fig


def pruning(report: StudyReport) -> Figure:
    """Steps run against the steps every trial would have run without pruning."""
    data = _frames.pruning(report)
    if data.empty:
        raise ValueError("the trials reported no intermediate values (no steps to count)")
    if not data["outcome"].eq("pruned").any():
        raise ValueError("no trial was pruned, so pruning saved nothing")
    total = data[data["outcome"] == "all"].iloc[0]
    fig, ax = _figure(
        f"Compute saved by pruning: {total['saved']:.0%} of the training steps "
        f"({total['steps_if_completed'] - total['steps_run']:,.0f} of "
        f"{total['steps_if_completed']:,.0f})"
    )
    parts = data[data["outcome"] != "all"]
    y = np.arange(len(parts))
    ax.barh(y, parts["steps_if_completed"], color=GREY, alpha=0.35,
            label="steps if every trial had run to the end")
    ax.barh(y, parts["steps_run"], color=BLUE, label="steps run")
    ax.set_yticks(y, [f"{o} ({t})" for o, t in zip(parts["outcome"], parts["trials"])])
    ax.set_xlabel("training steps (each trial's last reported step), summed over trials")
    ax.set_ylabel("outcome (trials)")
    ax.legend(fontsize=8, loc="best")
    return fig


FIGURES = {
    "tail": tail,
    "tuning_curve": tuning_curve,
    "importance": importance,
    "learning_curves": learning_curves,
    "pruning": pruning,
}


def to_svg(fig: Figure) -> str:
    """The figure as an SVG document (text drawn as paths: no fonts or files needed to view it)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]
