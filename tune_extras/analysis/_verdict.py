"""From a tail fit to the numbers a person reads: clipped to what is possible, or replaced by words.

Everything is computed in *loss units* ``u = s * y`` (``s = 1`` when minimising, ``-1`` when
maximising), where smaller is better, and turned back at the end. Three limits apply to every
estimate, interval end and band:

* the physical bounds of the objective (:mod:`tune_extras.analysis._bounds`);
* an envelope from the data: nothing is reported worse than the worst observed value (a best-of-n
  value never is), nor better than the best observed value minus the observed range (a random-search
  tail that would need such an extrapolation is not informative there);
* an open interval end (the fit could not bound it) is reported as missing with a sentence.

The verdict sentences follow Lourie, He & Cho 2025 (arXiv 2510.02721): the expected best of ``n``
random trials comes from the fitted noisy quadratic law, and the share of the search space within
``eps`` of the optimum is the noiseless law's ``P(loss <= a + eps) = (eps / (b - a))^(c / 2)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tune_extras._validation import loss_sign
from tune_extras.analysis._bounds import Bounds
from tune_extras.analysis._quantity import MAX_TRIALS, Quantity, fmt, fmt_trials
from tune_extras.surface import GOF_LEVEL, NearOptimumFit

#: How many of the best observed values are compared with the noise.
TOP_K = 5


@dataclass(frozen=True)
class Target:
    """Trials for a 50% chance that the best configuration's expected value is within ``epsilon``."""

    epsilon: float
    trials: int | None
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon, "trials": self.trials, "note": self.note}


@dataclass(frozen=True)
class Findings:
    """The sanitised numbers of a report and the verdict sentences."""

    best_possible: Quantity
    effective_dimension: Quantity
    sigma: float  # 0 when the noise is not detected
    sigma_high: float | None  # how large an undetected noise can be; None: the data cannot say
    observed_now: Quantity
    observed_after: Quantity
    gain: Quantity
    targets: tuple[Target, ...]
    region_share: float | None
    region_epsilon: float | None
    top_spread: float
    top_count: int
    top_within_noise: bool | None
    coarse: bool
    coarse_reason: str | None
    noise_explanation: str
    verdict: tuple[str, ...]
    curve: dict[str, np.ndarray] = field(repr=False)
    curve_notes: tuple[str, ...] = ()


class _Space:
    """Loss-unit helpers: sign, bounds, envelope and side words for one direction."""

    def __init__(self, y: np.ndarray, direction: str, bounds: Bounds, n_worse: int = 0) -> None:
        self.s = loss_sign(direction)
        self.word = "loss" if direction == "minimize" else "score"
        u = self.s * y
        self.best, self.worst = float(u.min()), float(u.max())
        self.span = self.worst - self.best
        lo, hi = (bounds.lo, bounds.hi) if self.s > 0 else (-bounds.hi, -bounds.lo)
        self.bound_lo, self.bound_hi = lo, hi
        self.env_lo = max(lo, self.best - self.span)
        # Pruned trials were worse than every completed one, by an unknown amount.
        self.env_hi = min(hi, self.worst + (self.span if n_worse else 0.0))
        # words for the better / worse side in the user's units
        self.better_side = "below" if self.s > 0 else "above"
        self.worse_side = "above" if self.s > 0 else "below"

    def out(self, u: float) -> float:
        return float(self.s * u)

    def clip(self, u: np.ndarray) -> np.ndarray:
        finite = np.nan_to_num(u, nan=self.env_hi, posinf=self.env_hi, neginf=self.env_lo)
        return np.asarray(np.clip(finite, self.env_lo, self.env_hi))

    def quantity(
        self, estimate: float, low: float, high: float, level: float, what: str
    ) -> Quantity:
        """A loss-unit estimate and interval -> a user-unit :class:`Quantity` within the limits."""
        notes: list[str] = []
        est: float | None = estimate
        if not math.isfinite(estimate) or estimate < self.env_lo:
            if math.isfinite(self.bound_lo) and self.bound_lo >= self.best - self.span:
                est = self.bound_lo
                notes.append(f"{what}: the fit's estimate lies past the bound "
                             f"{fmt(self.out(self.bound_lo))}, reported at the bound")
            else:
                est = None
                notes.append(f"{what}: the fit extrapolates far beyond the observed values "
                             "(more than their whole range), so it is not reported")
        elif estimate > self.env_hi:
            est = self.env_hi
        lo_u: float | None = low
        if not math.isfinite(low) or low < self.env_lo:
            if math.isfinite(self.bound_lo) and self.bound_lo >= self.best - self.span:
                lo_u = self.bound_lo
            else:
                lo_u = None
                notes.append(f"{what}: the data cannot bound it from {self.better_side}")
        hi_u: float | None = high
        if not math.isfinite(high):
            hi_u = None
            notes.append(f"{what}: the data cannot bound it from {self.worse_side}")
        else:
            hi_u = min(high, self.env_hi)
        if est is not None:
            lo_u = None if lo_u is None else min(lo_u, est)
            hi_u = None if hi_u is None else max(hi_u, est)
        if self.s > 0:
            return Quantity(est, lo_u, hi_u, level, tuple(notes))
        return Quantity(
            None if est is None else -est,
            None if hi_u is None else -hi_u,
            None if lo_u is None else -lo_u,
            level,
            tuple(notes),
        )


