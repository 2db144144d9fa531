"""The analyzer on real random searches (../shared/data/opda) against the published fits.

Published fits (Lourie, He & Cho 2025, from the opda notebooks; ../shared/data/README.md), in
(a, b, c, sigma) form:
- DeBERTaV3, error rate (minimise): a=0.095, b=0.141, c=1, sigma=1.0e-3
- DeBERTa, accuracy (maximise; b best): a=0.829, b=0.887, c=1, sigma=1.9e-3
- AlexNet, accuracy (maximise): a=0.135, b=0.582, c=2, sigma=6.2e-3
Their thresholds were picked by eye; ours is automatic, so ``b`` (the tail's far end, for a loss)
or ``a`` (for a score) depends on the chosen tail and is not compared tightly.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.opda_data import final_scores
from tune_extras.surface import fit_near_optimum

pytestmark = pytest.mark.usefixtures("opda_available")


def _finite(name: str) -> np.ndarray:
    scores = final_scores(name)
    return scores[np.isfinite(scores)]


def test_debertav3_error_rate_matches_published_fit() -> None:
    fit = fit_near_optimum(1.0 - _finite("deberta-v3-base"), "minimize")
    assert fit.best == pytest.approx(0.095, abs=0.001)
    assert fit.best_interval.high - fit.best_interval.low < 0.003
    assert 1.0 in fit.effective_dimension_interval
    assert fit.sigma == pytest.approx(1.0e-3, rel=0.5)
    assert fit.distribution.b == pytest.approx(0.141, abs=0.01)
    assert fit.tail_mass == pytest.approx(0.57, abs=0.1)  # published tail mass ~57%
    assert fit.ks_pvalue > 0.05


def test_deberta_accuracy_matches_published_fit() -> None:
    fit = fit_near_optimum(_finite("deberta-base"), "maximize")
    assert fit.best == pytest.approx(0.887, abs=0.001)
    assert 1.0 in fit.effective_dimension_interval
    assert fit.sigma == pytest.approx(1.9e-3, rel=0.5)
    assert fit.distribution.a == pytest.approx(0.829, abs=0.01)


def test_alexnet_accuracy_is_close_to_published_fit() -> None:
    # AlexNet's search mixes trained runs (accuracy 0.3-0.59) with runs that never learned (~0.001):
    # only the tail above the gap is quadratic. Published b = 0.582, c = 2.
    fit = fit_near_optimum(_finite("alexnet"), "maximize")
    assert fit.best == pytest.approx(0.582, abs=0.01)
    assert fit.best_interval.low <= 0.582 <= fit.best_interval.high
    assert 2.0 in fit.effective_dimension_interval
    # The noise is not detected here, but the data do not exclude the published sigma either.
    assert fit.sigma == pytest.approx(6.2e-3, rel=0.6) or fit.sigma_high >= 6.2e-3


@pytest.mark.parametrize(
    ("name", "direction", "size", "min_hits"),
    [
        ("deberta-v3-base", "minimize", 50, 10),
        ("deberta-base", "maximize", 50, 10),
        # AlexNet: 60% of the runs never learned, so 50 runs hold about 20 trained ones, whose top
        # looks like c = 1 while the full data's tail is c = 2: 50-run intervals hold the full-data
        # estimate in 16 of 40 subsamples, 100-run ones in 30 of 40 (docs/analyzer.md).
        pytest.param("alexnet", "maximize", 100, 6, marks=pytest.mark.slow),  # 30 s
    ],
)
def test_subsamples_cover_full_data_estimate(
    name: str, direction: str, size: int, min_hits: int
) -> None:
    """A subsample's interval contains the full-data estimate in at least ``min_hits`` of 12 cases
    (the 40-subsample measurement is ``python -m benchmarks.suite_analyzer real``)."""
    scores = _finite(name)
    values = 1.0 - scores if direction == "minimize" else scores
    full = fit_near_optimum(values, direction).best
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(12):
        sub = fit_near_optimum(rng.choice(values, size, replace=False), direction)
        hits += full in sub.best_interval
    assert hits >= min_hits
