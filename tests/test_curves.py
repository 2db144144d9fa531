"""Learning-curve extrapolation core: known answers, invariances, calibration, the stopping rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tune_extras.curves import (
    DEFAULT_SCALE,
    DEFAULT_SETTINGS,
    Curve,
    CurveSettings,
    ExtrapolationRule,
    conformal_level,
    conformal_scale,
    curve_scores,
    default_shapes,
    extrapolate,
    interval_score,
    lognormal_scale,
)
from tune_extras.curves._population import (
    leave_one_out_probabilities,
    pairs_at,
    population_probability,
)

NO_WARMUP = CurveSettings(warmup_fraction=0.0)

T = np.arange(1, 31, dtype=float)


# ------------------------------------------------------------------------- known closed forms
@pytest.mark.parametrize(
    ("curve", "truth"),
    [
        # pow3 with an exponent on the grid (geomspace(0.05, 4, 32)[20] = 0.8435...)
        (
            0.2 + 0.8 * T ** -np.geomspace(0.05, 4, 32)[20],
            0.2 + 0.8 * 100 ** -np.geomspace(0.05, 4, 32)[20],
        ),
        # exponential decay, tau on the grid (relative to the target step 100)
        (
            0.1 + 0.5 * np.exp(-T / 100 / np.geomspace(0.01, 3, 20)[8]),
            0.1 + 0.5 * np.exp(-1 / np.geomspace(0.01, 3, 20)[8]),
        ),
        # a converged flat curve, and one flat at zero (e.g. a training loss of 0)
        (np.full(30, 0.37), 0.37),
        (np.zeros(30), 0.0),
    ],
)
def test_noise_free_curves_on_the_grid_are_extrapolated_exactly(
    curve: np.ndarray, truth: float
) -> None:
    prediction = extrapolate(T, curve, target_step=100, settings=NO_WARMUP)
    assert prediction.mean == pytest.approx(truth, abs=1e-6)
    low, high = prediction.interval(0.9)
    assert low - 1e-6 <= truth <= high + 1e-6


def test_off_grid_power_law_is_close_and_inside_its_interval() -> None:
    loss = 0.2 + 0.8 * T**-0.7
    truth = 0.2 + 0.8 * 100**-0.7
    prediction = extrapolate(T, loss, target_step=100)
    assert prediction.mean == pytest.approx(truth, abs=0.005)
    low, high = prediction.interval(0.9)
    assert low < truth < high


def test_noisy_power_law_interval_contains_the_truth() -> None:
    rng = np.random.default_rng(0)
    loss = 0.3 + 0.5 * T**-0.5 + 0.005 * rng.standard_normal(T.size)
    truth = 0.3 + 0.5 * 100**-0.5
    prediction = extrapolate(T, loss, target_step=100).with_scale(DEFAULT_SCALE)
    low, high = prediction.interval(0.9)
    assert low < truth < high
    assert high - low < 0.1  # informative: the curve still has 0.05 to travel


def test_overfitting_curve_is_predicted_to_rise() -> None:
    """A validation loss past its minimum (non-monotone): the prediction rises, and covers."""
    rng = np.random.default_rng(0)
    loss = 0.3 + 0.5 / T + 0.004 * T + 0.003 * rng.standard_normal(T.size)
    truth = 0.3 + 0.5 / 60 + 0.004 * 60
    prediction = extrapolate(T, loss, 60).with_scale(DEFAULT_SCALE)
    low, high = prediction.interval(0.9)
    assert prediction.mean > loss[-3:].mean() + 0.02
    assert low < truth < high


def test_flat_warm_up_is_left_out_of_the_fit() -> None:
    """Three flat warm-up epochs, then a power-law decay: the first 10% of points are skipped."""
    rng = np.random.default_rng(0)
    loss = np.where(T <= 3, 2.3, 0.2 + 2.0 * T**-0.6) + 0.005 * rng.standard_normal(T.size)
    truth = 0.2 + 2.0 * 100**-0.6
    skipped = extrapolate(T, loss, 100).with_scale(DEFAULT_SCALE)
    kept = extrapolate(T, loss, 100, settings=NO_WARMUP).with_scale(DEFAULT_SCALE)
    low, high = skipped.interval(0.9)
    assert low < truth < high
    assert high - low < 0.25 * np.subtract(*kept.interval(0.9)[::-1])


# ----------------------------------------------------------------------------- invariances
@settings(max_examples=30, deadline=None)
@given(
    alpha=st.floats(0.1, 2.0),
    shift=st.floats(-100, 100),
    factor=st.floats(0.01, 100),
    seed=st.integers(0, 1000),
)
# Was: the std off by 1.6e-4 (relative), E[Y^2] - E[Y]^2 cancelling at a shift 1e4 times the scale.
@example(alpha=1.5625, shift=99.0, factor=0.01, seed=0)
def test_prediction_is_equivariant_to_affine_maps_and_direction(
    alpha: float, shift: float, factor: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    y = 1.0 + T**-alpha + 0.01 * rng.standard_normal(T.size)
    base = extrapolate(T, y, 60)
    mapped = extrapolate(T, shift + factor * y, 60)
    flipped = extrapolate(T, -y, 60)
    assert mapped.mean == pytest.approx(shift + factor * base.mean, rel=1e-6, abs=1e-6 * factor)
    assert mapped.std == pytest.approx(factor * base.std, rel=1e-8)
    assert flipped.mean == pytest.approx(-base.mean, rel=1e-9, abs=1e-12)
    q = np.array([0.05, 0.5, 0.95])
    np.testing.assert_allclose(flipped.ppf(q), -base.ppf(1 - q), rtol=1e-6, atol=1e-9)


def test_prediction_depends_on_relative_time_only() -> None:
    y = 0.5 + T**-0.6
    a = extrapolate(T, y, 90)
    b = extrapolate(T * 1000, y, 90_000)
    assert a.mean == pytest.approx(b.mean, rel=1e-9)
    assert a.interval() == pytest.approx(b.interval(), rel=1e-9)


def test_order_of_points_does_not_matter() -> None:
    rng = np.random.default_rng(1)
    y = 0.5 + T**-0.6 + 0.01 * rng.standard_normal(T.size)
    order = rng.permutation(T.size)
    assert extrapolate(T[order], y[order], 50).mean == pytest.approx(extrapolate(T, y, 50).mean)


@settings(max_examples=20, deadline=None)
@given(q=st.floats(0.001, 0.999), seed=st.integers(0, 100), scale=st.floats(0.2, 5))
def test_cdf_inverts_ppf(q: float, seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    y = 0.5 + T**-0.6 + 0.02 * rng.standard_normal(T.size)
    prediction = extrapolate(T, y, 50).with_scale(scale)
    assert float(prediction.cdf(prediction.ppf(q))) == pytest.approx(q, abs=1e-7)


def test_scale_stretches_intervals_around_the_mean() -> None:
    rng = np.random.default_rng(2)
    p = extrapolate(T, 1 + T**-0.5 + 0.01 * rng.standard_normal(T.size), 80)
    low, high = p.interval()
    low2, high2 = p.with_scale(2.0).interval()
    assert high2 - p.mean == pytest.approx(2 * (high - p.mean), rel=1e-6)
    assert p.mean - low2 == pytest.approx(2 * (p.mean - low), rel=1e-6)
    assert p.with_scale(2.0).std == pytest.approx(2 * p.std)


def test_long_curves_are_binned_with_their_noise_kept() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(1, 2001, dtype=float)
    y = 0.2 + t**-0.4 + 0.01 * rng.standard_normal(t.size)
    binned = extrapolate(t, y, 5000)
    exact = extrapolate(t, y, 5000, settings=CurveSettings(max_points=10_000))
    assert binned.mean == pytest.approx(exact.mean, abs=0.002)
    assert binned.std == pytest.approx(exact.std, rel=0.3)


# --------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("steps", "values", "target", "message"),
    [
        ([1, 2, 3, 4], [1, 0.5, np.nan, 0.3], 10, "finite"),
        ([1, 2, 3], [1, 0.5, 0.4], 10, "at least 4"),
        ([1, 2, 3, 4], [1, 0.5, 0.4, 0.3], 3, "target_step"),
        ([0, 1, 2, 3], [1, 0.5, 0.4, 0.3], 10, "> 0"),
        ([1, 2, 3, 4], [1, 0.5, 0.4], 10, "differ in length"),
    ],
)
def test_bad_curves_are_rejected_with_the_reason(
    steps: list[float], values: list[float], target: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        extrapolate(steps, values, target)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"warmup_fraction": 1.0}, "warmup_fraction"),
        ({"evidence_power": 0}, "evidence_power"),
        ({"discrepancy": -1}, "discrepancy"),
        ({"discrepancy": "0.5"}, "discrepancy"),
        ({"min_points": 2}, "min_points"),
        ({"min_points": True}, "min_points"),
        ({"max_points": 3}, "max_points"),
        ({"default_scale": 0}, "default_scale"),
        ({"fractions": (0.3, 0.1)}, "fractions"),
        ({"fractions": (0.1, 1.0)}, "fractions"),
    ],
)
def test_settings_validate_every_constant(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CurveSettings(**kwargs)


def test_settings_reach_the_model() -> None:
    y = 0.5 + T**-0.6 + 0.01 * np.sin(T)
    base = extrapolate(T, y, 60)
    assert extrapolate(T, y, 60, settings=DEFAULT_SETTINGS).mean == base.mean
    wider = extrapolate(T, y, 60, settings=CurveSettings(discrepancy=2.0))
    assert wider.mean == pytest.approx(base.mean, rel=0.05) and wider.std > base.std
    with pytest.raises(ValueError, match="at least 6 points"):
        extrapolate(T[:5], y[:5], 60, settings=CurveSettings(min_points=6))


def test_family_grid() -> None:
    shapes = default_shapes()
    assert len(shapes) == 109
    u = np.linspace(0.01, 1, 50)
    for shape in shapes:
        values = shape(u)
        assert np.all(np.isfinite(values)), shape


# ------------------------------------------------------------------------------- calibration
def test_conformal_scale_known_answers() -> None:
    assert conformal_scale(list(range(1, 20)), 0.9) == 18.0  # ceil(20 * 0.9) = 18th smallest
    assert conformal_scale([3.0] * 8, 0.9) is None  # 9 scores needed at 90%
    assert conformal_scale([5, 1, 4, 2, 3, 9, 8, 7, 6], 0.9) == 9.0


def test_weighted_conformal_and_small_sample_scales_known_answers() -> None:
    scores = [1.0, 2.0, 3.0, 4.0]
    # Weights 1: shares 1/5, 2/5, 3/5, 4/5 (the new curve's weight 1 at infinity): none reaches 0.9.
    assert conformal_scale(scores, 0.9, [1, 1, 1, 1]) is None
    assert conformal_scale(scores, 0.5, [1, 1, 1, 1]) == 3.0  # 3/5 >= 0.5
    # Equal weights give the unweighted quantile.
    many = list(range(1, 20))
    assert conformal_scale(many, 0.9, [1.0] * 19) == conformal_scale(many, 0.9) == 18.0
    # A heavy score counts more: weights (0.1, 0.1, 0.1, 4) put 4.3/5.3 = 0.81 below 4.0.
    assert conformal_scale(scores, 0.85, [0.1, 0.1, 0.1, 4.0]) is None
    assert conformal_scale(scores, 0.8, [0.1, 0.1, 0.1, 4.0]) == 4.0
    assert conformal_scale(scores, 0.05, [0.1, 0.1, 0.1, 4.0]) == 3.0  # 0.3 / 5.3 >= 0.05
    # Log-normal bound: exp(mean + t_{0.9, n-1} sd sqrt(1 + 1/n)) on log-scores.
    from scipy import stats

    logs = np.log(scores)
    expected = math.exp(logs.mean() + stats.t.ppf(0.9, 3) * logs.std(ddof=1) * math.sqrt(1.25))
    assert lognormal_scale(scores, 0.9) == pytest.approx(expected, rel=1e-12)
    assert lognormal_scale([1.0, 2.0], 0.9) is None
    assert lognormal_scale(scores, 0.9, [0.2, 0.2, 0.2, 0.2]) is not None  # n_eff = 4


def test_conformal_level_known_answers() -> None:
    values = [float(v) / 100 for v in range(1, 40)]  # 39 values: floor(40 * 0.025) = 1st
    assert conformal_level(values, 0.025) == 0.01
    assert conformal_level(values[:38], 0.025) is None  # 38 values: floor(39 * 0.025) = 0
    assert conformal_level(values[:19], 0.05) == 0.01


def test_interval_score_is_the_scale_that_reaches_the_final_value() -> None:
    p = extrapolate(T, 0.5 + T**-0.6 + 0.01 * np.sin(T), 60)
    low, high = p.interval(0.9)
    assert interval_score(p, high) == pytest.approx(1.0, rel=1e-6)
    assert interval_score(p, p.mean - 2 * (p.mean - low)) == pytest.approx(2.0, rel=1e-6)
    assert interval_score(p, p.mean) == 0.0


def _prior_curves(n: int, seed: int) -> list[np.ndarray]:
    """Curves from a prior like LC-PFN's: pow3 / exponential / log-sigmoid with Gaussian noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, 51, dtype=float)
    curves = []
    for _ in range(n):
        final, scale, noise = rng.uniform(0.1, 0.5), rng.uniform(0.2, 1.0), rng.uniform(0.002, 0.02)
        kind = rng.integers(3)
        if kind == 0:
            shape = t ** -rng.uniform(0.2, 1.5)
        elif kind == 1:
            shape = np.exp(-t / rng.uniform(3, 30))
        else:
            shape = 1 / (1 + (t / rng.uniform(2, 20)) ** rng.uniform(1, 3))
        curves.append(final + scale * shape + noise * rng.standard_normal(t.size))
    return curves


