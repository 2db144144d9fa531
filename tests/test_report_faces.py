"""The faces of one report: HTML, figures, DataFrames, notebook views, JSON and terminal text.

The study is a real seeded Optuna random search with learning curves and a pruner; every number a
face shows is checked against the report's own ``findings`` (the faces never recompute them).
"""

from __future__ import annotations

import html as html_lib
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

import tune_extras
from tune_extras.analysis import FRAMES, SCHEMA_VERSION, StudyReport

optuna.logging.set_verbosity(optuna.logging.WARNING)
matplotlib = pytest.importorskip("matplotlib")

STEPS = 10


def _objective(trial: optuna.Trial) -> float:
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    wd = trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True)
    rng = np.random.default_rng(trial.number)  # seed-to-seed variation of a training run
    final = 0.3 + 0.05 * (math.log10(lr) + 3) ** 2 + 0.05 * (math.log10(wd) + 4) ** 2
    final += rng.normal(0, 0.01)
    for step in range(1, STEPS + 1):
        trial.report(final + 0.5 / step, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return final


@pytest.fixture(scope="module")
def study() -> optuna.Study:
    study = optuna.create_study(
        study_name="faces",
        sampler=optuna.samplers.RandomSampler(seed=0),
        # prunes the trials above the 80th percentile as soon as the warm-up allows (step 3:
        # Optuna prunes from step n_warmup_steps on); the curves keep their order, so every
        # pruned trial stops there: a known share of saved steps
        pruner=optuna.pruners.PercentilePruner(80.0, n_startup_trials=20, n_warmup_steps=3),
    )
    study.set_metric_names(["val_loss"])
    study.optimize(_objective, n_trials=200)
    return study


@pytest.fixture(scope="module")
def report(study: optuna.Study) -> StudyReport:
    report = tune_extras.analyze(study)
    return report if report.trials is not None else report.with_trials(study)


@pytest.fixture(scope="module")
def page(report: StudyReport) -> str:
    return report.to_html()


def _unescaped_text(page: str) -> str:
    return html_lib.unescape(re.sub(r"<svg.*?</svg>", "", page, flags=re.DOTALL))


def test_html_shows_the_reports_own_numbers(report: StudyReport, page: str) -> None:
    f = report.findings
    assert f is not None and report.extrapolation is not None
    text = _unescaped_text(page)
    for line in report.verdict:
        assert line in text
    no_better, no_worse = "the data cannot bound it from below", "the data cannot bound it from above"
    for quantity in (f.best_possible, f.observed_now, f.observed_after):
        assert quantity.text(no_better, no_worse) in text
    assert f.effective_dimension.text("1", no_worse, integer=True) in text
    assert f.noise_explanation in text
    assert f"{report.trial_counts['used']} of 200 trials used" in text
    # every number written in the table of numbers is the text report's
    table = text[text.index("Numbers") : text.index("Scores near the optimum")]
    for label in ("best possible expected loss", "effective hyperparameters",
                  "median best loss after the 200 trials run"):
        line = next(x for x in report.to_text().splitlines() if x.strip().startswith(label))
        value = line.strip()[len(label):].strip()
        assert value.replace("   ", " ") in table.replace("   ", " ")
    # compute saved by pruning: every pruned trial stopped at step 3 of 10
    pruned = report.trial_counts["pruned"]
    assert pruned > 0
    saved = report.to_frame("pruning").set_index("outcome")
    assert saved.loc["pruned", "steps_run"] == 3 * pruned
    assert saved.loc["pruned", "steps_if_completed"] == STEPS * pruned
    assert saved.loc["pruned", "saved"] == pytest.approx(0.7)
    assert saved.loc["all", "saved"] == pytest.approx(0.7 * pruned / 200)
    assert f"{saved.loc['all', 'saved']:.0%}" in text


def test_html_is_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "<script" not in page.lower()
    # no reference to anything outside the page (the SVG namespace is a name, not a request)
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"'#][^"']*)["']""", page)
    assert all(ref.startswith("data:image/png;base64,") for ref in refs)  # rasterized curves
    assert re.findall(r"url\((?!#)", page) == []
    for name in ("tail", "tuning_curve", "importance", "learning_curves", "pruning"):
        assert f'id="figure-{name}"' in page
    assert page.count("<svg") == 5


def test_figures_are_objects_titled_with_named_axes(report: StudyReport, tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    for name in ("tail", "tuning_curve", "importance", "learning_curves", "pruning"):
        fig = getattr(report, f"plot_{name}")()
        assert isinstance(fig, Figure)
        (ax,) = fig.axes
        assert ax.get_title(loc="left")
        assert ax.get_xlabel() and ax.get_ylabel()
        labels = ax.get_xlabel() + ax.get_ylabel() + ax.get_title(loc="left")
        if name != "pruning":  # (that one counts steps, whatever the metric)
            assert "val_loss" in labels
        if name in ("tail", "tuning_curve", "learning_curves"):
            assert "minimize: lower is better" in labels
        for suffix in ("png", "svg"):
            fig.savefig(tmp_path / f"{name}.{suffix}")
            assert (tmp_path / f"{name}.{suffix}").stat().st_size > 1000
    curve = report.plot_tuning_curve().axes[0]
    assert curve.get_xscale() == "log"
    assert any("band" in t.get_text() for t in curve.get_legend().get_texts())


def test_figures_leave_matplotlib_global_state_alone(tmp_path: Path) -> None:
    """In a fresh interpreter: the backend a user chose stays, pyplot is never imported."""
    code = """
