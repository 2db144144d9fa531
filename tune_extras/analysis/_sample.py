"""Which trials the fit may use: random draws only, completed values, pruned trials as censored.

The near-optimum theory describes the best values of i.i.d. random configurations. This module picks
that sample out of a trials table:

* trials marked as random draws (user attribute :data:`tune_extras._attrs.RANDOM_DRAW_ATTR` set to
  ``True`` by ``RandomShareSampler``) are analysed alone when the study has any;
* completed trials with finite values are observations;
* pruned trials are **censored** observations: a conservative pruner stops only trials whose final
  value would have been worse than the tail threshold, so each counts as "somewhere in the worse
  part" (``n_worse`` of the fit) without a value; the value a pruned trial had reached when it was
  stopped (Optuna records its last intermediate value) is kept to check that assumption;
* everything else (failed, running, waiting, NaN) is ignored and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tune_extras._attrs import RANDOM_DRAW_ATTR

#: Column of the trials table holding the random-draw mark (Optuna's ``user_attrs_`` naming).
RANDOM_DRAW_COLUMN = f"user_attrs_{RANDOM_DRAW_ATTR}"


@dataclass(frozen=True)
class Sample:
    """The values the fit uses, in trial order, and the bookkeeping the report shows."""

    values: np.ndarray
    n_worse: int
    counts: dict[str, int]
    random_draws_only: bool
    numbers: np.ndarray = field(repr=False)
    pruned_last: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    rows: pd.DataFrame | None = field(default=None, repr=False)  # every trial of the sample


def _is_marked(column: pd.Series) -> np.ndarray:
    return np.array([value is True or value == 1 or value == "True" for value in column])


def select_sample(table: pd.DataFrame) -> Sample:
    """Pick the random-search sample of ``table`` (see the module docstring).

    Raises:
        ValueError: When the ``value`` column is not numeric.
    """
    if "value" not in table.columns:
        raise ValueError("the trials table needs a 'value' column")
    values = pd.to_numeric(table["value"], errors="coerce")
    if values.isna().all() and table["value"].notna().any():
        raise ValueError("the 'value' column is not numeric")
    marked_all = (
        _is_marked(table[RANDOM_DRAW_COLUMN])
        if RANDOM_DRAW_COLUMN in table.columns
        else np.zeros(len(table), dtype=bool)
    )
    random_only = bool(marked_all.any())
    keep = marked_all if random_only else np.ones(len(table), dtype=bool)

    states = (
        table["state"].astype(str).to_numpy()
        if "state" in table.columns
        else np.full(len(table), "COMPLETE")
    )
    y_all = values.to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(y_all)
    complete = states == "COMPLETE"
    used = keep & complete & finite
    counts: dict[str, int] = {
        "total": len(table),
        "used": int(used.sum()),
        "not_finite": int((keep & complete & ~finite).sum()),
    }
    if random_only:
        counts["not_random_draws"] = int((~keep).sum())
        counts["random_draws"] = int(keep.sum())
    for state in ("PRUNED", "FAIL", "RUNNING", "WAITING"):
        counts[state.lower()] = int((keep & (states == state)).sum())
    numbers = (
        table["number"].to_numpy()[used] if "number" in table.columns else np.flatnonzero(used)
    )
    order = np.argsort(numbers, kind="stable")
    pruned = keep & (states == "PRUNED")
    return Sample(
        values=y_all[used][order],
        n_worse=counts["pruned"],
        counts=counts,
        random_draws_only=random_only,
        numbers=np.asarray(numbers)[order],
        pruned_last=y_all[pruned & finite],
        rows=table[keep],
    )
