"""Report benchmark and example pages: the three real opda searches as Optuna studies.

Run pieces::

    python -m benchmarks.suite_report examples   # docs/examples/*.html, docs/screenshots/*.png
    python -m benchmarks.suite_report speed      # report time on 1,000 trials, CLI and API, beside
                                                 # opda's fit on the same values (median of 5)
    python -m benchmarks.suite_report tables     # the markdown table for docs/benchmarks-report.md

The data are the random searches of Lourie, He & Cho in ``../shared/data/opda`` (CC BY-SA 4.0, by
Nicholas Lourie): each run becomes a completed trial of an in-memory Optuna study (its
hyperparameters with the search distributions of the data's READMEs, its final accuracy as the
value, its learning curve as intermediate values); a run whose training diverged becomes a failed
trial. Speed rows are cached in ``benchmarks/results/report_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.opda_data import DATASETS, OpdaRun, load_runs

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs"
LICENCE = (
    "Data: the random search of Lourie, He & Cho (2025), from the opda repository by Nicholas "
    "Lourie, licensed CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/); this report "
    "is derived from it and shared under the same licence."
)
TITLES = {
    "deberta-base": "DeBERTa-base fine-tuned on MultiNLI (1,024 random configurations)",
    "deberta-v3-base": "DeBERTaV3-base fine-tuned on MultiNLI (1,024 random configurations)",
    "alexnet": "AlexNet trained on ImageNet (512 random configurations)",
}


def _distributions(name: str) -> dict[str, Any]:
    """The search distributions of the data's READMEs (AlexNet's peak epoch as a proportion)."""
    from optuna.distributions import CategoricalDistribution as Cat
    from optuna.distributions import FloatDistribution as Float
    from optuna.distributions import IntDistribution as Int

    if name == "alexnet":
        return {
            "epochs": Int(20, 100), "batch_size": Cat([128, 256, 512, 1024]),
            "lr": Float(5e-3, 5e1, log=True), "lr_peak_proportion": Float(0.0, 0.8),
            "momentum": Float(0.7, 1.0), "weight_decay": Float(1e-6, 1e-3, log=True),
            "label_smoothing": Float(0.0, 0.5),
        }
    return {
        "num_train_epochs": Int(1, 4), "train_batch_size": Int(16, 64),
        "learning_rate": Float(1e-6, 1e-3, log=True), "warmup_proportion": Float(0.0, 0.6),
        "cls_drop_out": Float(0.0, 0.3),
    }


def _params(name: str, run: OpdaRun) -> dict[str, Any]:
    c = run.config
    if name == "alexnet":
        return {
            "epochs": int(c["epochs"]), "batch_size": int(c["batch_size"]), "lr": c["lr"],
            "lr_peak_proportion": min(c["lr_peak_epoch"] / c["epochs"], 0.8),
            "momentum": c["momentum"], "weight_decay": c["weight_decay"],
            "label_smoothing": c["label_smoothing"],
        }
    steps_per_epoch = c["total_model_steps"] / c["num_train_epochs"]
    return {
        "num_train_epochs": int(c["num_train_epochs"]),
        "train_batch_size": int(c["train_batch_size"]), "learning_rate": c["learning_rate"],
        "warmup_proportion": min(max(c["warmup_steps"] / steps_per_epoch, 0.0), 0.6),
        "cls_drop_out": c["cls_drop_out"],
    }


def opda_study(name: str, limit: int | None = None, storage: Any = None) -> Any:
    """One opda search as an Optuna random-search study (``limit``: its first runs only)."""
    import optuna
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions = _distributions(name)
    study = optuna.create_study(
        study_name=name, direction="maximize", storage=storage,
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["accuracy"])
    trials = []
    for run in load_runs(name)[:limit]:
        curve = {int(step): float(v) for step, v in zip(run.resource, run.values)
                 if math.isfinite(v)}
        failed = run.diverged or not math.isfinite(run.final)
        trials.append(create_trial(
            state=TrialState.FAIL if failed else TrialState.COMPLETE,
            value=None if failed else run.final,
            params=_params(name, run), distributions=distributions,
            intermediate_values=curve,
        ))
    study.add_trials(trials)
    return study


# ----- example pages ----------------------------------------------------------------------
def screenshot(html: Path, png: Path, height: int = 1500) -> dict[str, list[str]]:
    """A headless-Chromium screenshot of ``html``; returns its console messages and requests."""
    from playwright.sync_api import sync_playwright

    seen: dict[str, list[str]] = {"console": [], "requests": [], "errors": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1100, "height": height})
        page.on("console", lambda m: seen["console"].append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: seen["errors"].append(str(e)))
        page.on("request", lambda r: seen["requests"].append(r.url))
        page.goto(html.resolve().as_uri())
        page.screenshot(path=str(png))
        browser.close()
    return seen


def examples() -> None:
    """The HTML report and a screenshot of each real search, and its text report (markdown)."""
    import tune_extras

    (DOCS / "examples").mkdir(exist_ok=True)
    (DOCS / "screenshots").mkdir(exist_ok=True)
    for name in DATASETS:
        study = opda_study(name)
        report = tune_extras.analyze(study)
        report = report if report.trials is not None else report.with_trials(study)
        html = DOCS / "examples" / f"{name}.html"
        report.to_html(html, note=LICENCE)
        seen = screenshot(html, DOCS / "screenshots" / f"{name}.png")
        (DOCS / "examples" / f"{name}.txt").write_text(report.to_text() + "\n")
        print(name, json.dumps(seen))


# ----- speed ------------------------------------------------------------------------------
def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def speed(repeats: int = 5, n: int = 1000) -> list[dict[str, Any]]:
    """Report time on the first ``n`` DeBERTa-base runs stored in sqlite: the API
    (``analyze(url)`` then ``to_html``) and the CLI (``tune-extras report URL --format json`` in a
    new interpreter, and with ``--html``), beside opda 0.8's fit of the same values
    (``NoisyQuadraticDistribution.fit``, convex constraint off: a score). Wall and CPU seconds,
    median of ``repeats``."""
    from opda.parametric import NoisyQuadraticDistribution as Reference

    import tune_extras

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/opda.db"
        study = opda_study("deberta-base", limit=n, storage=url)
        values = np.array([t.value for t in study.trials if t.value is not None])
        times: dict[str, list[tuple[float, float]]] = {}

        def record(key: str, wall: float, cpu: float) -> None:
            times.setdefault(key, []).append((wall, cpu))

        cli = [sys.executable, "-m", "tune_extras.cli", "report", url, "--format", "json"]
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            report = tune_extras.analyze(url)
            record("api: analyze", time.perf_counter() - wall, time.process_time() - cpu)
            wall, cpu = time.perf_counter(), time.process_time()
            report.with_trials(url).to_html(f"{folder}/r.html")
            record("api: to_html (figures)", time.perf_counter() - wall,
                   time.process_time() - cpu)
            for key, extra in (("cli: report --format json", []),
                               ("cli: report --html", ["--html", f"{folder}/c.html"])):
                wall, cpu = time.perf_counter(), _child_cpu()
                subprocess.run([*cli, *extra], check=True, capture_output=True)
                record(key, time.perf_counter() - wall, _child_cpu() - cpu)
            wall, cpu = time.perf_counter(), time.process_time()
            Reference.fit(values, generator=np.random.default_rng(0))
            record("opda 0.8: NoisyQuadraticDistribution.fit", time.perf_counter() - wall,
                   time.process_time() - cpu)
    for key, pairs in times.items():
        walls, cpus = zip(*pairs)
        rows.append({"what": key, "n_trials": n, "repeats": repeats,
                     "wall_median_s": statistics.median(walls), "wall_max_s": max(walls),
                     "cpu_median_s": statistics.median(cpus)})
        print(json.dumps(rows[-1]), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "report_speed.json").write_text(json.dumps(rows, indent=1))
    return rows


def tables() -> str:
    rows = json.loads((RESULTS / "report_speed.json").read_text())
    lines = ["| what | trials | wall s (median of 5) | wall s (max) | CPU s (median) |",
             "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['what']} | {r['n_trials']:,} | {r['wall_median_s']:.1f} | "
              f"{r['wall_max_s']:.1f} | {r['cpu_median_s']:.1f} |" for r in rows]
    text = "\n".join(lines)
    print(text)
    return text


def run(seeds: int = 1, budget: int = 5, quick: bool = False) -> list[dict[str, Any]]:
    """Entry point for ``python -m benchmarks run report``: the speed table."""
    return speed(repeats=2 if quick else budget, n=200 if quick else 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("piece", choices=("examples", "speed", "tables"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.piece == "examples":
        examples()
    elif args.piece == "speed":
        speed(args.repeats)
    else:
        tables()


if __name__ == "__main__":
    main()