def _mean_split_coverage(scores: np.ndarray, n_calibration: int, splits: int = 20) -> float:
    """Coverage of the other curves by the 90% conformal scale of ``n_calibration``, averaged."""
    coverages = []
    for seed in range(splits):
        order = np.random.default_rng(seed).permutation(scores.size)
        scale = conformal_scale(scores[order[:n_calibration]], 0.9)
        assert scale is not None
        coverages.append(float(np.mean(scores[order[n_calibration:]] <= scale)))
    return float(np.mean(coverages))


def test_coverage_of_calibrated_intervals_on_seeded_curves() -> None:
    """90% intervals from 30% prefixes of 400 seeded curves from a prior unlike the training set.

    Default scale: coverage 0.82-1 (it was set on other curves; measured 0.88 on 1,000 of these).
    Conformal scale from 40 curves, averaged over 20 random splits: 0.87-0.95 (split conformal
    promises >= 0.9 on average; each split's coverage has a standard deviation of about 0.04).
    """
    scores = np.array(
        [curve_scores(np.arange(1, 51), c, fractions=(0.3,))[0.3] for c in _prior_curves(400, 1)]
    )
    assert 0.82 <= float(np.mean(scores <= DEFAULT_SCALE)) <= 1.0
    assert 0.87 <= _mean_split_coverage(scores, 40) <= 0.95


