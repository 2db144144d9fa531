"""The terminal face of a report: the verdict first, then the numbers, laid out with rich.

One set of rich renderables serves two outputs: :func:`print_report` writes them to a terminal
(colour, wrapped to its width) and :func:`to_text` exports them as plain text with one logical line
per line (no wrapping, no trailing spaces), so the text can be searched and parsed.
"""

from __future__ import annotations

import io
import math
from typing import IO, TYPE_CHECKING

import numpy as np
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from tune_extras.analysis._quantity import fmt, fmt_trials

if TYPE_CHECKING:
    from tune_extras.analysis._report import Extrapolation, StudyReport
    from tune_extras.analysis._verdict import Findings

#: Width of the plain-text export: wide enough that no line is ever wrapped.
PLAIN_WIDTH = 10_000


def _heading(text: str) -> Text:
    return Text(text, style="bold")


def _grid() -> Table:
    table = Table.grid(padding=(0, 3))
    table.add_column(style="cyan")
    table.add_column()
    return table


def _bullets(lines: list[str] | tuple[str, ...], style: str = "") -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column()
    table.add_column(style=style)
    for line in lines:
        table.add_row("-", line)
    return table


def _indent(renderable: RenderableType) -> RenderableType:
    from rich.padding import Padding

    return Padding(renderable, (0, 0, 0, 2))


def renderables(report: StudyReport) -> list[RenderableType]:
    """The report as rich renderables, verdict first."""
    out: list[RenderableType] = [
        Text(
            f"tune-extras study report{f': {report.study_name}' if report.study_name else ''}",
            style="bold underline",
        ),
        _heading("verdict"),
        _indent(_bullets(report.verdict, "bold" if report.refusal is None else "yellow")),
        _heading("study"),
        _indent(_study(report)),
    ]
    f, ext = report.findings, report.extrapolation
    if f is not None and ext is not None:
        out += _numbers(report, f, ext)
    if report.importances:
        table = Table(box=None, padding=(0, 3), show_edge=False, pad_edge=False)
        table.add_column("hyperparameter", style="cyan")
        table.add_column("importance", justify="right")
        for name, value in sorted(report.importances.items(), key=lambda kv: -kv[1]):
            table.add_row(name, f"{value:.3f}")
        out += [_heading("hyperparameter importance (share of the variation explained, Optuna)"),
                _indent(table)]
    if report.warnings:
        out += [_heading("warnings"), _indent(_bullets(report.warnings, "yellow"))]
    return out


def _study(report: StudyReport) -> Table:
    counts = report.trial_counts
    ignored = ", ".join(
        f"{counts[key]} {key.replace('_', ' ')}"
        for key in ("pruned", "fail", "running", "waiting", "not_finite", "not_random_draws")
        if counts.get(key)
    )
    sampler = report.sampler or "unknown (a stored study or a table does not record it)"
    grid = _grid()
    grid.add_row("objective", f"{report.direction} ({report.word})"
                 + (f", metric {report.metric_name!r}" if report.metric_name else ""))
    grid.add_row("sampler", sampler)
    grid.add_row("trials", f"{counts['used']} used of {counts['total']}"
                 + (f" (not used: {ignored})" if ignored else ""))
    if report.random_draws_only:
        grid.add_row("", "only the trials marked as random draws are analysed")
    if counts.get("pruned") and report.findings is not None:
        grid.add_row("", f"the {counts['pruned']} pruned trials count as trials worse than the "
                     "fitted tail")
    if report.bounds.source != "none":
        grid.add_row("possible values", report.bounds.describe())
    best = (fmt(report.best_observed) if math.isfinite(report.best_observed)
            else "none (no trial completed)")
    grid.add_row(f"best observed {report.word}", best)
    return grid


def _bound_words(report: StudyReport) -> tuple[str, str]:
    """Words for a missing better / worse interval end, in the user's direction."""
    above, below = ("above", "below") if report.direction == "minimize" else ("below", "above")
    return "the data cannot bound it from " + below, "the data cannot bound it from " + above


def observe_rows(report: StudyReport, f: Findings, ext: Extrapolation) -> list[tuple[str, str]]:
    """``(label, value)``: what one can expect to observe (noise included)."""
    no_better, no_worse = _bound_words(report)
    return [
        (f"median best {report.word} after the {ext.n_trials} trials run",
         f.observed_now.text(no_better, no_worse)),
        (f"median best {report.word} after {ext.extra_trials} more trials",
         f.observed_after.text(no_better, no_worse)),
    ]


