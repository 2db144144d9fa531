"""Publish a report to optuna-dashboard: an explicit, opt-in write that touches no trial.

What is written, all on the study (never on a trial):

* a note (optuna-dashboard's ``save_note``, Markdown, shown on the study's page) with the verdict,
  the numbers and the fit, and
* with an artifact store, the figures as SVG files (``optuna.artifacts.upload_artifact`` on the
  study), which optuna-dashboard lists under the study's artifacts when started with
  ``--artifact-dir`` (or the same store).

Publishing again replaces the note (optuna-dashboard keeps one note per study) and adds new
artifacts. Reading a study (:func:`tune_extras.analyze`, ``tune-extras report``) never writes.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tune_extras.analysis import _text
from tune_extras.analysis._quantity import fmt

if TYPE_CHECKING:
    from tune_extras.analysis._report import StudyReport


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def note(report: StudyReport, artifacts: list[str] | None = None) -> str:
    """The Markdown note: verdict, numbers, notes and the fit line."""
    from tune_extras import __version__

    lines = [f"## tune-extras report: {report.study_name or 'study'}", "", "**Verdict**", ""]
    lines += [f"- {line}" for line in report.verdict]
    best = (fmt(report.best_observed) if math.isfinite(report.best_observed)
            else "none (no trial completed)")
    rows = [(f"best observed {report.word}", best)]
    f, ext = report.findings, report.extrapolation
    if f is not None and ext is not None:
        rows += _text.observe_rows(report, f, ext) + _text.holds_rows(report, f)
    lines += ["", "| quantity | estimate and interval |", "| --- | --- |"]
    lines += [f"| {_cell(a)} | {_cell(b)} |" for a, b in rows]
    if f is not None:
        lines += ["", f"_{f.noise_explanation}_"]
        lines += [f"- note: {n}" for n in _text.number_notes(f)]
    if report.fit is not None:
        lines += ["", _text.fit_line(report)]
    if report.warnings:
        lines += ["", "**Warnings**", ""] + [f"- {w}" for w in report.warnings]
    if artifacts:
        lines += ["", "Figures (the study's artifacts): " + ", ".join(artifacts)]
    lines += ["", f"_Published by tune-extras {__version__}._"]
    return "\n".join(lines)


def publish(report: StudyReport, study: Any, artifact_store: Any = None) -> str:
    """Attach ``report`` to ``study`` for optuna-dashboard (see the module docstring).

    Args:
        report: The report to publish.
        study: The :class:`optuna.Study` to attach it to, opened for writing
            (``optuna.load_study(study_name=..., storage=...)``); a study read by tune-extras is
            read-only and cannot be published to.
        artifact_store: An Optuna artifact store (e.g.
            ``optuna.artifacts.FileSystemArtifactStore("artifacts")``); when given, the figures are
            uploaded as SVG artifacts of the study (needs matplotlib).

    Returns:
        The note's Markdown text.

    Raises:
        ImportError: Without optuna-dashboard (``pip install 'tune-extras[dashboard]'``).
        ValueError: When ``study`` is not the report's study, or is read-only.
    """
    import optuna

    try:
        from optuna_dashboard import save_note
    except ImportError:
        raise ImportError(
            "publishing needs optuna-dashboard: pip install 'tune-extras[dashboard]'"
        ) from None
    from tune_extras.optuna._storage import ReadOnlyStorageError

    if not isinstance(study, optuna.Study):
        raise ValueError(f"study must be an optuna.Study, got {type(study).__name__}")
    if report.study_name is not None and study.study_name != report.study_name:
        raise ValueError(
            f"the report is of study {report.study_name!r}, not {study.study_name!r}"
        )
    if report.trials is None:
        report = report.with_trials(study)  # (for the figures of the trials themselves)
    names: list[str] = []
    try:
        if artifact_store is not None:
            names = _upload_figures(report, study, artifact_store)
        body = note(report, names)
        save_note(study, body)
    except ReadOnlyStorageError:
        raise ValueError(
            "this study was opened read-only; publish to a study opened for writing: "
            "optuna.load_study(study_name=..., storage=...)"
        ) from None
    return body


def _upload_figures(report: StudyReport, study: Any, store: Any) -> list[str]:
    from optuna.artifacts import upload_artifact

    from tune_extras.analysis._figures import FIGURES, to_svg

    names = []
    with tempfile.TemporaryDirectory() as folder:
        for name, make in FIGURES.items():
            try:
                svg = to_svg(make(report))
            except ValueError:  # a figure this report cannot show (no fit, no curves)
                continue
            path = Path(folder) / f"tune-extras-{name}.svg"
            path.write_text(svg, encoding="utf-8")
            upload_artifact(artifact_store=store, file_path=str(path), study_or_trial=study,
                            mimetype="image/svg+xml")
            names.append(path.name)
    return names