#: Parameter draws behind every band (pointwise 2.5%/97.5% quantiles of 60 draws).
BAND_DRAWS = 60


def expected_gain(dist: Any, best: float, floor: float, extra: int, s: float) -> float:
    """Expected improvement of the best observed value ``best`` from ``extra`` more trials.

    In loss units (``s`` the sign, ``floor`` the lowest possible loss):
    ``E[(best - min of extra new)^+] = int_floor^best 1 - (1 - F(t))^extra dt``, by the trapezoid
    rule on 257 points; values the law puts below ``floor`` count as ``floor``.
    """
    if not best > floor:
        return 0.0
    t = np.linspace(floor, best, 257)
    cdf = dist.cdf(t) if s > 0 else dist.sf(-t)
    cdf = np.clip(np.nan_to_num(np.asarray(cdf, dtype=float), nan=0.0), 0.0, 1.0)
    hit = -np.expm1(extra * np.log1p(-np.minimum(cdf, 1.0 - 1e-16)))
    return float(np.trapezoid(hit, t))


def _draw_bands(
    fit: Any,
    grid: np.ndarray,
    points: np.ndarray,
    confidence: float,
    seed: int,
    gain: Any,
) -> dict[str, np.ndarray]:
    """Pointwise ``(low, high)`` quantiles over parameter draws of the fit, in one pass.

    Keys: ``"curve"`` (median best of ``grid`` trials), ``"points"`` (median best of ``points``)
    and ``"gain"`` (``gain(dist)``: expected improvement of the best observed value).
    """
    rows: dict[str, list[np.ndarray]] = {"curve": [], "points": [], "gain": []}
    both = np.concatenate([grid, points])
    for dist in fit.parameter_draws(BAND_DRAWS, seed=seed):
        try:
            quantiles = np.asarray(dist.quantile_tuning_curve(both), dtype=float)
            improvement = gain(dist)
        except (ValueError, FloatingPointError, ZeroDivisionError):
            continue
        rows["curve"].append(quantiles[: grid.size])
        rows["points"].append(quantiles[grid.size :])
        rows["gain"].append(np.array([improvement]))
    alpha = 1.0 - confidence
    out = {}
    for key, size in (("curve", grid.size), ("points", points.size), ("gain", 1)):
        if not rows[key]:
            out[key] = np.full((2, size), np.nan)
            continue
        array = np.array(rows[key])
        with np.errstate(all="ignore"):
            out[key] = np.array(
                [np.nanquantile(array, alpha / 2, axis=0),
                 np.nanquantile(array, 1 - alpha / 2, axis=0)]
            )
    return out


