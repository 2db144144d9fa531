"""Known answers and properties of the quadratic and noisy quadratic distributions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

from tune_extras.surface import NoisyQuadraticDistribution, QuadraticDistribution
from tune_extras.surface._partial_moment import normal_partial_moment, normal_partial_moment_grad


@pytest.mark.parametrize("k", [-0.5, 0.0, 0.5, 1.0, 2.5])
@pytest.mark.parametrize("mu", [-0.05, 0.0, 0.02, 0.4, 0.97, 1.1])
@pytest.mark.parametrize("s", [0.01, 0.2, 2.0])
def test_partial_moment_matches_adaptive_quadrature(k: float, mu: float, s: float) -> None:
    def integrand(v: float) -> float:
        return v**k * stats.norm.pdf(v, mu, s)

    lo, hi = max(0.0, mu - 12 * s), min(1.0, mu + 12 * s)
    points = [p for p in (mu,) if lo < p < hi]
    expected = integrate.quad(integrand, lo, hi, points=points or None, limit=400, epsabs=1e-13)[0]
    got = normal_partial_moment(k, np.array([mu]), s)[0]
    assert got == pytest.approx(expected, rel=1e-7, abs=1e-10)


def test_partial_moment_gradient_matches_finite_differences() -> None:
    mu, s, k, h = np.linspace(-0.05, 1.05, 23), 0.03, 0.7, 1e-6
    moment, d_mu, d_s = normal_partial_moment_grad(k, mu, s)
    np.testing.assert_allclose(moment, normal_partial_moment(k, mu, s))
    fd_mu = (normal_partial_moment(k, mu + h, s) - normal_partial_moment(k, mu - h, s)) / (2 * h)
    fd_s = (normal_partial_moment(k, mu, s + h) - normal_partial_moment(k, mu, s - h)) / (2 * h)
    np.testing.assert_allclose(d_mu, fd_mu, atol=1e-5)
    np.testing.assert_allclose(d_s, fd_s, atol=1e-5)


def test_quadratic_closed_forms() -> None:
    dist = QuadraticDistribution(a=1.0, b=3.0, c=4.0)
    assert float(dist.cdf(2.0)) == pytest.approx(0.25)  # ((2-1)/2)^2
    assert float(dist.pdf(2.0)) == pytest.approx(4 / (2 * 2) * 0.5)  # c/(2w) u^(c/2-1)
    assert float(dist.ppf(0.25)) == pytest.approx(2.0)
    assert dist.mean() == pytest.approx(1.0 + 2.0 * 4 / 6)
    assert dist.best == 1.0
    uniform = QuadraticDistribution(a=0.0, b=1.0, c=2.0)
    np.testing.assert_allclose(uniform.cdf([0.1, 0.5, 0.9]), [0.1, 0.5, 0.9])


@pytest.mark.parametrize("c", [1.0, 2.0, 3.5])
def test_expected_tuning_curve_matches_gamma_formula(c: float) -> None:
    # E[min of n] = a + (b - a) Gamma(n + 1) Gamma((c + 2)/c) / Gamma(n + (c + 2)/c).
    a, b = 0.2, 0.9
    dist = QuadraticDistribution(a, b, c)
    n = np.array([1.0, 5.0, 50.0, 400.0])
    expected = a + (b - a) * np.exp(
        special.gammaln(n + 1) + special.gammaln((c + 2) / c) - special.gammaln(n + (c + 2) / c)
    )
    np.testing.assert_allclose(dist.expected_tuning_curve(n), expected, rtol=1e-6)


def test_quantile_tuning_curve_closed_form_and_asymptotic_law() -> None:
    a, b, c = 0.1, 0.5, 3.0
    dist = QuadraticDistribution(a, b, c)
    n = np.array([1.0, 10.0, 1000.0])
    expected = a + (b - a) * (1 - 0.5 ** (1 / n)) ** (2 / c)
    np.testing.assert_allclose(dist.quantile_tuning_curve(n), expected, rtol=1e-12)
    # Gap to the optimum shrinks like n^(-2/c).
    gap = dist.quantile_tuning_curve(np.array([1e4, 1e5])) - a
    assert gap[0] / gap[1] == pytest.approx(10 ** (2 / c), rel=1e-3)


def test_maximize_mirrors_minimize() -> None:
    loss = NoisyQuadraticDistribution(-0.9, -0.3, 2.5, 0.02, "minimize")
    score = NoisyQuadraticDistribution(0.3, 0.9, 2.5, 0.02, "maximize")
    y = np.linspace(0.2, 1.0, 17)
    np.testing.assert_allclose(score.cdf(y), 1.0 - loss.cdf(-y), atol=1e-12)
    np.testing.assert_allclose(score.pdf(y), loss.pdf(-y), atol=1e-12)
    assert score.best == 0.9
    np.testing.assert_allclose(
        score.quantile_tuning_curve([1, 10, 100]), -loss.quantile_tuning_curve([1, 10, 100])
    )
    assert score.mean() == pytest.approx(-loss.mean())


def test_noisy_cdf_matches_monte_carlo() -> None:
    dist = NoisyQuadraticDistribution(0.095, 0.141, 1.0, 0.001)
    draws = dist.rvs(200_000, seed=0)
    for y in (0.093, 0.096, 0.1, 0.12, 0.14):
        p = float(dist.cdf(y))
        # Binomial standard error of the empirical CDF; 5 sigma tolerance.
        assert np.mean(draws <= y) == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / 2e5) + 1e-4)


def test_noisy_pdf_integrates_to_cdf_and_ppf_inverts() -> None:
    dist = NoisyQuadraticDistribution(0.0, 1.0, 1.5, 0.05)
    edges = np.linspace(-0.2, 1.2, 8)
    for lo, hi in itertools.pairwise(edges):
        mass = integrate.quad(lambda y: float(dist.pdf(y)), lo, hi, epsabs=1e-12)[0]
        assert mass == pytest.approx(float(dist.cdf(hi) - dist.cdf(lo)), abs=1e-8)
    q = np.array([1e-6, 0.01, 0.3, 0.5, 0.99, 0.999999])
    np.testing.assert_allclose(dist.cdf(dist.ppf(q)), q, rtol=1e-9, atol=1e-14)


def test_small_noise_approaches_quadratic() -> None:
    noisy = NoisyQuadraticDistribution(0.0, 1.0, 3.0, 1e-7)
    exact = QuadraticDistribution(0.0, 1.0, 3.0)
    y = np.linspace(0.01, 0.99, 11)
    np.testing.assert_allclose(noisy.cdf(y), exact.cdf(y), atol=1e-6)
    np.testing.assert_allclose(
        noisy.quantile_tuning_curve([1, 30, 300]),
        exact.quantile_tuning_curve([1, 30, 300]),
        atol=1e-5,
    )


def test_noisy_expected_tuning_curve_matches_simulation() -> None:
    dist = NoisyQuadraticDistribution(0.1, 0.4, 2.0, 0.01)
    best = dist.rvs((20_000, 48), seed=1).min(axis=1)
    assert float(dist.expected_tuning_curve(48)) == pytest.approx(
        best.mean(), abs=4 * best.std() / 141
    )
    assert float(dist.quantile_tuning_curve(48)) == pytest.approx(np.median(best), abs=1e-3)


def test_trials_to_reach() -> None:
    dist = QuadraticDistribution(0.0, 1.0, 2.0)  # uniform: p = epsilon
    # n = log(1 - 0.5) / log(1 - 0.01) = 68.97 -> 69
    assert dist.trials_to_reach(0.01) == 69
    assert dist.trials_to_reach(2.0) == 1
    with pytest.raises(ValueError, match="epsilon"):
        dist.trials_to_reach(0.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"a": 1.0, "b": 1.0, "c": 1.0, "sigma": 0.1}, "a must be < b"),
        ({"a": 0.0, "b": 1.0, "c": 0.0, "sigma": 0.1}, "c must be > 0"),
        ({"a": 0.0, "b": 1.0, "c": 1.0, "sigma": 0.0}, "sigma"),
        ({"a": math.nan, "b": 1.0, "c": 1.0, "sigma": 0.1}, "a must be finite"),
        ({"a": 0.0, "b": 1.0, "c": 1.0, "sigma": 0.1, "direction": "up"}, "direction"),
    ],
)
def test_invalid_parameters_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NoisyQuadraticDistribution(**kwargs)


@settings(max_examples=40, deadline=None)
@given(
    c=st.floats(0.5, 12.0),
    sigma=st.floats(1e-4, 0.5),
    direction=st.sampled_from(["minimize", "maximize"]),
)
def test_cdf_monotone_and_tuning_curve_improves(c: float, sigma: float, direction: str) -> None:
    dist = NoisyQuadraticDistribution(0.0, 1.0, c, sigma, direction)
    y = np.linspace(-1.0, 2.0, 61)
    cdf = dist.cdf(y)
    assert np.all((cdf >= -1e-12) & (cdf <= 1 + 1e-12))
    assert np.all(np.diff(cdf) >= -1e-12)
    curve = dist.quantile_tuning_curve(np.array([1.0, 3.0, 10.0, 100.0, 1000.0]))
    steps = np.diff(curve) if direction == "maximize" else -np.diff(curve)
    assert np.all(steps >= -1e-9)  # more trials never make the median best worse