def test_coverage_on_recorded_deberta_curves(opda_available: bool) -> None:
    """Real curves (DeBERTa, opda), 30% prefixes: conformal scale from 20 runs, 20 random splits.

    Mean coverage of the other runs 0.86-0.96 (split conformal promises >= 0.9 on average).
    """
    from benchmarks.problems import OpdaReplay

    curves = [
        c for c in OpdaReplay("deberta-base").curves if c.size >= 20 and np.all(np.isfinite(c))
    ]
    chosen = np.random.default_rng(0).permutation(len(curves))[:300]
    scores = np.array(
        [
            curve_scores(np.arange(1, curves[i].size + 1), curves[i], fractions=(0.3,))[0.3]
            for i in chosen
        ]
    )
    assert 0.86 <= _mean_split_coverage(scores, 20) <= 0.96


# ------------------------------------------------------------------------------ the rule
def _finished(n: int = 12) -> list[Curve]:
    return [Curve(i, T, 0.1 + 0.02 * i + T**-0.5) for i in range(n)]


def test_rule_stops_a_clearly_worse_curve_and_keeps_a_better_one() -> None:
    rule = ExtrapolationRule("minimize")
    bad = rule.decide(Curve("bad", T[:8], 0.6 + T[:8] ** -0.5), 30, _finished())
    good = rule.decide(Curve("good", T[:8], 0.05 + T[:8] ** -0.5), 30, _finished())
    assert bad.stop and bad.probability is not None and bad.probability < 0.025
    assert not good.stop and good.probability is not None and good.probability > 0.5
    assert good.reference == pytest.approx(0.1 + 30**-0.5)
    assert good.prediction is not None and good.prediction.mean < good.reference