def _dimension(fit: NearOptimumFit, level: float, n_hyperparameters: int | None) -> Quantity:
    """The effective dimension, or a sentence when the fit sits at a cap that is not the number
    of hyperparameters searched (then ``c`` at the cap is an answer: all of them matter)."""
    low, high = fit.effective_dimension_interval.low, fit.effective_dimension_interval.high
    physical = n_hyperparameters is not None and int(high) >= n_hyperparameters
    cap = int(high) if fit.effective_dimension_open and not physical else None
    if cap is not None and fit.effective_dimension == cap:
        return Quantity(None, None, None, level, (
            f"the fit reached its limit of {cap} hyperparameters: the tail looks like noise "
            "alone, so how many hyperparameters matter cannot be told",
        ))
    if cap is not None:
        return Quantity(float(fit.effective_dimension), float(low), None, level, (
            f"effective hyperparameters: the data cannot bound it from above (the limit, {cap}, "
            "is not rejected)",
        ))
    return Quantity(float(fit.effective_dimension), float(low), float(high), level)


def findings(
    fit: NearOptimumFit,
    y: np.ndarray,
    n_worse: int,
    direction: str,
    bounds: Bounds,
    extra: int,
    horizon: int,
    confidence: float,
    seed: int,
    n_hyperparameters: int | None = None,
) -> Findings:
    """All the report's numbers and verdict sentences from a fit of the values ``y``
    (``n_hyperparameters``: the numeric hyperparameters searched, when known)."""
    space = _Space(y, direction, bounds, n_worse)
    s = space.s
    dist = fit.distribution
    n_obs = int(y.size + n_worse)
    level = confidence

    # --- best possible (noise-free) and effective dimension
    a_u = s * fit.best
    ends = sorted((s * fit.best_interval.low, s * fit.best_interval.high))
    best_possible = space.quantity(a_u, ends[0], ends[1], level, "best possible")
    effective_dimension = _dimension(fit, level, n_hyperparameters)
    sigma = 0.0 if fit.noiseless else float(fit.sigma)

    # --- what one can expect to observe (noise included)
    points = np.array([n_obs, n_obs + extra], dtype=float)
    grid = np.unique(np.round(np.geomspace(1, max(horizon, 2), 60)).astype(int)).astype(float)
    floor = space.env_lo
    bands = _draw_bands(
        fit, grid, points, confidence, seed,
        lambda d: expected_gain(d, space.best, floor, extra, s),
    )
    median = s * np.asarray(dist.quantile_tuning_curve(points), dtype=float)
    band = np.sort(s * bands["points"], axis=0)
    quantities = []
    for i in range(2):
        lo_i = float(band[0, i]) if np.isfinite(band[0, i]) else -math.inf
        hi_i = float(band[1, i]) if np.isfinite(band[1, i]) else math.inf
        quantities.append(
            space.quantity(float(median[i]), lo_i, hi_i, level, f"median best after {int(points[i])}")
        )
    observed_now, observed_after = quantities

    gains = np.sort(bands["gain"], axis=0)
    gain_est = expected_gain(dist, space.best, floor, extra, s)
    gain_est = min(max(gain_est, 0.0), space.span) if math.isfinite(gain_est) else 0.0
    g_lo, g_hi = float(gains[0, 0]), float(gains[1, 0])
    g_lo = min(max(g_lo, 0.0), gain_est) if math.isfinite(g_lo) else 0.0
    gain_notes: list[str] = []
    g_high: float | None
    # The best observed value cannot improve past the possible range.
    room = max(space.best - space.env_lo, 0.0)
    gain_est = min(gain_est, room)
    g_lo = min(g_lo, gain_est)
    if math.isfinite(g_hi) and g_hi <= space.span:
        g_high = max(min(g_hi, room), gain_est)
    else:
        g_high = None
        gain_notes.append("more trials' gain: the data cannot bound it from above")
    gain = Quantity(gain_est, g_lo, g_high, level, tuple(gain_notes))

    # --- targets: trials until the best configuration's expected value is within eps of the best
    noiseless = dist.noiseless()
    resolution = fit.resolution if math.isfinite(fit.resolution) else 0.0
    noise_floor = max(sigma, resolution)
    gap = abs(float(noiseless.quantile_tuning_curve(n_obs)) - dist.best)
    targets = []
    if math.isfinite(gap) and gap <= noise_floor:
        within = f"within {fmt(gap)}" if gap >= 0.01 * noise_floor else "a tiny fraction of the noise from"
        targets.append(Target(gap, None, (
            f"the best configuration of {n_obs} trials is expected {within} the best possible, "
            f"less than the evaluation noise (sigma = {fmt(noise_floor)}): closer targets cannot "
            "be told apart by single evaluations"
        )))
    # Halve and tenth the gap, but never below the noise: single evaluations cannot resolve that.
    epsilons = sorted({max(share * gap, noise_floor) for share in (0.5, 0.1)}, reverse=True)
    for epsilon in epsilons if gap > noise_floor else ():
        if not epsilon > 0 or not math.isfinite(epsilon):
            continue
        trials = noiseless.trials_to_reach(epsilon)
        if not math.isfinite(trials) or trials > MAX_TRIALS:
            targets.append(Target(epsilon, None, (
                f"within {fmt(epsilon)} of the best possible: more than 10^6 trials, not "
                "reachable by random search"
            )))
        else:
            targets.append(Target(epsilon, math.ceil(trials), None))

    # --- best region share, top configurations vs noise, coarse metric
    # Negligible noise (below 1% of the fitted range): "within noise" would be a point; use 1%.
    negligible = noise_floor < 0.01 * (dist.b - dist.a)
    region_eps = 0.01 * (dist.b - dist.a) if negligible else noise_floor
    region_share: float | None = None
    if region_eps > 0 and math.isfinite(region_eps):
        if s > 0:
            share_value = float(noiseless.cdf(dist.a + region_eps))
        else:
            share_value = float(noiseless.sf(dist.b - region_eps))
        if math.isfinite(share_value):
            region_share = min(max(share_value, 0.0), 1.0)
    top = np.sort(s * y)[: min(TOP_K, y.size)]
    top_spread = float(top[-1] - top[0])
    top_within: bool | None = None if sigma <= 0 else bool(top_spread <= 2.0 * sigma)
    coarse, coarse_reason = fit.coarse, fit.coarse_reason

    # --- tuning curve over a log grid, clipped and with the band around the median
    curve_median = space.clip(s * np.asarray(dist.quantile_tuning_curve(grid), dtype=float))
    curve_expected = space.clip(s * np.asarray(dist.expected_tuning_curve(grid), dtype=float))
    curve_band = np.sort(s * bands["curve"], axis=0)
    raw_low, raw_high = curve_band[0], curve_band[1]
    curve_notes: list[str] = []
    if np.any(~np.isfinite(raw_low) | (raw_low < space.env_lo)) or np.any(
        ~np.isfinite(raw_high) | (raw_high > space.env_hi)
    ):
        curve_notes.append(
            "the band is cut at the possible range (physical bounds, and the observed values' "
            "range beyond the best one)"
        )
    band_low = np.minimum(space.clip(raw_low), curve_median)
    band_high = np.maximum(space.clip(raw_high), curve_median)
    if s < 0:
        band_low, band_high = -band_high, -band_low
    curve = {
        "n": grid,
        "median": s * curve_median,
        "expected": s * curve_expected,
        "band_low": band_low,
        "band_high": band_high,
    }

    # An undetected noise as large as the tail's spread is not bounded by the data at all.
    sigma_high = fit.sigma_high if fit.sigma_high < abs(fit.threshold - dist.best) else None
    noise_explanation = _noise_sentence(space, best_possible, sigma, sigma_high)
    verdict = _verdict_sentences(
        space, extra, gain, top_spread, len(top), top_within, sigma, region_share, region_eps,
        0.0 if negligible else noise_floor, coarse, coarse_reason,
    )
    if fit.threshold_rule == "auto" and fit.ks_pvalue < GOF_LEVEL:
        verdict = (
            "no tail of these values looks like the bottom of a bowl-shaped loss surface (the "
            f"goodness-of-fit test rejects every threshold; KS p = {fit.ks_pvalue:.2g} on the "
            f"best {fit.n_tail}): the estimates below are unreliable",
            *verdict,
        )
    return Findings(
        best_possible=best_possible,
        effective_dimension=effective_dimension,
        sigma=sigma,
        sigma_high=sigma_high,
        observed_now=observed_now,
        observed_after=observed_after,
        gain=gain,
        targets=tuple(targets),
        region_share=region_share,
        region_epsilon=region_eps if region_share is not None else None,
        top_spread=top_spread,
        top_count=len(top),
        top_within_noise=top_within,
        coarse=coarse,
        coarse_reason=coarse_reason,
        noise_explanation=noise_explanation,
        verdict=verdict,
        curve=curve,
        curve_notes=tuple(curve_notes),
    )


