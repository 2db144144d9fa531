"""The HTML face of a report: a self-contained page, and the fragment a notebook shows.

The page opens offline and makes no request: styles are inline, figures are inline SVG (no
script, no font or image file), and a Content-Security-Policy forbids loading anything. The
numbers are the text report's own strings (:mod:`._text`), so the two faces cannot disagree.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tune_extras.analysis import _figures, _text
from tune_extras.analysis._quantity import fmt

if TYPE_CHECKING:
    from tune_extras.analysis._report import StudyReport

#: The page allows nothing but its own inline styles and inline (data:) images.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_STYLE = """
.te-report{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;
 max-width:980px;line-height:1.45;font-size:15px}
.te-report h1{font-size:1.5em;margin:.2em 0 .1em}
.te-report h2{font-size:1.15em;margin:1.4em 0 .4em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.te-report .te-sub{color:#555;margin:0 0 1em}
.te-report .te-verdict{background:#f3f7fc;border-left:4px solid #1f77b4;padding:.6em 1em;
 margin:.6em 0}
.te-report .te-verdict.te-refused{background:#fff8e6;border-left-color:#ff7f0e}
.te-report .te-verdict li{margin:.25em 0}
.te-report table{border-collapse:collapse;margin:.4em 0}
.te-report th,.te-report td{text-align:left;padding:.25em .9em .25em 0;vertical-align:top;
 border-bottom:1px solid #eee}
.te-report td.te-num{font-variant-numeric:tabular-nums;white-space:nowrap}
.te-report .te-note{color:#555;font-size:.92em}
.te-report figure{margin:1em 0}
.te-report figure svg{max-width:100%;height:auto}
.te-report figcaption{color:#444;font-size:.92em;max-width:760px}
.te-report .te-warn li{color:#8a5300}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(header: tuple[str, ...] | None, rows: Sequence[tuple[str, ...]], numeric: set[int]) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{_esc(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        cells = "".join(
            f'<td class="te-num">{_esc(c)}</td>' if i in numeric else f"<td>{_esc(c)}</td>"
            for i, c in enumerate(row)
        )
        out.append(f"<tr>{cells}</tr>")
    out.append("</table>")
    return "".join(out)


def _list(items: list[str] | tuple[str, ...], cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<ul{attr}>" + "".join(f"<li>{_esc(item)}</li>" for item in items) + "</ul>"


def _header(report: StudyReport) -> str:
    counts = report.trial_counts
    title = f"Study report: {report.study_name}" if report.study_name else "Study report"
    sampler = report.sampler or "unknown (a stored study does not record it)"
    sub = (f"{report.direction} {_esc(report.metric)} &middot; sampler: {_esc(sampler)} &middot; "
           f"{counts['used']} of {counts['total']} trials used")
    if report.bounds.source != "none":
        sub += f" &middot; possible values: {_esc(report.bounds.describe())}"
    return f"<h1>{_esc(title)}</h1><p class=\"te-sub\">{sub}</p>"


def _verdict(report: StudyReport) -> str:
    cls = "te-verdict te-refused" if report.refusal else "te-verdict"
    return f'<div class="{cls}"><strong>Verdict</strong>{_list(report.verdict)}</div>'


def _numbers(report: StudyReport) -> str:
    best = (fmt(report.best_observed) if math.isfinite(report.best_observed)
            else "none (no trial completed)")
    rows: list[tuple[str, ...]] = [(f"best observed {report.word}", best)]
    f, ext = report.findings, report.extrapolation
    if f is None or ext is None:
        return "<h2>Numbers</h2>" + _table(None, rows, {1})
    rows += _text.observe_rows(report, f, ext) + _text.holds_rows(report, f)
    notes = [f.noise_explanation, *_text.number_notes(f)]
    return ("<h2>Numbers</h2>" + _table(("quantity", "estimate and interval"), rows, {1})
            + "".join(f'<p class="te-note">{_esc(n)}</p>' for n in notes))


#: (figure name, heading, caption) in the order of the page.
_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("tail", "Scores near the optimum",
     "The share of trials at least as good as each value (black), against the fitted noisy "
     "quadratic law (blue) and its band; the green line and band are the best possible value "
     "and its interval. The fit uses only the trials better than the tail threshold (dotted)."),
    ("tuning_curve", "Tuning curve",
     "Median best value after n random-search trials: fitted (solid), extrapolated past the "
     "trials run to 10x more (dashed), with its band; the dots are the observed curve (the "
     "expected best of n of the trials run)."),
    ("importance", "Hyperparameter importance",
     "Optuna's default importance evaluator on the completed trials."),
    ("learning_curves", "Learning curves",
     "Each trial's intermediate values (trial.report), coloured by outcome; a cross marks where a "
     "pruned trial was stopped."),
    ("pruning", "Compute saved by pruning",
     "Steps run, against the steps every trial would have run without pruning (to the longest "
     "completed trial's last step), counting each step as the same cost."),
)


def _figure_html(report: StudyReport, name: str, heading: str, caption: str,
                 make: Callable[[StudyReport], Any]) -> str:
    try:
        svg = _figures.to_svg(make(report))
    except ValueError as error:
        return f'<h2>{_esc(heading)}</h2><p class="te-note">Not shown: {_esc(error)}.</p>'
    return (f'<h2>{_esc(heading)}</h2><figure id="figure-{name}" role="img" '
            f'aria-label="{_esc(heading)}">{svg}<figcaption>{_esc(caption)}</figcaption></figure>')


def _figures_html(report: StudyReport, names: tuple[str, ...]) -> str:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return ('<p class="te-note">Figures need matplotlib: '
                "<code>pip install 'tune-extras[plot]'</code>.</p>")
    return "".join(
        _figure_html(report, name, heading, caption, _figures.FIGURES[name])
        for name, heading, caption in _FIGURES if name in names
    )


def _tables(report: StudyReport) -> str:
    out = []
    ext = report.extrapolation
    if ext is not None and report.tuning_curve is not None:
        out.append("<h2>Tuning curve, in numbers</h2>" + _table(
            ("after n random trials", f"median best {report.word}", "band"),
            _text.curve_rows(report, ext), {1, 2}))
    if ext is not None and ext.trials_to_reach:
        out.append("<h2>Trials to reach a target</h2><p class=\"te-note\">Trials for a 50% chance "
                   f"that the best configuration's expected {report.word} is within a target of "
                   "the best possible.</p>" + _table(None, _text.target_rows(ext), {1}))
    if report.importances:
        rows = [(k, f"{v:.3f}") for k, v in sorted(report.importances.items(),
                                                      key=lambda kv: -kv[1])]
        out.append("<h2>Importance, in numbers</h2>"
                   + _table(("hyperparameter", "importance"), rows, {1}))
    if report.trials is not None:
        from tune_extras.analysis._frames import pruning

        saved = pruning(report)
        if saved["outcome"].eq("pruned").any():
            pruned = [(str(r.outcome), f"{r.trials}", f"{r.steps_run:,.0f}",
                     f"{r.steps_if_completed:,.0f}", f"{r.saved:.0%}")
                      for r in saved.itertuples()]
            out.append("<h2>Compute saved by pruning, in numbers</h2>" + _table(
                ("outcome", "trials", "steps run", "steps without pruning", "saved"), pruned,
                {1, 2, 3, 4}))
    counts = [(k.replace("_", " "), f"{v}") for k, v in report.trial_counts.items()]
    out.append("<h2>Trials</h2>" + _table(None, counts, {1}))
    if report.fit is not None:
        out.append(f'<p class="te-note">{_esc(_text.fit_line(report))}</p>')
    if report.warnings:
        out.append("<h2>Warnings</h2>" + _list(report.warnings, "te-warn"))
    return "".join(out)


def body(report: StudyReport, figures: tuple[str, ...] = tuple(_figures.FIGURES)) -> str:
    """The report's HTML, without the page around it."""
    return (f'<div class="te-report">{_header(report)}{_verdict(report)}{_numbers(report)}'
            f"{_figures_html(report, figures)}{_tables(report)}</div>")


def page(report: StudyReport, note: str | None = None) -> str:
    """A complete, self-contained HTML document (``note``: a sentence at its foot)."""
    from tune_extras import __version__

    title = f"tune-extras report: {report.study_name or 'study'}"
    foot = f'<p class="te-note" style="margin-top:2em">{_esc(note)}</p>' if note else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>body{{margin:1.5em}}{_STYLE}</style></head><body>"
        f"{body(report)}{foot}"
        f'<p class="te-note">Made by tune-extras {_esc(__version__)}. How to read each number, '
        "its assumptions and failure modes: the tune-extras docs, &ldquo;How to read the "
        "report&rdquo;.</p></body></html>\n"
    )


def fragment(report: StudyReport) -> str:
    """What a notebook shows: the page's body with the tuning-curve figure only."""
    return f"<style>{_STYLE}</style>{body(report, figures=('tuning_curve',))}"
