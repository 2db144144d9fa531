"""Near-optimum search in the unit box: quasi-random start, then local quadratic-model steps.

The idea (Lourie, He & Cho 2025, "Hyperparameter Loss Surfaces Are Simple Near their Optima"): near
its optimum a loss surface is a quadratic in a few effective directions. So the search

1. *finds the basin* with scrambled Sobol points (Owen-scrambled, ``scipy.stats.qmc``) for the first
   ``n_startup`` steps;
2. *models the basin*: fits the least-norm quadratic (:mod:`._quadratic`, Powell's NEWUOA idea) to the
   widest neighbourhood of the best point that it describes within the noise (leave-one-out, see
   :meth:`NearOptimumOptimizer._fit_model`), and proposes the model's minimiser inside a trust region
   (:mod:`._trust_region`, TuRBO's grow/shrink rules) centred on the incumbent;
3. *keeps exploring*: every ``explore_every``-th step after the start is an exploration step (a
   uniform point here; the Optuna adapter hands it to TPE, and does so by default when the space has
   parameters the model does not take), and the trust region restarts at its initial side when it has
   shrunk below its minimum.

The incumbent is the point with the lowest *model prediction* among the modelled points when the model
predicts much better than the spread of the values (leave-one-out RMSE under half their standard
deviation: on a noisy objective, not the luckiest draw), else the best observed point. The
optimiser is a pure function of the history (points, values, which steps were local, the points
still running) and of ``(seed, index)``, so it needs no state between calls: any process can ask it
for the next point.

numpy/scipy only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import qmc

from tune_extras.samplers._quadratic import QuadraticModel, fit_quadratic
from tune_extras.samplers._space import FloatArray, IntArray
from tune_extras.samplers._trust_region import TrustRegion, TrustRegionRules, replay

StepKind = Literal["startup", "local", "explore"]


@dataclass(frozen=True)
class Proposal:
    """A proposed point (unit box, shape ``(d,)``), what kind of step it is, and the state behind it.

    ``region`` and ``model`` are ``None`` for startup and exploration steps; ``incumbent`` is the index
    (into the history) of the point the trust region was centred on, or ``None``.
    """

    point: FloatArray
    kind: StepKind
    region: TrustRegion | None = None
    model: QuadraticModel | None = None
    incumbent: int | None = None


class NearOptimumOptimizer:
    """Proposes the next point of a minimisation in ``[0, 1]^dim`` from the history.

    Args:
        dim: Number of coordinates, ``>= 1``.
        seed: Seed of the Sobol scrambling and of the per-step randomness (``None``: fresh entropy).
        n_startup: Number of Sobol steps before any model, ``>= 1`` (default 10).
        explore_every: After the start, every ``explore_every``-th step explores (``>= 2``; ``0``: never).
        rules: Trust-region constants (default :class:`TrustRegionRules` with
            ``failure_tolerance = clip(dim, 4, 10)``).
        max_model_points: Most points the quadratic model is fitted to (the nearest to the incumbent),
            ``>= 2`` (default 100).

    Example:
        >>> import numpy as np
        >>> opt = NearOptimumOptimizer(2, seed=0)
        >>> xs, ys = np.empty((0, 2)), np.empty(0)
        >>> kinds: list[bool] = []
        >>> for i in range(30):
        ...     step = opt.propose(xs, ys, kinds, index=i)
        ...     xs = np.vstack([xs, step.point]); kinds.append(step.kind == "local")
        ...     ys = np.append(ys, float(np.sum((step.point - 0.3) ** 2)))
        >>> bool(ys.min() < 1e-4)
        True
    """

    def __init__(
        self,
        dim: int,
        *,
        seed: int | None = None,
        n_startup: int = 10,
        explore_every: int = 0,
        rules: TrustRegionRules | None = None,
        max_model_points: int = 100,
    ) -> None:
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        if n_startup < 1:
            raise ValueError(f"n_startup must be >= 1, got {n_startup}")
        if explore_every < 0 or explore_every == 1:
            raise ValueError(f"explore_every must be 0 or >= 2, got {explore_every}")
        if max_model_points < 2:
            raise ValueError(f"max_model_points must be >= 2, got {max_model_points}")
        self.dim = dim
        self.seed = int(np.random.SeedSequence(seed).entropy) if seed is None else int(seed)  # type: ignore[arg-type]
        self.n_startup = n_startup
        self.explore_every = explore_every
        self.rules = rules if rules is not None else TrustRegionRules(
            failure_tolerance=int(np.clip(dim, 4, 10))
        )
        self.max_model_points = max_model_points

    def rng(self, index: int) -> np.random.Generator:
        """The random generator of step ``index``: a pure function of ``(seed, index)``."""
        return np.random.default_rng([self.seed, index, 0x6E6F])

    def sobol_point(self, index: int) -> FloatArray:
        """Point ``index`` of the scrambled Sobol sequence of this seed (:func:`sobol_point`)."""
        return sobol_point(self.dim, self.seed, index)

    def propose(
        self,
        points: FloatArray,
        values: FloatArray,
        is_local: list[bool] | FloatArray,
        *,
        index: int,
        running: FloatArray | None = None,
        snap: Callable[[FloatArray], FloatArray] | None = None,
        n_unknown_running: int = 0,
    ) -> Proposal:
        """The next point.

        Args:
            points: Finished points, shape ``(n, dim)``, in trial order (the trust region replays
                their values in this order).
            values: Their losses, shape ``(n,)`` (non-finite: failed; never the incumbent).
            is_local: For each finished point, whether it was a local (trust-region) step.
            index: Sequence number of the step (the trial number): Sobol index and randomness.
            running: Points proposed but not finished (running, or pruned), shape ``(r, dim)``: a
                proposal within 5% of the box's side of one is moved (see :meth:`_unique`).
            snap: Map of unit points to the centre of their grid cell (ints, steps); duplicates are
                detected after it.
            n_unknown_running: Steps running elsewhere whose points are not known yet (asked at the
                same time). When ``> 0`` a local step moves the model's minimiser by a random normal
                step of scale ``length / 8`` per coordinate (randomness of this ``index``), so
                concurrent steps from the same history differ.
        """
        points = np.asarray(points, dtype=np.float64).reshape(-1, self.dim)
        values = np.asarray(values, dtype=np.float64)
        local_flags = [bool(v) for v in is_local]
        if values.shape != (points.shape[0],) or len(local_flags) != points.shape[0]:
            raise ValueError(
                f"points, values and is_local disagree: {points.shape}, {values.shape}, "
                f"{len(local_flags)}"
            )
        pending = (
            np.empty((0, self.dim)) if running is None
            else np.asarray(running, dtype=np.float64).reshape(-1, self.dim)
        )
        snapper = snap if snap is not None else _identity
        rng = self.rng(index)
        finite = np.isfinite(values)
        if int(np.sum(finite)) < max(self.n_startup, 2):
            point = self.sobol_point(index)
            return Proposal(self._unique(point, points, pending, snapper, rng, None), "startup")
        n_after = points.shape[0] - self.n_startup
        if self.explore_every and n_after >= 0 and n_after % self.explore_every == self.explore_every - 1:
            point = rng.uniform(size=self.dim)
            return Proposal(self._unique(point, points, pending, snapper, rng, None), "explore")

        region = replay(values.tolist(), local_flags, self.rules)
        length = region.length
        good_x, good_y = points[finite], values[finite]
        first = int(np.argmin(good_y))
        centre = good_x[first]
        distance = np.max(np.abs(good_x - centre), axis=1)
        order = np.argsort(distance, kind="stable")
        chosen, model = self._fit_model(good_x, good_y, order, centre)
        incumbent = chosen[0]
        spread = float(np.std(good_y[chosen]))
        if spread > 0.0 and model.loo_rmse < 0.5 * spread:
            incumbent = chosen[int(np.argmin(model.predict(good_x[chosen])))]
        centre = good_x[incumbent]
        low = np.clip(centre - 0.5 * length, 0.0, 1.0)
        high = np.clip(centre + 0.5 * length, 0.0, 1.0)
        point = model.minimize_in_box(low, high, centre)
        if n_unknown_running > 0:
            point = _reflect(point + rng.normal(scale=length / 8.0, size=self.dim), low, high)
        box = (low, high)
        unique = self._unique(point, points, pending, snapper, rng, box)
        finite_index = np.flatnonzero(finite)[incumbent]
        return Proposal(unique, "local", region, model, int(finite_index))

    def _fit_model(
        self, x: FloatArray, y: FloatArray, order: IntArray, centre: FloatArray
    ) -> tuple[IntArray, QuadraticModel]:
        """The least-norm quadratic of the widest neighbourhood of ``centre`` it describes well.

        Candidates are the ``k`` nearest points (``order``) for ``k`` growing geometrically (factor
        1.5) from ``k0 = max(2 dim + 2, 8)`` to ``max_model_points``, each with its own fit
        (:func:`fit_quadratic`). The noise level is the least mean squared leave-one-out residual of
        any candidate on the ``k0`` nearest points (which every candidate holds); a candidate is
        *adequate* when its own leave-one-out MSE is at most twice that, and the widest adequate one
        is chosen. On a noisy quadratic the widest neighbourhood wins (more points average the noise
        out, where the nearest points alone are flat at the noise level); where the surface is not
        quadratic at that scale its misfit shows and a narrower one wins.
        """
        n = len(order)
        k0 = min(n, max(2 * self.dim + 2, 8))
        top = min(n, self.max_model_points)
        sizes = [k0]
        while sizes[-1] < top:
            sizes.append(min(top, math.ceil(sizes[-1] * 1.5)))
        candidates = [(k, fit_quadratic(x[order[:k]], y[order[:k]], centre)) for k in sizes]
        noise = min(float(np.mean(m.loo_residuals[:k0] ** 2)) for _, m in candidates)
        floor = max(noise, 1e-20 * float(np.var(y[order[:top]])), 1e-300)
        adequate = [(k, m) for k, m in candidates if m.loo_rmse**2 <= 2.0 * floor]
        k, model = max(adequate or candidates, key=lambda c: (c[0], -c[1].loo_rmse))
        return order[:k], model

    def _unique(
        self,
        point: FloatArray,
        points: FloatArray,
        pending: FloatArray,
        snap: Callable[[FloatArray], FloatArray],
        rng: np.random.Generator,
        box: tuple[FloatArray, FloatArray] | None,
    ) -> FloatArray:
        """``point``, or a random point near it when it repeats a known point.

        A point repeats when its snapped coordinates equal those of a finished point, or lie within
        5% of the box's side of a running point (so that concurrent workers spread out). Then ``point``
        moves by a normal step of scale ``k / 8`` of the box's side at attempt ``k = 1 .. 8``
        (mirrored into the box: a converged search probes around its optimum), then to uniform
        points of ``box`` (else of the unit box), then of the whole unit box.
        """
        low, high = box if box is not None else (np.zeros(self.dim), np.ones(self.dim))
        side = np.maximum(high - low, 1e-12)
        origin = point
        taken = snap(points) if points.shape[0] else points
        busy = snap(pending) if pending.shape[0] else pending
        candidate = snap(point)
        for attempt in range(1, 33):
            repeat = taken.shape[0] and bool(np.any(np.all(np.abs(taken - candidate) <= 1e-12, axis=1)))
            near = busy.shape[0] and bool(
                np.any(np.all(np.abs(busy - candidate) <= 0.05 * side + 1e-12, axis=1))
            )
            if not repeat and not near:
                return point
            if attempt <= 8:
                point = _reflect(origin + rng.normal(scale=attempt * side / 8.0), low, high)
            else:
                if attempt == 17:  # the box is crowded: look in the whole unit box
                    low, high = np.zeros(self.dim), np.ones(self.dim)
                    side = np.ones(self.dim)
                point = rng.uniform(low, high)
            candidate = snap(point)
        return point


def sobol_point(dim: int, seed: int, index: int) -> FloatArray:
    """Point ``index`` of the Owen-scrambled Sobol sequence in ``[0, 1)^dim`` scrambled by ``seed``."""
    engine = qmc.Sobol(dim, scramble=True, seed=np.random.default_rng([seed, 0x50B0]))
    if index > 0:
        engine.fast_forward(index)
    point: FloatArray = engine.random(1)[0]
    return point


def _reflect(x: FloatArray, low: FloatArray, high: FloatArray) -> FloatArray:
    """``x`` mirrored into the box ``[low, high]`` (not clipped: two jittered points that leave the
    box through one face stay apart)."""
    width = np.maximum(high - low, 1e-300)
    folded = np.mod(x - low, 2.0 * width)
    out: FloatArray = low + np.where(folded > width, 2.0 * width - folded, folded)
    return np.clip(out, low, high)


def _identity(x: FloatArray) -> FloatArray:
    return x


__all__ = ["NearOptimumOptimizer", "Proposal", "StepKind", "sobol_point"]