def holds_rows(report: StudyReport, f: Findings) -> list[tuple[str, str]]:
    """``(label, value)``: what the search space holds (noise-free)."""
    no_better, no_worse = _bound_words(report)
    return [
        (f"best possible expected {report.word}", f.best_possible.text(no_better, no_worse)),
        ("effective hyperparameters",
         f.effective_dimension.text("1", "the data cannot bound it from above", integer=True)),
        ("evaluation noise (sigma)", noise_text(f)),
    ]


def number_notes(f: Findings) -> list[str]:
    """The notes of the reported numbers (missing or clipped parts, in words)."""
    notes = list(f.best_possible.notes) + list(f.effective_dimension.notes)
    return notes + [n for n in f.observed_now.notes + f.observed_after.notes
                    if "extrapolates" in n]


def fit_line(report: StudyReport) -> str:
    fit = report.fit
    assert fit is not None
    return (f"fit: the best {fit.n_tail} of {fit.n_trials} trials ({fit.tail_mass:.0%}); tail "
            f"threshold {fmt(fit.threshold)}; goodness of fit (KS) p-value {fit.ks_pvalue:.2f}")


def curve_rows(report: StudyReport, ext: Extrapolation) -> list[tuple[str, str, str]]:
    """``(n, median, band)`` at 1, 10, the trials run, twice that and the horizon."""
    curve = report.tuning_curve
    if curve is None:
        return []
    rows = []
    for n in sorted({1, 10, ext.n_trials, 2 * ext.n_trials, int(curve.n[-1])}):
        i = int(np.argmin(np.abs(curve.n - n)))
        rows.append((f"n={int(curve.n[i])}:", fmt(curve.median[i]),
                     f"[{fmt(curve.band_low[i])}, {fmt(curve.band_high[i])}]"))
    return rows


def target_rows(ext: Extrapolation) -> list[tuple[str, str]]:
    return [
        (f"within {fmt(t.epsilon)}", f"{fmt_trials(t.trials)} trials") if t.trials is not None
        else ("", t.note or "")
        for t in ext.trials_to_reach
    ]


def _numbers(report: StudyReport, f: Findings, ext: Extrapolation) -> list[RenderableType]:
    word = report.word
    observe, holds = _grid(), _grid()
    for row in observe_rows(report, f, ext):
        observe.add_row(*row)
    for row in holds_rows(report, f):
        holds.add_row(*row)
    out: list[RenderableType] = [
        _heading("what you can expect to observe (one evaluation each, noise included)"),
        _indent(observe),
        _heading("what the search space holds (noise-free)"),
        _indent(Group(holds, Text(f"({f.noise_explanation})", style="dim"),
                      *[Text(f"note: {note}", style="dim") for note in number_notes(f)])),
    ]
    curve = report.tuning_curve
    if curve is not None:
        table = Table(box=None, padding=(0, 3), show_edge=False, pad_edge=False)
        table.add_column("after n random trials", style="cyan")
        table.add_column(f"median best {word}", justify="right")
        table.add_column(f"{f.best_possible.level or 0.95:.0%} band", justify="left")
        for n_text, median, band in curve_rows(report, ext):
            table.add_row(n_text, median, band)
        out += [_heading("tuning curve (median best after n random trials, and band)"),
                _indent(Group(table, *[Text(f"note: {n}", style="dim") for n in curve.notes]))]
    if ext.trials_to_reach:
        targets = _grid()
        for row in target_rows(ext):
            targets.add_row(*row)
        out += [_heading(f"trials for a 50% chance that the best configuration's expected {word} "
                         "is within a target of the best possible"), _indent(targets)]
    out += [Text(fit_line(report), style="dim")]
    return out


def noise_text(f: Findings) -> str:
    if f.sigma > 0:
        return fmt(f.sigma)
    if f.sigma_high is None:
        return "not detected (the data cannot bound it)"
    return f"not detected (at most {fmt(f.sigma_high)})"


def _print(console: Console, items: list[RenderableType]) -> None:
    for i, item in enumerate(items):
        if i and isinstance(item, Text) and item.style == "bold":
            console.print()
        console.print(item)


def to_text(report: StudyReport) -> str:
    """Plain text: one logical line per line, no colour, no trailing spaces."""
    console = Console(file=io.StringIO(), width=PLAIN_WIDTH, color_system=None, no_color=True,
                      soft_wrap=True, highlight=False, emoji=False, markup=False)
    _print(console, renderables(report))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines())


def print_report(report: StudyReport, file: IO[str] | None = None) -> None:
    """Write the report to ``file`` (default: standard output), in colour on a terminal."""
    console = Console(file=file, highlight=False, emoji=False, markup=False)
    if not console.is_terminal:
        console.file.write(to_text(report) + "\n")
        return
    _print(console, renderables(report))
