"""Prediction of a trial's final value from its current value, learned across finished trials.

At relative time ``u = step / target`` of a running trial, each finished trial ``j`` gives a pair
``(x_j, z_j)``: its value at the same relative time of *its* run (the last one it reported at or
before ``u * horizon_j``; :func:`pairs_at`) and its final value. The least-squares line
``z = a + b x`` over these pairs, with the classical regression prediction interval (Student t
with ``m - 2`` degrees of freedom, squared scale
``RSS / (m - 2) * (1 + 1/m + (x - xbar)^2 / S_xx)``), predicts the running trial's final value
from its current one. This is the rank persistence the median rule assumes (a trial behind now
stays behind), but *measured* in the study: far from the finished trials' values the interval
widens in proportion, so a trial is stopped on this evidence only when the slope ``b`` is
clearly positive, i.e. when the study's curves do keep their order; crossing curves give no
evidence and no stop.

Relative time matters when trials differ in length (the number of epochs is a hyperparameter):
pairing at the same *step* would pair a running trial at step 20 of 100 with the final value of a
finished 15-step trial as its value "now", as if nothing improved after step 15.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import special


def pairs_at(
    fraction: float, curves: Sequence[tuple[np.ndarray, np.ndarray]]
) -> list[tuple[float, float]]:
    """``(value at fraction * horizon, final value)`` of each curve that had reported by then.

    ``curves`` are ``(steps, losses)`` with steps sorted and above 0; a curve's horizon is its
    last step; its value at a relative time is the last one it reported by then.
    """
    pairs = []
    for steps, loss in curves:
        now = int(np.searchsorted(steps, fraction * steps[-1] * (1 + 1e-12), side="right")) - 1
        if now >= 0:
            pairs.append((float(loss[now]), float(loss[-1])))
    return pairs


def population_probability(
    current: float, pairs: Sequence[tuple[float, float]], reference: float, min_pairs: int = 5
) -> float | None:
    """``P(final < reference)`` for a trial whose value now is ``current`` (losses: lower is better).

    ``pairs`` are ``(value now, final value)`` of finished trials. ``None`` when fewer than
    ``min_pairs`` pairs or no spread in their current values.
    """
    if len(pairs) < max(min_pairs, 3):
        return None
    x, z = np.asarray(pairs, dtype=np.float64).T
    m = x.size
    x_mean, z_mean = x.mean(), z.mean()
    s_xx = float(np.sum((x - x_mean) ** 2))
    if not s_xx > 1e-300:
        return None
    slope = float(np.sum((x - x_mean) * (z - z_mean))) / s_xx
    residual = z - z_mean - slope * (x - x_mean)
    rss = float(residual @ residual)
    location = z_mean + slope * (current - x_mean)
    scale = math.sqrt(max(rss, 1e-300) / (m - 2) * (1 + 1 / m + (current - x_mean) ** 2 / s_xx))
    return float(special.stdtr(m - 2, (reference - location) / scale))


def leave_one_out_probabilities(
    pairs: Sequence[tuple[float, float]], min_pairs: int = 5
) -> np.ndarray:
    """For each pair ``j``: ``P(final <= z_j)`` under the line fitted on the *other* pairs at ``x_j``.

    The per-trial conformity scores of the population estimate (small when a trial ended much
    better than the others' line predicted from its value then). In closed form: the statistic
    is the externally studentized residual ``e_j / sqrt(s_(j)^2 (1 - h_j))`` (leverage
    ``h_j = 1/m + (x_j - xbar)^2 / S_xx``, ``s_(j)^2 = (RSS - e_j^2 / (1 - h_j)) / (m - 3)``),
    Student t with ``m - 3`` degrees of freedom. Empty when fewer than ``min_pairs + 1`` pairs.
    """
    if len(pairs) - 1 < max(min_pairs, 3):
        return np.empty(0)
    x, z = np.asarray(pairs, dtype=np.float64).T
    m = x.size
    x_mean, z_mean = x.mean(), z.mean()
    s_xx = float(np.sum((x - x_mean) ** 2))
    if not s_xx > 1e-300:
        return np.empty(0)
    slope = float(np.sum((x - x_mean) * (z - z_mean))) / s_xx
    residual = z - z_mean - slope * (x - x_mean)
    rss = float(residual @ residual)
    leverage = np.minimum(1 / m + (x - x_mean) ** 2 / s_xx, 1 - 1e-12)
    rss_without = np.maximum(rss - residual**2 / (1 - leverage), 1e-300)
    t = residual / np.sqrt(rss_without / (m - 3) * (1 - leverage))
    return np.asarray(special.stdtr(m - 3, t), dtype=np.float64)
