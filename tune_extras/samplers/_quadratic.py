"""A local quadratic model from fewer points than a full quadratic needs: minimum-norm kernel fit.

A full quadratic in ``d`` variables has ``(d + 1)(d + 2) / 2`` coefficients (496 in 30-D), more points
than a search can afford near its incumbent. Powell's NEWUOA/BOBYQA (Powell 2006, 2009) fit the
quadratic of *least Frobenius norm* of the Hessian (change) through ``2d + 1`` points; near an optimum
whose Hessian has only ``c`` nonzero eigenvalues (Lourie, He & Cho 2025: ``c`` = 1-2 in real deep-learning
searches) such a fit concentrates its curvature on the directions the data can see.

Here the same idea is written as kernel ridge regression with the degree-2 polynomial kernel
``k(z, z') = (1 + z . z')^2``, whose feature map is every monomial of degree <= 2
(``1, sqrt2 z_i, z_i^2, sqrt2 z_i z_j``): the fit ``f(z) = sum_k alpha_k k(z, z_k)`` is the
quadratic with the least norm of its coefficients that fits the data up to the ridge ``lam``.
Expanding it gives the coefficients explicitly::

    f(z) = sum(alpha) + 2 (Z^T alpha) . z + z^T (Z^T diag(alpha) Z) z
         = c + g . z + 1/2 z^T H z,  with  H = 2 Z^T diag(alpha) Z

(rank of ``H`` <= number of points). ``lam`` is chosen by exact leave-one-out cross-validation over a
grid (Allen 1974's PRESS: residual_i = alpha_i / [(K + lam I)^-1]_ii, from one eigendecomposition),
so noisy values get a smoother model and exact values an interpolating one.

numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tune_extras.samplers._space import FloatArray

#: Ridge values tried by leave-one-out, relative to the mean eigenvalue of the kernel matrix.
_RELATIVE_RIDGES = 10.0 ** np.arange(-8.0, 2.5, 0.5)


@dataclass(frozen=True)
class QuadraticModel:
    """``y(x) ~ offset + scale * (c + g . z + 1/2 z^T H z)`` with ``z = (x - origin) / radius``.

    Attributes:
        origin: Centre of the local coordinates, shape ``(d,)``.
        radius: Length that maps the data onto ``|z| <~ 1`` (``> 0``).
        constant, gradient, hessian: ``c``, ``g`` (``(d,)``) and ``H`` (``(d, d)``, symmetric), in the
            standardised value units.
        offset, scale: The values' mean and standard deviation (``scale > 0``).
        ridge: The ridge ``lam`` that leave-one-out chose.
        loo_rmse: Root mean squared leave-one-out error, in value units.
        loo_residuals: Leave-one-out residual of each data point (in the order given), value units.
        structure: The kernel leave-one-out chose: ``"full"`` (every monomial of degree <= 2) or
            ``"diagonal"`` (no cross terms: ``k = 1 + z . z' + (z * z) . (z' * z')``).
    """

    origin: FloatArray
    radius: float
    constant: float
    gradient: FloatArray
    hessian: FloatArray
    offset: float
    scale: float
    ridge: float
    loo_rmse: float
    loo_residuals: FloatArray
    structure: str = "full"

    def predict(self, x: FloatArray) -> FloatArray:
        """Model values at points ``x`` (shape ``(n, d)`` or ``(d,)``), in value units."""
        z = (np.atleast_2d(np.asarray(x, dtype=np.float64)) - self.origin) / self.radius
        quad = 0.5 * np.einsum("ni,ij,nj->n", z, self.hessian, z)
        out: FloatArray = self.offset + self.scale * (self.constant + z @ self.gradient + quad)
        return out

    def eigen_directions(self) -> tuple[FloatArray, FloatArray]:
        """Eigenvalues (descending by magnitude) and unit eigenvectors (columns) of the Hessian in ``x``.

        The Hessian in ``x`` coordinates and value units is ``scale / radius^2 * H``.
        """
        values, vectors = np.linalg.eigh(self.hessian)
        order = np.argsort(-np.abs(values))
        factor = self.scale / self.radius**2
        return values[order] * factor, vectors[:, order]

    def minimize_in_box(self, low: FloatArray, high: FloatArray, start: FloatArray) -> FloatArray:
        """A minimiser of the model over the box ``low <= x <= high`` (``x`` coordinates).

        Projected gradient descent with step ``1 / ||H||_2`` (the Lipschitz constant of the gradient) from
        ``start`` and from the clipped Newton point of the positive-curvature part; the better end point
        wins. Exact for a convex model up to the iteration count (300 steps); a local minimiser otherwise.
        """
        low_z = (np.asarray(low, dtype=np.float64) - self.origin) / self.radius
        high_z = (np.asarray(high, dtype=np.float64) - self.origin) / self.radius
        values, vectors = np.linalg.eigh(self.hessian)
        lipschitz = float(np.max(np.abs(values), initial=0.0))
        # Newton point of the positive-curvature part, with the linear term alone on the rest.
        tol = 1e-9 * max(lipschitz, 1.0)
        projected = vectors.T @ self.gradient
        positive = values > tol
        newton_coords = np.where(positive, -projected / np.where(positive, values, 1.0), 0.0)
        newton = vectors @ newton_coords
        starts = [
            np.clip((np.asarray(start, dtype=np.float64) - self.origin) / self.radius, low_z, high_z),
            np.clip(newton, low_z, high_z),
        ]
        span = float(np.max(high_z - low_z, initial=0.0))
        step = 1.0 / lipschitz if lipschitz > 0.0 else max(span, 1e-12) / max(
            float(np.linalg.norm(self.gradient)), 1e-12
        )
        best_z, best_value = starts[0], np.inf
        for z in starts:
            for _ in range(300):
                moved = np.clip(z - step * (self.gradient + self.hessian @ z), low_z, high_z)
                if np.max(np.abs(moved - z), initial=0.0) <= 1e-10 * max(span, 1e-12):
                    z = moved
                    break
                z = moved
            value = float(z @ self.gradient + 0.5 * z @ self.hessian @ z)
            if value < best_value:
                best_z, best_value = z, value
        out: FloatArray = self.origin + self.radius * best_z
        return out


def fit_quadratic(x: FloatArray, y: FloatArray, origin: FloatArray) -> QuadraticModel:
    """The least-norm quadratic through ``(x, y)`` (leave-one-out ridge) in coordinates around ``origin``.

    Args:
        x: Points, shape ``(n, d)``, ``n >= 1``.
        y: Finite values, shape ``(n,)``.
        origin: Centre of the local coordinates, shape ``(d,)``.

    Raises:
        ValueError: When the shapes disagree, there is no point, or a value is not finite.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    origin = np.asarray(origin, dtype=np.float64)
    if x.ndim != 2 or y.shape != (x.shape[0],) or origin.shape != (x.shape[1],) or x.shape[0] == 0:
        raise ValueError(
            f"need x (n, d), y (n,), origin (d,) with n >= 1, got {x.shape}, {y.shape}, {origin.shape}"
        )
    if not np.all(np.isfinite(y)):
        raise ValueError("values must be finite")
    radius = float(np.max(np.abs(x - origin), initial=0.0))
    radius = radius if radius > 0.0 else 1.0
    z = (x - origin) / radius
    offset = float(np.mean(y))
    spread = float(np.std(y))
    scale = spread if spread > 0.0 else 1.0
    target = (y - offset) / scale
    best: tuple[float, float, str, FloatArray, FloatArray] | None = None
    for structure in ("full", "diagonal"):
        if structure == "full":
            kernel = (1.0 + z @ z.T) ** 2
        else:
            squares = z * z
            kernel = 1.0 + z @ z.T + squares @ squares.T
        loo, ridge, alpha, residuals = _loo_ridge(kernel, target)
        if best is None or loo < best[0]:
            best = (loo, ridge, structure, alpha, residuals)
    assert best is not None
    loo_mse, ridge, structure, alpha, residuals = best
    if structure == "full":
        constant = float(np.sum(alpha))
        gradient = 2.0 * (z.T @ alpha)
        hessian = 2.0 * (z.T * alpha) @ z
        hessian = 0.5 * (hessian + hessian.T)
    else:
        constant = float(np.sum(alpha))
        gradient = z.T @ alpha
        hessian = np.diag(2.0 * ((z * z).T @ alpha))
    return QuadraticModel(
        origin=origin.copy(),
        radius=radius,
        constant=constant,
        gradient=gradient,
        hessian=hessian,
        offset=offset,
        scale=scale,
        ridge=ridge,
        loo_rmse=float(np.sqrt(loo_mse)) * scale,
        loo_residuals=residuals * scale,
        structure=structure,
    )


def _loo_ridge(
    kernel: FloatArray, target: FloatArray
) -> tuple[float, float, FloatArray, FloatArray]:
    """Leave-one-out mean squared error, ridge, dual weights and leave-one-out residuals of the best
    ridge on the grid."""
    n = kernel.shape[0]
    eigvals, eigvecs = np.linalg.eigh(kernel)
    eigvals = np.maximum(eigvals, 0.0)
    projected = eigvecs.T @ target
    mean_eig = max(float(np.mean(eigvals)), 1e-12)
    # Every ridge of the grid at once: column r of ``inverse`` holds 1 / (eigenvalue + ridge_r).
    ridges = _RELATIVE_RIDGES * mean_eig
    inverse = 1.0 / (eigvals[:, None] + ridges[None, :])
    alphas = eigvecs @ (inverse * projected[:, None])  # (n, R) dual weights
    diagonals = (eigvecs * eigvecs) @ inverse  # (n, R) diagonals of (K + ridge I)^-1
    residuals = alphas / diagonals if n > 1 else np.zeros_like(alphas)
    loo = np.mean(residuals**2, axis=0)
    # The first ridge whose error is not beaten by more than a relative 1e-12 by a later one.
    best = 0
    for r in range(1, len(ridges)):
        if loo[r] < loo[best] - 1e-12 * max(loo[best], 1.0):
            best = r
    return float(loo[best]), float(ridges[best]), alphas[:, best], residuals[:, best]


__all__ = ["QuadraticModel", "fit_quadratic"]