def test_before_four_points_the_population_estimate_decides_alone() -> None:
    rule = ExtrapolationRule("minimize")
    short = rule.decide(Curve("short", T[:3], 0.6 + T[:3] ** -0.5), 30, _finished())
    assert short.curve_probability is None and short.prediction is None
    assert short.population_probability is not None and short.population_probability < 0.05
    assert short.stop  # tested against threshold, not threshold / 2: one estimate only
    better = rule.decide(Curve("better", T[:3], 0.09 + T[:3] ** -0.5), 30, _finished())
    assert better.population_probability is not None and better.population_probability > 0.5
    assert not better.stop


def test_rule_for_maximisation_mirrors_minimisation() -> None:
    minimize = ExtrapolationRule("minimize")
    maximize = ExtrapolationRule("maximize")
    finished = _finished()
    mirrored = [Curve(c.key, c.steps, -np.asarray(c.values)) for c in finished]
    for offset in (0.05, 0.12, 0.2, 0.6):
        curve = offset + T[:8] ** -0.5
        a = minimize.decide(Curve("x", T[:8], curve), 30, finished)
        b = maximize.decide(Curve("x", T[:8], -curve), 30, mirrored)
        assert a.stop == b.stop
        assert a.probability == pytest.approx(b.probability)
        assert b.prediction is not None and a.prediction is not None
        assert b.prediction.mean == pytest.approx(-a.prediction.mean)