def _noise_sentence(
    space: _Space, best_possible: Quantity, sigma: float, sigma_high: float | None
) -> str:
    word = space.word
    if sigma == 0.0:
        bound = (
            f"sigma at most {fmt(sigma_high)}" if sigma_high is not None
            else "the data cannot bound how large an undetected noise could be"
        )
        return (
            f"no evaluation noise was detected ({bound}); without noise each evaluation is the "
            f"configuration's expected {word}, so the best possible expected {word} is at least "
            f"as good as the best observed one, and the gap is what the search has not found yet"
        )
    base = (
        f"the best possible expected {word} is what the best configuration scores on average "
        "(noise-free); the best observed value is one noisy evaluation, picked as the luckiest of "
        "many, so it can be better than the best possible expected value"
    )
    if best_possible.estimate is not None and space.s * best_possible.estimate > space.best:
        base += (
            f": here the estimate is worse than the best observed {word} by "
            f"{fmt(space.s * best_possible.estimate - space.best)} (noise sigma = {fmt(sigma)})"
        )
    return base


def _verdict_sentences(
    space: _Space,
    extra: int,
    gain: Quantity,
    top_spread: float,
    top_count: int,
    top_within: bool | None,
    sigma: float,
    region_share: float | None,
    region_eps: float,
    noise_floor: float,
    coarse: bool,
    coarse_reason: str | None,
) -> tuple[str, ...]:
    word = space.word
    lines = []
    if coarse:
        lines.append(
            f"the metric is too coarse to fit ({coarse_reason}); treat every estimate below as rough"
        )
    assert gain.estimate is not None
    high = fmt(gain.high) if gain.high is not None else "the data cannot bound it from above"
    lines.append(
        f"{extra} more random trials would improve the best observed {word} by "
        f"{fmt(gain.estimate)} on average ({gain.level:.0%} interval [{fmt(gain.low or 0.0)}, "
        f"{high}])"
    )
    if top_within is True:
        lines.append(
            f"the top {top_count} configurations are within noise of each other (they differ by "
            f"{fmt(top_spread)}, noise sigma = {fmt(sigma)}): any of them is as good as the best"
        )
    elif top_within is False:
        lines.append(
            f"the best configuration stands out: the top {top_count} differ by {fmt(top_spread)}, "
            f"{top_spread / sigma:.1f}x the noise sigma = {fmt(sigma)}"
            if sigma > 0 and top_spread / sigma < 100
            else f"the best configuration stands out: the top {top_count} differ by "
            f"{fmt(top_spread)}, far more than the evaluation noise"
        )
    if region_share is not None:
        how = "within noise" if noise_floor > 0 else f"1% of the {word} range"
        lines.append(
            f"the search space's best region (configurations within {fmt(region_eps)} of the "
            f"optimum: {how}) is {_percent(region_share)} of it"
        )
    return tuple(lines)


def _percent(share: float) -> str:
    if share <= 0:
        return "a vanishing share (under 0.01%)"
    if share < 1e-4:
        return "under 0.01%"
    if share < 0.01:
        return f"{100 * share:.2g}%"
    return f"{100 * share:.0f}%"


__all__ = ["Findings", "Target", "findings", "fmt_trials"]
