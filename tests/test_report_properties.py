"""Property: no report on any finite study prints a non-finite or impossible number.

Studies are drawn by hypothesis (random values, ties, constant-ish, tiny, huge scales, negative
values, few trials, pruned trials); the numbers are parsed out of the text and the JSON.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tune_extras
from tune_extras.analysis import StudyReport

_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?")
_NON_FINITE = re.compile(r"(?<![\w-])-?(?:inf|infinity|nan)(?![\w-])", re.IGNORECASE)
#: Lines of the text report that carry values of the objective (not counts or dimensions).
_VALUE_LINES = ("median best", "best possible expected", "best observed", "n=")


def text_numbers(text: str) -> list[float]:
    """Every number written in ``text`` (thousands separators allowed)."""
    return [float(m.group().replace(",", "")) for m in _NUMBER.finditer(text)]


def _objective_values(text: str) -> list[float]:
    out: list[float] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(_VALUE_LINES):
            body = stripped.split(":", 1)[1] if ":" in stripped else stripped
            body = re.sub(r"\d+% interval", "", body)
            body = re.sub(r"after (the )?\d+ (more )?trials?", "", body)
            out += text_numbers(body)
    return out


def _json_values(payload: dict[str, Any]) -> list[float]:
    out: list[float] = []
    best = payload.get("best_possible")
    if best:
        out += [best[k] for k in ("estimate", "low", "high") if best[k] is not None]
    observed = payload.get("expected_observed") or {}
    for item in observed.values():
        out += [item[k] for k in ("estimate", "low", "high") if item[k] is not None]
    curve = payload.get("tuning_curve")
    if curve:
        for key in ("median", "expected", "band_low", "band_high", "observed"):
            out += [v for v in curve[key] if v is not None]
    return out


def assert_report_sane(
    report: StudyReport, low: float | None = None, high: float | None = None
) -> None:
    """Text and JSON: all numbers finite; values of the objective within ``[low, high]``."""
    lo = report.bounds.lo if low is None else low
    hi = report.bounds.hi if high is None else high
    text = report.to_text()
    assert _NON_FINITE.search(text) is None, _NON_FINITE.search(text)
    # The study's name (Optuna's default holds a random UUID, whose "4e459" reads as a number)
    # is the user's text, not a printed number.
    printed = text.replace(report.study_name, "") if report.study_name else text
    assert all(math.isfinite(v) for v in text_numbers(printed))
    tol = 1e-9 * max(1.0, abs(lo) if math.isfinite(lo) else 1.0, abs(hi) if math.isfinite(hi) else 1.0)
    for value in _objective_values(text):
        # printed with 4 significant digits: allow the rounding
        slack = tol + 5e-4 * abs(value)
        assert lo - slack <= value <= hi + slack, (value, lo, hi, text)

    def no_constant(name: str) -> float:
        raise AssertionError(f"non-finite JSON constant {name}")

    payload = json.loads(report.to_json(), parse_constant=no_constant)
    for value in _json_values(payload):
        assert math.isfinite(value)
        assert lo - tol - 1e-12 * abs(value) <= value <= hi + tol + 1e-12 * abs(value), (value, lo, hi)
    assert payload["verdict"]


@st.composite
def studies(draw: st.DrawFn) -> tuple[pd.DataFrame, str]:
    n = draw(st.integers(20, 120))
    kind = draw(st.sampled_from(["uniform", "quadratic", "ties", "constantish", "normal", "heavy"]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        y = rng.uniform(0, 1, n)
    elif kind == "quadratic":
        y = rng.uniform(0, 1, n) ** (2 / draw(st.sampled_from([1, 2, 4, 8]))) + rng.normal(
            0, draw(st.sampled_from([0.0, 0.001, 0.05])), n
        )
    elif kind == "ties":
        y = np.round(rng.uniform(0, 1, n), draw(st.integers(1, 2)))
    elif kind == "constantish":
        y = np.full(n, 0.5)
        y[rng.choice(n, size=draw(st.integers(1, 3)), replace=False)] += rng.uniform(1e-9, 1e-3)
    elif kind == "normal":
        y = rng.normal(0, 1, n)
    else:
        y = rng.lognormal(0, 2, n)
    scale = draw(st.sampled_from([1e-9, 1e-3, 1.0, 1e3, 1e9]))
    shift = draw(st.sampled_from([0.0, -1.0, 5.0]))
    y = y * scale + shift * scale
    state = np.array(["COMPLETE"] * n, dtype=object)
    pruned = draw(st.integers(0, n // 2))
    if pruned:
        direction_sign = 1.0
        worst = np.argsort(direction_sign * y)[n - pruned :]
        state[worst] = "PRUNED"
    direction = draw(st.sampled_from(["minimize", "maximize"]))
    if direction == "maximize":
        y = -y
    table = pd.DataFrame(
        {"value": np.where(state == "PRUNED", np.nan, y), "state": state, "number": range(n)}
    )
    table.attrs["study_name"] = "hypothesis"
    return table, direction


def _check(table: pd.DataFrame, direction: str) -> None:
    try:
        report = tune_extras.analyze(table, direction=direction, importance=False)
    except ValueError as error:
        # refusing is fine when it says why in words
        assert re.search(r"same value|needs at least|tail fit failed", str(error)), error
        return
    assert_report_sane(report)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(studies())
def test_no_report_prints_an_impossible_number(study: tuple[pd.DataFrame, str]) -> None:
    _check(*study)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(studies())
def test_no_report_prints_an_impossible_number_many(study: tuple[pd.DataFrame, str]) -> None:
    _check(*study)


def test_text_numbers_parser() -> None:
    assert text_numbers("n=   10: 0.1  [1e-05, 2,345] top 5 and -3.5e+02") == [
        10.0, 0.1, 1e-05, 2345.0, 5.0, -350.0
    ]
    assert _NON_FINITE.search("cannot bound it") is None
    assert _NON_FINITE.search("[0, inf]") is not None
