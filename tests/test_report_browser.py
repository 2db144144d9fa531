"""The HTML report of a real search, opened in headless Chromium as a person would open it.

No console message, no page error, no request but the file itself; the numbers a person reads are
the report's; every figure is drawn; a screenshot is saved. Needs the Debian packages ``chromium``
and ``chromium-driver`` (``.ci/run`` installs them) and Playwright (the ``test`` extra).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import tune_extras

CHROMIUM = "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("matplotlib")
if not os.path.exists(CHROMIUM):  # pragma: no cover - CI installs it
    pytest.skip(f"no {CHROMIUM} (apt-get install chromium chromium-driver)",
                allow_module_level=True)


def test_real_search_report_in_headless_chromium(opda_available: bool, tmp_path: Path) -> None:
    from benchmarks.suite_report import LICENCE, opda_study

    study = opda_study("deberta-base")
    report = tune_extras.analyze(study)
    report = report if report.trials is not None else report.with_trials(study)
    f = report.findings
    assert f is not None and report.extrapolation is not None
    page_file = tmp_path / "deberta-base.html"
    report.to_html(page_file, note=LICENCE)
    console, errors, requests = [], [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_file.as_uri())
        text = page.inner_text("body")
        sizes = page.eval_on_selector_all(
            "figure svg", "els => els.map(e => [e.getBoundingClientRect().width,"
            " e.getBoundingClientRect().height])")
        page.screenshot(path=str(tmp_path / "deberta-base.png"), full_page=True)
        browser.close()
    assert console == [] and errors == []
    assert requests == [page_file.as_uri()]
    assert "Study report: deberta-base" in text and "CC BY-SA 4.0" in text
    assert report.verdict[0] in text
    best = f.best_possible.text("the data cannot bound it from above",
                                "the data cannot bound it from below")
    assert best.split()[0] in text  # the estimate as the text report prints it
    assert f"{report.trial_counts['used']} of 1024 trials used" in text
    assert len(sizes) == 4  # tail, tuning curve, importance, learning curves (no pruning)
    assert all(w > 300 and h > 150 for w, h in sizes)
    assert (tmp_path / "deberta-base.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "deberta-base.png").stat().st_size > 50_000
