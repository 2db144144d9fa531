"""The quadratic and noisy quadratic distributions of Lourie, He & Cho 2025 (arXiv 2510.02721).

Near its optimum a loss surface is a quadratic in ``c`` directions, so the score of a configuration
drawn at random has, in its tail, the *quadratic distribution* Q(a, b, c). For a loss (minimised):

    F(y) = ((y - a) / (b - a))^(c / 2)            on [a, b]
    f(y) = c / (2 (b - a)) ((y - a) / (b - a))^(c / 2 - 1)
    F^-1(q) = a + (b - a) q^(2 / c)
    mean = a + (b - a) c / (c + 2)

``a`` is the best possible loss, ``c`` the effective number of hyperparameters and ``b`` bounds the
region where the approximation holds. For a score to maximise the law is mirrored: ``Y ~ Qmax(a, b, c)``
iff ``-Y ~ Qmin(-b, -a, c)``, and ``b`` is the best score.

Evaluation noise (seed-to-seed variation) adds ``Normal(0, sigma)``: the *noisy quadratic distribution*
NQ(a, b, c, sigma), whose CDF is given in :mod:`tune_extras.surface._partial_moment`.

Tuning curves. The best of ``n`` i.i.d. random-search trials has, for a loss,
``P(min_n <= y) = 1 - (1 - F(y))^n``; its ``q``-quantile is ``F^-1(1 - (1 - q)^(1/n))`` and its mean is
``int_0^1 F^-1(1 - (1 - v)^(1/n)) dv``. For large ``n`` the gap to ``a`` shrinks like ``n^(-2/c)``.

We allow real ``c > 0`` (the reference restricts it to integers 1..10): a continuous parameter makes the
fit a smooth optimisation and gives honest confidence intervals for ``c``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from tune_extras.surface._partial_moment import normal_partial_moment

Direction = Literal["minimize", "maximize"]
FloatArray = NDArray[np.float64]

_QUANTILE_H = 0.1
_QUANTILE_STEPS = 35  # nodes at t = -3.5 ... 3.5


@lru_cache(maxsize=1)
def _tanh_sinh() -> tuple[FloatArray, FloatArray]:
    """Tanh-sinh (double-exponential) rule on [0, 1]: ``log(1 - v)`` at the nodes, and weights.

    The integrand of the expected tuning curve behaves like ``(1 - v)^(1/n)`` at ``v = 1``, an
    endpoint singularity that Gauss-Legendre resolves slowly and tanh-sinh resolves to ~1e-10.
    ``log(1 - v)`` is returned directly, since ``1 - v`` underflows the spacing of ``v`` there.
    """
    t = np.arange(-_QUANTILE_STEPS, _QUANTILE_STEPS + 1) * _QUANTILE_H
    u = 0.5 * np.pi * np.sinh(t)
    # v = (1 + tanh u) / 2, so 1 - v = 1 / (1 + exp(2u)) and dv/dt = (pi/4) cosh t / cosh(u)^2.
    log_one_minus_v = -np.logaddexp(0.0, 2.0 * u)
    weights = _QUANTILE_H * 0.25 * np.pi * np.cosh(t) / np.cosh(u) ** 2
    return log_one_minus_v, weights


def _check_direction(direction: str) -> Direction:
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    return direction  # type: ignore[return-value]


class _NearOptimumDistribution:
    """Shared machinery: direction mirroring and tuning curves on top of a loss-form law.

    Subclasses implement the loss form on support ``[lo, hi]`` (``lo`` best): ``_cdf_loss``,
    ``_pdf_loss``, ``_ppf_loss`` and ``_sample_loss``.
    """

    a: float
    b: float
    c: float
    direction: Direction

    def __init__(self, a: float, b: float, c: float, direction: str) -> None:
        self.direction = _check_direction(direction)
        for name, value in (("a", a), ("b", b), ("c", c)):
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value}")
        if not a < b:
            raise ValueError(f"a must be < b, got a={a}, b={b}")
        if not c > 0:
            raise ValueError(f"c must be > 0, got {c}")
        self.a, self.b, self.c = float(a), float(b), float(c)
        # Loss form: best value `lo`, support width `width`.
        self._lo = self.a if self.direction == "minimize" else -self.b
        self._width = self.b - self.a

    # ----- loss-form primitives (subclasses) -------------------------------------------------
    def _cdf_loss(self, x: FloatArray) -> FloatArray:
        raise NotImplementedError

    def _pdf_loss(self, x: FloatArray) -> FloatArray:
        raise NotImplementedError

    def _ppf_loss(self, q: FloatArray) -> FloatArray:
        raise NotImplementedError

    def _sample_loss(self, size: int | tuple[int, ...], rng: np.random.Generator) -> FloatArray:
        raise NotImplementedError

    # ----- public, direction-aware API -------------------------------------------------------
    @property
    def best(self) -> float:
        """The best possible (expected) value: ``a`` for a loss, ``b`` for a score."""
        return self.a if self.direction == "minimize" else self.b

    def _sign(self) -> float:
        return 1.0 if self.direction == "minimize" else -1.0

    def cdf(self, y: ArrayLike) -> FloatArray:
        """``P(Y <= y)``."""
        y = np.asarray(y, dtype=np.float64)
        if self.direction == "minimize":
            return self._cdf_loss(y)
        return 1.0 - self._cdf_loss(-y)

    def sf(self, y: ArrayLike) -> FloatArray:
        """``P(Y > y)``."""
        y = np.asarray(y, dtype=np.float64)
        if self.direction == "minimize":
            return 1.0 - self._cdf_loss(y)
        return self._cdf_loss(-y)

    def pdf(self, y: ArrayLike) -> FloatArray:
        """Density of ``Y``."""
        y = np.asarray(y, dtype=np.float64)
        return self._pdf_loss(self._sign() * y)

    def ppf(self, q: ArrayLike) -> FloatArray:
        """Quantile function: the ``y`` with ``P(Y <= y) = q``."""
        q = np.asarray(q, dtype=np.float64)
        if np.any((q < 0) | (q > 1)):
            raise ValueError("quantile levels must lie in [0, 1]")
        if self.direction == "minimize":
            return self._ppf_loss(q)
        return -self._ppf_loss(1.0 - q)

    def rvs(
        self, size: int | tuple[int, ...] = 1, seed: int | np.random.Generator | None = None
    ) -> FloatArray:
        """Random draws; ``seed`` makes them reproducible."""
        rng = np.random.default_rng(seed)
        return self._sign() * self._sample_loss(size, rng)

    def mean(self) -> float:
        """``E[Y]`` (noise has mean zero): ``a + (b - a) c / (c + 2)`` for a loss."""
        loss_mean = self._lo + self._width * self.c / (self.c + 2.0)
        return float(self._sign() * loss_mean)

    # ----- tuning curves ---------------------------------------------------------------------
    def _best_of_n_loss_quantile(self, n: FloatArray, q: float) -> FloatArray:
        # q-quantile of min of n losses: F^-1(1 - (1 - q)^(1/n)), computed stably with expm1/log1p.
        level = -np.expm1(np.log1p(-q) / n)
        return self._ppf_loss(level)

    def quantile_tuning_curve(self, n: ArrayLike, q: float = 0.5) -> FloatArray:
        """The ``q``-quantile of the best value found by ``n`` random-search trials.

        For a loss that is ``F^-1(1 - (1 - q)^(1/n))``; for a score, ``F^-1(q^(1/n))``.
        ``q = 0.5`` gives the median tuning curve of Lourie, He & Cho.
        """
        if not 0.0 < q < 1.0:
            raise ValueError(f"q must be in (0, 1), got {q}")
        n = np.asarray(n, dtype=np.float64)
        if np.any(n < 1):
            raise ValueError("n must be >= 1")
        if self.direction == "minimize":
            return self._best_of_n_loss_quantile(n, q)
        return -self._best_of_n_loss_quantile(n, 1.0 - q)

    def expected_tuning_curve(self, n: ArrayLike) -> FloatArray:
        """``E[best of n trials]`` = ``int_0^1 tau_v(n) dv`` (the mean over quantile levels of the best).

        Evaluated with a 71-node tanh-sinh rule over the level ``v``.
        """
        n = np.asarray(n, dtype=np.float64)
        if np.any(n < 1):
            raise ValueError("n must be >= 1")
        log_one_minus_v, w = _tanh_sinh()
        levels = -np.expm1(log_one_minus_v[None, :] / n.reshape(-1, 1))
        values = self._ppf_loss(levels) @ w
        return (self._sign() * values).reshape(n.shape)

    def trials_to_reach(self, epsilon: float, probability: float = 0.5) -> float:
        """Fewest random-search trials whose best is within ``epsilon`` of :attr:`best` with the
        given probability: ``n = log(1 - probability) / log(1 - p)``, ``p = P(loss <= best + eps)``.

        Returns ``inf`` when no finite number of trials gets there (``p == 0``).
        """
        if not epsilon > 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon}")
        if not 0.0 < probability < 1.0:
            raise ValueError(f"probability must be in (0, 1), got {probability}")
        p = float(self._cdf_loss(np.array(self._lo + epsilon)))
        if p <= 0.0:
            return math.inf
        if p >= 1.0:
            return 1.0
        return float(max(1.0, math.ceil(math.log1p(-probability) / math.log1p(-p))))


class QuadraticDistribution(_NearOptimumDistribution):
    """The quadratic distribution Q(a, b, c): the score of a random configuration near the optimum.

    Args:
        a: Lower end of the support (the best possible loss when minimising).
        b: Upper end of the support (the best possible score when maximising). ``a < b``.
        c: Effective number of hyperparameters, ``c > 0`` (real-valued).
        direction: ``"minimize"`` (a loss; ``a`` is best) or ``"maximize"`` (a score; ``b`` is best).

    Example:
        >>> from tune_extras.surface import QuadraticDistribution
        >>> dist = QuadraticDistribution(a=0.1, b=0.5, c=2)
        >>> round(float(dist.cdf(0.3)), 6)  # c = 2 is uniform on [a, b]
        0.5
        >>> round(float(dist.quantile_tuning_curve(1000)), 5)
        0.10028
    """

    def __init__(self, a: float, b: float, c: float, direction: str = "minimize") -> None:
        super().__init__(a, b, c, direction)

    def __repr__(self) -> str:
        return (
            f"QuadraticDistribution(a={self.a:g}, b={self.b:g}, c={self.c:g}, {self.direction!r})"
        )

    def _cdf_loss(self, x: FloatArray) -> FloatArray:
        u = np.clip((x - self._lo) / self._width, 0.0, 1.0)
        return u ** (self.c / 2.0)

    def _pdf_loss(self, x: FloatArray) -> FloatArray:
        u = (x - self._lo) / self._width
        inside = (u > 0.0) & (u <= 1.0)
        safe = np.where(inside, u, 1.0)
        dens = self.c / (2.0 * self._width) * safe ** (self.c / 2.0 - 1.0)
        return np.where(inside, dens, 0.0)

    def _ppf_loss(self, q: FloatArray) -> FloatArray:
        return self._lo + self._width * q ** (2.0 / self.c)

    def _sample_loss(self, size: int | tuple[int, ...], rng: np.random.Generator) -> FloatArray:
        return self._ppf_loss(rng.random(size))


class NoisyQuadraticDistribution(_NearOptimumDistribution):
    """The noisy quadratic distribution NQ(a, b, c, sigma): Q(a, b, c) plus Normal(0, sigma) noise.

    The model of Lourie, He & Cho 2025 for random-search scores with seed-to-seed noise: ``a`` (loss)
    or ``b`` (score) is then the best possible *expected* value, and the best *observed* value keeps
    drifting past it as trials accumulate (the noise tail).

    Args:
        a, b, c, direction: As for :class:`QuadraticDistribution`.
        sigma: Standard deviation of the evaluation noise, ``sigma > 0``. Use
            :class:`QuadraticDistribution` for ``sigma = 0``.

    Example:
        >>> from tune_extras.surface import NoisyQuadraticDistribution
        >>> dist = NoisyQuadraticDistribution(a=0.095, b=0.141, c=1, sigma=0.001)
        >>> round(float(dist.quantile_tuning_curve(48)), 4)  # median best of 48 trials
        0.094
    """

    sigma: float

    def __init__(
        self, a: float, b: float, c: float, sigma: float, direction: str = "minimize"
    ) -> None:
        super().__init__(a, b, c, direction)
        if not (math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be finite and > 0, got {sigma}")
        self.sigma = float(sigma)
        self._s = self.sigma / self._width

    def __repr__(self) -> str:
        return (
            f"NoisyQuadraticDistribution(a={self.a:g}, b={self.b:g}, c={self.c:g}, "
            f"sigma={self.sigma:g}, {self.direction!r})"
        )

    def noiseless(self) -> QuadraticDistribution:
        """The law of the configurations' *expected* values: this distribution without its noise."""
        return QuadraticDistribution(self.a, self.b, self.c, self.direction)

    def _cdf_loss(self, x: FloatArray) -> FloatArray:
        mu = (np.asarray(x, dtype=np.float64) - self._lo) / self._width
        upper = special.ndtr((mu - 1.0) / self._s)
        return upper + normal_partial_moment(self.c / 2.0, mu, self._s)  # type: ignore[no-any-return]

    def _pdf_loss(self, x: FloatArray) -> FloatArray:
        mu = (np.asarray(x, dtype=np.float64) - self._lo) / self._width
        scale = self.c / (2.0 * self._width)
        return scale * normal_partial_moment(self.c / 2.0 - 1.0, mu, self._s)

    def _ppf_loss(self, q: FloatArray) -> FloatArray:
        """Invert the CDF by bracketed Newton steps (vectorised; bisection safeguard)."""
        q = np.asarray(q, dtype=np.float64)
        flat = q.ravel()
        noiseless = self._lo + self._width * flat ** (2.0 / self.c)
        lo = np.full_like(flat, self._lo - 40.0 * self.sigma)
        hi = np.full_like(flat, self._lo + self._width + 40.0 * self.sigma)
        # Shrink the bracket with the noiseless quantile +- a few noise scales, checking it holds.
        guess_lo = noiseless - 8.0 * self.sigma
        guess_hi = noiseless + 8.0 * self.sigma
        ok_lo = self._cdf_loss(guess_lo) <= flat
        ok_hi = self._cdf_loss(guess_hi) >= flat
        lo = np.where(ok_lo, guess_lo, lo)
        hi = np.where(ok_hi, guess_hi, hi)
        x = np.clip(noiseless, lo, hi)
        tol = 1e-12 * (self._width + self.sigma)
        for _ in range(100):
            f = self._cdf_loss(x) - flat
            lo = np.where(f <= 0, x, lo)
            hi = np.where(f > 0, x, hi)
            dens = self._pdf_loss(x)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = np.where(dens > 0, f / dens, np.inf)
            newton = x - step
            bisect = 0.5 * (lo + hi)
            x_new = np.where((newton > lo) & (newton < hi), newton, bisect)
            done = np.abs(x_new - x) <= tol
            x = x_new
            if np.all(done | (hi - lo <= tol)):
                break
        x = np.where(flat <= 0.0, -np.inf, np.where(flat >= 1.0, np.inf, x))
        return x.reshape(q.shape)

    def _sample_loss(self, size: int | tuple[int, ...], rng: np.random.Generator) -> FloatArray:
        u = rng.random(size)
        z = rng.standard_normal(size)
        return self._lo + self._width * u ** (2.0 / self.c) + self.sigma * z
