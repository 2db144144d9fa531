"""Shapes of learning curves: the parametric families, each with its nonlinear parameters on a grid.

Every shape is a basis function ``phi(u)`` of the relative time ``u = step / target_step`` in
``(0, 1]``, and a curve is modelled as ``y(u) = c + a * phi(u)`` with ``c`` and ``a`` free (so the
curve may improve or worsen). Fixing the nonlinear parameters on a grid makes each family linear
in ``(c, a)``, which is what lets :func:`tune_extras.curves.extrapolate` average over all of them in
closed form instead of running MCMC. The families are those of Domhan, Springenberg & Hutter,
"Speeding up Automatic Hyperparameter Optimization of Deep Neural Networks by Extrapolation of
Learning Curves" (IJCAI 2015), up to their asymptote ``c`` and scale ``a``:

=================  ===============================  ==================================
name               ``phi(u)``                       Domhan et al. family
=================  ===============================  ==================================
``pow``            ``u^-alpha``                     pow3 ``c - a x^-alpha``
``pow-shift``      ``(u + delta)^-alpha``           pow4 ``c - (a x + b)^-alpha``
``exp``            ``exp(-u / tau)``                exp3 / vapor pressure
``weibull``        ``exp(-(u / tau)^2)``            Weibull, Janoschek (delta = 2)
``log-sigmoid``    ``1 / (1 + (u / kappa)^delta)``  MMF, log power, Hill3
``log``            ``log u``                        log-log-linear, ilog2 (no asymptote)
``linear``         ``u``                            drift (e.g. a validation loss rising)
``flat``           ``0``                            a curve that has converged
=================  ===============================  ==================================

Since the relative time is used, the grids are the same for a curve of 10 and of 10,000 steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Shape:
    """One basis function: its family name and the values of its nonlinear parameters."""

    family: str
    parameters: tuple[float, ...]

    def __call__(self, u: FloatArray) -> FloatArray:
        """``phi(u)`` for relative times ``u`` in ``(0, 1]``."""
        p = self.parameters
        if self.family == "pow":
            return np.asarray(u ** -p[0], dtype=np.float64)
        if self.family == "pow-shift":
            return np.asarray((u + p[1]) ** -p[0], dtype=np.float64)
        if self.family == "exp":
            return np.asarray(np.exp(-u / p[0]), dtype=np.float64)
        if self.family == "weibull":
            return np.asarray(np.exp(-((u / p[0]) ** 2)), dtype=np.float64)
        if self.family == "log-sigmoid":
            return np.asarray(1.0 / (1.0 + (u / p[0]) ** p[1]), dtype=np.float64)
        if self.family == "log":
            return np.asarray(np.log(u), dtype=np.float64)
        if self.family == "linear":
            return np.asarray(u, dtype=np.float64)
        if self.family == "flat":
            return np.zeros_like(u, dtype=np.float64)
        raise ValueError(f"unknown curve family {self.family!r}")


def default_shapes() -> tuple[Shape, ...]:
    """The grid used by :func:`~tune_extras.curves.extrapolate` (61 shapes)."""
    shapes = [Shape("pow", (float(a),)) for a in np.geomspace(0.05, 4.0, 32)]
    shapes += [
        Shape("pow-shift", (float(a), d)) for d in (0.05, 0.2) for a in np.geomspace(0.25, 4.0, 9)
    ]
    shapes += [Shape("exp", (float(t),)) for t in np.geomspace(0.01, 3.0, 20)]
    shapes += [Shape("weibull", (float(t),)) for t in np.geomspace(0.05, 2.0, 12)]
    shapes += [
        Shape("log-sigmoid", (float(k), d)) for d in (1.0, 3.0) for k in np.geomspace(0.02, 2.0, 12)
    ]
    shapes += [Shape("log", ()), Shape("linear", ()), Shape("flat", ())]
    return tuple(shapes)


def basis_matrix(shapes: tuple[Shape, ...], u: FloatArray) -> FloatArray:
    """``phi_k(u_i)`` for every shape ``k`` (rows) and relative time ``u_i`` (columns)."""
    return np.stack([shape(u) for shape in shapes])