def test_rule_waits_for_finished_trials_and_warmup() -> None:
    rule = ExtrapolationRule("minimize", min_finished=3, min_step=5)
    worse = Curve("w", T[:8], 5 + T[:8] ** -0.5)
    assert not rule.decide(worse, 30, _finished(2)).stop
    assert not rule.decide(Curve("w", T[:4], 5 + T[:4] ** -0.5), 30, _finished()).stop
    assert rule.decide(worse, 30, _finished()).stop
    assert not rule.decide(Curve("w", T, 5 + T**-0.5), 30, _finished()).stop  # at its end


def test_rule_stops_diverged_curves() -> None:
    decision = ExtrapolationRule().decide(Curve("nan", [1, 2], [1.0, math.nan]), 30, [])
    assert decision.stop and "diverged" in decision.reason


def test_rank_compares_with_the_kth_best() -> None:
    finished = _finished()
    curve = Curve("x", T[:10], 0.13 + T[:10] ** -0.5)  # between the 2nd and 3rd best
    first = ExtrapolationRule(rank=1).decide(curve, 30, finished)
    third = ExtrapolationRule(rank=3).decide(curve, 30, finished)
    assert first.reference == pytest.approx(0.1 + 30**-0.5)
    assert third.reference == pytest.approx(0.14 + 30**-0.5)
    assert first.probability is not None and third.probability is not None
    assert third.probability > first.probability


