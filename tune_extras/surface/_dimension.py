"""One tail fitted at every integer effective dimension ``c = 1, ..., max_dimension``.

The effective number of hyperparameters is the number of directions in which the loss surface
curves at its optimum, the rank of its Hessian (Lourie, He & Cho 2025, arXiv 2510.02721): an
integer, as in the reference implementation (opda restricts ``c`` to 1..10). Fitting each ``c``
separately makes the remaining problem smooth in ``(a, log w, log s)``, and gives the profile
deviance of ``c`` directly:

    D(c) = 2 (S_max - S_c),   S_c = max over (a, w, s) of the criterion at that ``c``,

from which the interval of ``c`` is ``{c : D(c) <= q}`` and the profile of any other parameter is
the smallest ``D(c) + D_c(x)`` over ``c`` (with ``D_c`` the deviance of ``x`` inside the model
at ``c``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tune_extras.surface._likelihood import A, tail_ks
from tune_extras.surface._optimize import Model, fit_model, make_model, profile
from tune_extras.surface._tail import Tail, restandardise

FloatArray = NDArray[np.float64]

#: The scan over ``c`` stops once the deviance of ``c`` exceeds this and grows.
SCAN_DEVIANCE = 30.0


@dataclass(frozen=True)
class ModelFit:
    """The model at one ``c`` and its maximum: parameters ``theta`` and ``value = -S``."""

    model: Model
    theta: FloatArray
    value: float


@dataclass(frozen=True)
class TailFit:
    """A tail fitted at every ``c``; ``best`` is the ``c`` of the largest criterion."""

    tail: Tail
    by_c: dict[int, ModelFit]
    best_c: int
    ks: float
    ks_pvalue: float
    max_dimension: int

    @property
    def best(self) -> ModelFit:
        return self.by_c[self.best_c]

    @property
    def value(self) -> float:
        return self.best.value

    def deviance_of_c(self, c: int) -> float:
        """``D(c)``; ``inf`` for a ``c`` not fitted (outside ``1..max_dimension``, or past the scan's
    stop, where ``D`` exceeds :data:`SCAN_DEVIANCE`)."""
        fit = self.by_c.get(c)
        return math.inf if fit is None else 2.0 * (fit.value - self.value)

    def plausible(self, threshold: float) -> list[int]:
        """The values of ``c`` with ``D(c) <= threshold``, in increasing order."""
        return [c for c in sorted(self.by_c) if self.deviance_of_c(c) <= threshold]

    def a_in_loss_units(self) -> float:
        return self.tail.loc + self.tail.scale * float(self.best.theta[A])

    def deviance_of_a(self, a: float, limit: float) -> float:
        """Profile deviance of the best value at ``a`` (loss units): ``min_c D(c) + D_c(a)`` over
        the ``c`` with ``D(c) <= limit`` (the others cannot bring it below ``limit``); ``inf``
        when ``a`` is outside every model's box or the deviance exceeds ``limit`` everywhere."""
        z = (a - self.tail.loc) / self.tail.scale
        out = math.inf
        for c in self.plausible(limit):
            fit = self.by_c[c]
            if not fit.model.lower[A] <= z <= fit.model.upper[A]:
                continue
            start = fit.theta.copy()
            start[A] = z
            value = profile(fit.model, A, z, start)[1]
            out = min(out, self.deviance_of_c(c) + max(2.0 * (value - fit.value), 0.0))
        return out


def fit_tail(
    tail: Tail,
    a_range: tuple[float, float],
    max_dimension: int,
    warm: TailFit | None = None,
) -> TailFit:
    """Fit ``tail`` at ``c = 1, 2, ...`` up to ``max_dimension``, each from grid starts, from the
    previous ``c``'s optimum and from ``warm``'s optimum at the same ``c`` (another tail of the same
    data). The scan stops past the best ``c`` once ``D(c)`` exceeds :data:`SCAN_DEVIANCE` and grows:
    the profile of ``c`` is unimodal in practice, and no interval or test reaches that far."""
    by_c: dict[int, ModelFit] = {}
    previous: FloatArray | None = None
    best = math.inf
    for c in range(1, max_dimension + 1):
        model = make_model(tail, c, a_range)
        starts = [] if previous is None else [previous]
        if warm is not None and c in warm.by_c:
            starts.append(restandardise(warm.by_c[c].theta, warm.tail, tail))
        theta, value = _fit_from(model, starts)
        by_c[c] = ModelFit(model, theta, value)
        growing = c > 1 and value > by_c[c - 1].value
        best = min(best, value)
        if growing and 2.0 * (value - best) > SCAN_DEVIANCE:
            break
        previous = theta
    best_c = min(by_c, key=lambda c: by_c[c].value)
    ks, p = tail_ks(by_c[best_c].theta, tail)
    return TailFit(tail, by_c, best_c, ks, p, max_dimension)


def _fit_from(model: Model, warm: list[FloatArray]) -> tuple[FloatArray, float]:
    """The best of the grid starts (one per noise level: the surface in ``(a, sigma)`` can have a
    low-noise and a high-noise optimum) and the warm starts."""
    theta, value = fit_model(model, warm[0] if warm else None, n_starts=3)
    for start in warm[1:]:
        other, other_value = fit_model(model, start, n_starts=0)
        if other_value < value:
            theta, value = other, other_value
    return theta, value


__all__ = ["ModelFit", "TailFit", "fit_tail"]
