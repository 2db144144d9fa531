"""Prediction of a trial's final value from its current value, learned across finished trials.

At a step ``s``, each finished trial ``j`` gives a pair ``(x_j, z_j)``: its value at ``s`` (the
last one it reported at or before ``s``; the rule builds the pairs) and its final value. The
least-squares line ``z = a + b x`` over these pairs, with the classical regression prediction
interval (Student t with ``m - 2`` degrees of freedom, squared scale
``RSS / (m - 2) * (1 + 1/m + (x - xbar)^2 / S_xx)``), predicts the running trial's final value
from its value at ``s``. This is the rank persistence the median rule assumes (a trial behind now
stays behind), but *measured* in the study: far from the finished trials' values the interval
widens in proportion, so a trial is stopped on this evidence only when the slope ``b`` is
clearly positive, i.e. when the study's curves do keep their order; crossing curves give no
evidence and no stop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import special


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