def test_steps_from_zero_count_one_more_unit() -> None:
    rule = ExtrapolationRule(min_finished=1)
    finished = [Curve(0, T - 1, 0.1 + T**-0.5)]
    zero_based = rule.decide(Curve(1, T[:8] - 1, 0.3 + T[:8] ** -0.5), 29, finished)
    one_based = ExtrapolationRule(min_finished=1).decide(
        Curve(1, T[:8], 0.3 + T[:8] ** -0.5), 30, [Curve(0, T, 0.1 + T**-0.5)]
    )
    assert zero_based.probability == pytest.approx(one_based.probability)


def _noisy(n: int, length: int = 30) -> list[Curve]:
    t = np.arange(1, length + 1, dtype=float)
    return [
        Curve(i, t, 0.3 + t**-0.5 + 0.02 * np.random.default_rng(i).standard_normal(t.size))
        for i in range(n)
    ]


def test_study_calibration_uses_every_curve_that_ended() -> None:
    rule = ExtrapolationRule()
    noisy = _noisy(40)
    scores = [curve_scores(T, np.asarray(c.values), 0.9, fractions=(0.3,))[0.3] for c in noisy]
    assert rule.scale(0.3, []) == DEFAULT_SCALE
    # Two scores: the default, widened by any curve it would have missed.
    assert rule.scale(0.3, noisy[:2]) == max(DEFAULT_SCALE, *scores[:2])
    # Five: the log-normal bound (no conformal quantile at 90% below 9 scores).
    assert rule.scale(0.3, noisy[:5]) == pytest.approx(lognormal_scale(scores[:5], 0.9))
    # Forty: split conformal at 90%, the 37th smallest score (ceil(41 * 0.9)).
    assert rule.scale(0.31, noisy) == pytest.approx(sorted(scores)[36])
    assert ExtrapolationRule(calibration="fixed").scale(0.3, noisy) == DEFAULT_SCALE
    # Stopped curves calibrate at their own horizon: a curve stopped at step 15 of a 30-step run
    # is a curve of 15 points whose 30% prefix predicts its step 15.
    stopped = [Curve(("s", c.key), c.steps[:15], c.values[:15]) for c in noisy]
    short = [
        curve_scores(T[:15], np.asarray(c.values)[:15], 0.9, fractions=(0.3,))[0.3] for c in noisy
    ]
    assert rule.scale(0.3, [], stopped) == pytest.approx(sorted(short)[36])
    # ... and count half as much for a 30-step target: 40 weights of 0.5 still make a quantile.
    weighted = conformal_scale(short, 0.9, [0.5] * 40)
    assert rule.scale(0.3, [], stopped, horizon=30) == pytest.approx(weighted)


def test_levels_are_per_trial_and_fall_with_a_badly_predicted_trial() -> None:
    rule = ExtrapolationRule(threshold=0.05)
    assert rule.levels([]) == (0.025, 0.025)
    calm = _noisy(10)
    curve_level, population_level = rule.levels(calm)
    assert 0 < curve_level <= 0.025 and 0 < population_level <= 0.025
    # One finished trial that no prediction saw coming (a late drop): the curve level falls to
    # the probability its predictions gave to ending as well as it did.
    t = T
    late = Curve("late", t, np.where(t > 20, 0.05, 0.3 + t**-0.5))
    dropped, _ = rule.levels([*calm, late])
    assert dropped < 1e-3
    assert ExtrapolationRule(calibration="fixed").levels([*calm, late]) == (0.025, 0.025)