import sys, matplotlib, optuna, tune_extras
optuna.logging.set_verbosity(optuna.logging.WARNING)
matplotlib.use("svg")
study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
study.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.2) ** 2, n_trials=60)
report = tune_extras.analyze(study, importance=False)
report.plot_tuning_curve(); report.to_html(); report._repr_html_()
report.plot(sys.argv[1])
print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "c.png")],
                            capture_output=True, text=True, check=True, timeout=600)
    assert result.stdout.split() == ["svg", "False"]
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_table_is_a_dataframe(report: StudyReport) -> None:
    f, ext, curve = report.findings, report.extrapolation, report.tuning_curve
    assert f is not None and ext is not None and curve is not None
    frames = {name: report.to_frame(name) for name in FRAMES}
    assert all(isinstance(frame, pd.DataFrame) and not frame.empty for frame in frames.values())
    summary = frames["summary"].set_index("quantity")
    best = summary.loc["best possible expected loss"]
    assert (best["estimate"], best["low"], best["high"]) == (
        f.best_possible.estimate, f.best_possible.low, f.best_possible.high)
    assert summary.loc["effective hyperparameters", "estimate"] == f.effective_dimension.estimate
    tc = frames["tuning_curve"]
    np.testing.assert_array_equal(tc["median"], curve.median)
    np.testing.assert_array_equal(tc["band_low"], curve.band_low)
    assert tc["extrapolated"].any() and (tc.loc[tc["extrapolated"], "n"] > ext.n_trials).all()
    assert tc["n"].max() >= 10 * 200  # extrapolation to 10x the trials run
    assert list(frames["importance"]["parameter"]) == sorted(
        report.importances or {}, key=lambda k: -(report.importances or {})[k])
    trials = frames["trials"]
    assert len(trials) == 200 and trials["in_tail"].sum() == report.fit.n_tail  # type: ignore[union-attr]
    curves = frames["learning_curves"]
    assert set(curves.columns) == {"number", "state", "step", "value"}
    assert curves.groupby("number")["step"].max().max() == STEPS
    tail = frames["tail"]
    assert (tail["band_low"] <= tail["fitted"]).all() and (tail["fitted"] <= tail["band_high"]).all()
    assert tail["empirical"].is_monotonic_increasing
    with pytest.raises(ValueError, match="name must be one of"):
        report.to_frame("nope")


def test_notebook_views_are_short(report: StudyReport) -> None:
    text = repr(report)
    assert len(text) < 200 and text.startswith("StudyReport(study='faces'")
    fragment = report._repr_html_()
    assert "<!DOCTYPE" not in fragment and fragment.count("<svg") == 1
    assert report.verdict[0] in html_lib.unescape(fragment)
    assert len(fragment) < 200_000


def test_json_is_versioned_with_nulls_and_reasons(report: StudyReport) -> None:
    payload = json.loads(report.to_json())
    assert payload["schema"] == "tune-extras/study-report"
    assert payload["schema_version"] == SCHEMA_VERSION == 1
    assert payload["metric"] == "val_loss"
    assert (payload["noise_sigma_high"] is None) == (payload["noise_sigma_high_note"] is not None)
    assert payload["best_observed_note"] is None


def test_terminal_text_is_the_plain_text_in_colour(report: StudyReport) -> None:
    plain = io.StringIO()
    report.print(plain)  # not a terminal: the plain text
    assert plain.getvalue().rstrip("\n") == report.to_text() == str(report)
    lines = report.to_text().splitlines()
    assert lines[0] == "tune-extras study report: faces" and lines[2] == "verdict"
    assert all(line == line.rstrip() for line in lines)
    from rich.console import Console

    from tune_extras.analysis._text import renderables

    coloured = Console(file=io.StringIO(), force_terminal=True, width=100, color_system="standard")
    for item in renderables(report):
        coloured.print(item)
    out = coloured.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[" in out and "verdict" in out


def test_a_refused_study_says_why_in_every_face() -> None:
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.2) ** 2, n_trials=40)
    report = tune_extras.analyze(study, importance=False)
    assert report.refusal is not None
    page = html_lib.unescape(report.to_html())
    assert report.refusal in page and "te-refused" in page
    assert "Not shown: no fit to plot" in page
    with pytest.raises(ValueError, match="no tuning curve to plot"):
        report.plot_tuning_curve()
    assert report.to_frame("tuning_curve").empty
    assert report.to_frame("summary")["quantity"].tolist() == ["best observed loss"]
    assert "refused" in repr(report)