def test_per_trial_error_on_seeded_curves() -> None:
    """The guarantee checked by simulation: 400 seeded prior curves, 50 finished at a time.

    For each held-out curve, stop whenever its calibrated probability of ending at least as well
    as it did falls below the curve level at any calibration prefix: this happens for at most
    about 2.5% of the curves (measured 0.5-2%; 4% allowed for the spread over 8 splits).
    """
    curves = _prior_curves(400, 7)
    t = np.arange(1, 51, dtype=float)
    rates = []
    for split in range(8):
        order = np.random.default_rng(split).permutation(len(curves))
        finished = [Curve(int(i), t, curves[i]) for i in order[:50]]
        rule = ExtrapolationRule(calibration_window=50)
        level, _ = rule.levels(finished)
        misses = 0
        for i in order[50:150]:
            y = curves[i]
            for fraction in rule.settings.fractions:
                k = int(fraction * 50)
                if k < 4:
                    continue
                p = extrapolate(t[:k], y[:k], 50).with_scale(rule.scale(k / 50, finished))
                if float(p.cdf(y[-1])) < level:
                    misses += 1
                    break
        rates.append(misses / 100)
    assert np.mean(rates) <= 0.04


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"direction": "up"}, "direction"),
        ({"threshold": 0}, "threshold"),
        ({"rank": 0}, "rank"),
        ({"direction": "min"}, "direction"),
        ({"threshold": "0.05"}, "threshold must be a finite number"),
        ({"rank": True}, "rank"),
        ({"min_finished": 0}, "min_finished"),
        ({"min_step": -1}, "min_step"),
        ({"calibration": "auto"}, "calibration"),
        ({"settings": {"discrepancy": 1}}, "settings"),
        ({"min_population": 2}, "min_population"),
        ({"calibration_window": 10}, "calibration_window"),
    ],
)
def test_rule_validates_its_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExtrapolationRule(**kwargs)


# -------------------------------------------------------------------------------- population
def test_pairs_are_taken_at_the_same_relative_time_of_each_run() -> None:
    """Regression: a finished run shorter than the current step was paired as (final, final)."""
    short = (np.arange(1, 11, dtype=float), np.linspace(1.0, 0.1, 10))
    long = (np.arange(1, 101, dtype=float), np.linspace(2.0, 0.0, 100))
    assert pairs_at(0.5, [short, long]) == [(0.6, 0.1), (pytest.approx(1.0101, abs=1e-4), 0.0)]
    assert pairs_at(0.01, [short]) == []  # no report by then: no pair


def test_long_climbing_run_is_not_stopped_by_shorter_finished_runs() -> None:
    """The issue's case: accuracy runs of 10 epochs finished; a 100-epoch run at epoch 20."""
    rule = ExtrapolationRule("maximize")
    finished = []
    for j in range(8):
        t = np.arange(1, 11, dtype=float)
        finished.append(Curve(j, t, 0.8 + 0.01 * j - 0.5 * np.exp(-t / 3)))
    t = np.arange(1, 21, dtype=float)
    running = Curve("long", t, 0.9 - 0.5 * np.exp(-t / 30))  # ends near 0.9 at epoch 100
    decision = rule.decide(running, 100, finished)
    assert not decision.stop
    assert decision.population_probability is not None and decision.population_probability > 0.5
    assert decision.curve_probability is not None and decision.curve_probability > 0.5


def test_leave_one_out_probabilities_match_refitting() -> None:
    rng = np.random.default_rng(0)
    x = rng.random(12)
    pairs = list(zip(x, 0.5 * x + 0.1 * rng.standard_normal(12), strict=True))
    refit = [
        population_probability(x_j, pairs[:j] + pairs[j + 1 :], z_j)
        for j, (x_j, z_j) in enumerate(pairs)
    ]
    np.testing.assert_allclose(leave_one_out_probabilities(pairs), refit, atol=1e-12)
    assert leave_one_out_probabilities(pairs[:5]).size == 0


def test_a_reused_key_with_another_curve_is_rebuilt() -> None:
    """Regression (stale state): cached curves are checked, not trusted, when a key comes back."""
    rule = ExtrapolationRule(min_finished=1)
    old = [Curve(("study", 0), T, 0.1 + T**-0.5)]
    new = [Curve(("study", 0), T, 0.6 + T**-0.5)]  # same key, a new study's trial
    running = Curve("r", T[:10], 0.3 + T[:10] ** -0.5)
    assert rule.decide(running, 30, old).reference == pytest.approx(0.1 + 30**-0.5)
    assert rule.decide(running, 30, new).reference == pytest.approx(0.6 + 30**-0.5)
    assert not rule.decide(running, 30, new).stop


def test_population_line_stops_only_when_order_persists() -> None:
    rng = np.random.default_rng(0)
    now = rng.uniform(0.5, 1.0, 20)
    persistent = [(x, 0.5 * x + 0.005 * rng.standard_normal()) for x in now]
    # Curves that cross: slow starters (worse now) end better.
    crossing = [(x, 0.6 - 0.3 * x + 0.005 * rng.standard_normal()) for x in now]
    reference = min(z for _, z in persistent)
    assert population_probability(2.0, persistent, reference) < 1e-6
    assert population_probability(0.5, persistent, reference) > 0.05
    p_crossing = population_probability(2.0, crossing, min(z for _, z in crossing))
    assert p_crossing is not None and p_crossing > 0.5
    assert population_probability(2.0, persistent[:4], reference) is None


# ------------------------------------------------------------------------------------ fuzzing
_values = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(_values, min_size=4, max_size=60),
    extra=st.floats(0, 10),
    seed=st.integers(0, 100),
)
# Was: a median below the 5% quantile (Brent's absolute tolerance 1e-13 on a 1e-138 scale).
@example(values=[2.291388676992617e-138, 0.0, 0.0, 0.0], extra=0.0, seed=0)
def test_any_finite_curve_gives_a_proper_prediction(
    values: list[float], extra: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    steps = np.cumsum(rng.uniform(0.5, 2.0, len(values)))
    prediction = extrapolate(steps, values, steps[-1] * (1 + extra))
    assert np.isfinite(prediction.mean)
    assert abs(prediction.weights.sum() - 1) < 1e-9
    low, high = prediction.interval(0.9)
    assert low <= prediction.ppf(0.5) <= high
    grid = np.linspace(low - 1, high + 1, 7)
    cdf = prediction.cdf(grid)
    assert np.all(np.diff(cdf) >= -1e-12) and np.all((cdf >= 0) & (cdf <= 1))


@settings(max_examples=30, deadline=None)
@given(
    running=st.lists(_values, min_size=1, max_size=30),
    finished=st.lists(st.lists(_values, min_size=1, max_size=30), min_size=0, max_size=12),
    direction=st.sampled_from(["minimize", "maximize"]),
)
def test_rule_decides_on_any_finite_curves(
    running: list[float], finished: list[list[float]], direction: str
) -> None:
    rule = ExtrapolationRule(direction)
    curves = [Curve(i, np.arange(1, len(c) + 1), c) for i, c in enumerate(finished)]
    decision = rule.decide(Curve("run", np.arange(len(running)), running), 40, curves)
    assert isinstance(decision.stop, bool) and decision.reason
    if decision.probability is not None:
        assert 0.0 <= decision.probability <= 1.0
    pairs = [
        (decision.curve_probability, decision.curve_level),
        (decision.population_probability, decision.population_level),
    ]
    if (
        decision.probability is not None
        and decision.reason != "the curve has diverged (NaN or inf)"
    ):
        for _, level in pairs:  # per-trial levels never exceed threshold / 2
            assert level is not None and 0 <= level <= rule.threshold / 2
        assert decision.stop == any(p is not None and p < level for p, level in pairs)
