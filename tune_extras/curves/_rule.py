"""The stopping rule shared by the Optuna pruner and the Ray Tune scheduler.

Stop a trial when ``P(its value at the target step beats the reference)`` is small, where the
reference is the ``rank``-th best final value among finished trials (Domhan, Springenberg & Hutter,
IJCAI 2015 use the same rule with ``threshold = 0.05`` on an MCMC posterior of the curve). The
probability comes from two calibrated estimates, the trial's extrapolated curve and the finished
trials' value-now-to-final line, combined by Bonferroni's union rule (see
:meth:`ExtrapolationRule.decide`). Curves are given as ``(steps, values)``; the rule knows
nothing of Optuna or Ray, so both adapters take identical decisions on identical curves.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tune_extras.curves._calibration import (
    CALIBRATION_FRACTIONS,
    DEFAULT_SCALE,
    conformal_scale,
    curve_scores,
    nearest_fraction,
)
from tune_extras.curves._model import CurvePrediction, extrapolate
from tune_extras.curves._population import population_probability, value_at_step

_DIRECTIONS = ("minimize", "maximize")


@dataclass(frozen=True)
class Curve:
    """A trial's reported curve. ``key`` identifies it (e.g. a trial id) for caching its scores."""

    key: Hashable
    steps: Sequence[float]
    values: Sequence[float]


@dataclass(frozen=True)
class Decision:
    """A stopping decision and what it rests on."""

    stop: bool
    reason: str
    probability: float | None = None
    """``P(final value beats the reference)`` under the calibrated prediction."""
    reference: float | None = None
    prediction: CurvePrediction | None = None
    """Calibrated prediction of the value at the target step, in the curve's own direction."""
    curve_probability: float | None = None
    """The probability from the trial's own extrapolated curve (None before 4 points)."""
    population_probability: float | None = None
    """The probability from the finished trials' current-vs-final line (None if too few)."""


class ExtrapolationRule:
    """Stop a trial unlikely to beat the best finished trial, by extrapolating its learning curve.

    Args:
        direction: ``"minimize"`` or ``"maximize"``.
        threshold: Stop when the probability of beating the reference is below this (in (0, 1)).
        rank: Compare with the ``rank``-th best finished value (1 = the best).
        min_finished: Decide only once this many trials have finished (``>= rank``).
        min_step: Decide only from this step on (and once a curve has 4 points).
        calibration: ``"study"``: split-conformal scale from the finished curves once
            ``min_calibration_curves`` of them have a score at the prefix's relative length, the
            default widened by the finished curves' scores before that (see :meth:`scale`);
            ``"fixed"``: always ``default_scale``.
        default_scale: Scale of the predictive spread before (or without) study calibration.
        min_calibration_curves: Finished curves needed for a conformal scale; at least (and by
            default) ``ceil(c / (1 - c))`` for the calibrated coverage ``c = 1 - threshold``
            (19 at the default threshold). The conformal scale targets the central interval of
            probability ``1 - threshold``, whose lower end is the ``threshold / 2`` quantile the
            decision compares with.
        min_population: Finished trials needed for the population estimate (>= 3).
        warmup_fraction, evidence_power, discrepancy: Passed to :func:`~tune_extras.curves.extrapolate`.

    Example:
        >>> import numpy as np
        >>> from tune_extras.curves import Curve, ExtrapolationRule
        >>> rule = ExtrapolationRule("minimize", min_finished=1)
        >>> t = np.arange(1, 51)
        >>> finished = [Curve(0, t, 0.1 + t**-0.5)]
        >>> rule.decide(Curve(1, t[:10], 0.5 + t[:10] ** -0.5), target_step=50, finished=finished).stop
        True
        >>> rule.decide(Curve(2, t[:10], 0.1 + t[:10] ** -0.6), target_step=50, finished=finished).stop
        False
    """

    def __init__(
        self,
        direction: str = "minimize",
        *,
        threshold: float = 0.05,
        rank: int = 1,
        min_finished: int = 3,
        min_step: float = 0,
        calibration: str = "study",
        default_scale: float = DEFAULT_SCALE,
        min_calibration_curves: int | None = None,
        min_population: int = 5,
        warmup_fraction: float = 0.1,
        evidence_power: float = 0.3,
        discrepancy: float = 0.5,
    ) -> None:
        if direction not in _DIRECTIONS:
            raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
        if not 0 < threshold < 0.5:
            raise ValueError(f"threshold must lie in (0, 0.5), got {threshold!r}")
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
            raise ValueError(f"rank must be an int >= 1, got {rank!r}")
        if isinstance(min_finished, bool) or not isinstance(min_finished, int) or min_finished < 1:
            raise ValueError(f"min_finished must be an int >= 1, got {min_finished!r}")
        if not math.isfinite(min_step) or min_step < 0:
            raise ValueError(f"min_step must be a finite number >= 0, got {min_step!r}")
        if calibration not in ("study", "fixed"):
            raise ValueError(f"calibration must be 'study' or 'fixed', got {calibration!r}")
        if not 0 < default_scale < math.inf:
            raise ValueError(f"default_scale must be a positive number, got {default_scale!r}")
        confidence = 1.0 - threshold
        needed = math.ceil(confidence / (1 - confidence) - 1e-9)
        if min_calibration_curves is None:
            min_calibration_curves = needed
        if not isinstance(min_calibration_curves, int) or min_calibration_curves < needed:
            raise ValueError(
                f"min_calibration_curves must be an int >= {needed} at confidence {confidence}, "
                f"got {min_calibration_curves!r}"
            )
        if isinstance(min_population, bool) or not isinstance(min_population, int):
            raise ValueError(f"min_population must be an int >= 3, got {min_population!r}")
        if min_population < 3:
            raise ValueError(f"min_population must be an int >= 3, got {min_population!r}")
        extrapolate(
            [1, 2, 3, 4],
            [4, 3, 2, 1],
            5,
            warmup_fraction=warmup_fraction,
            evidence_power=evidence_power,
            discrepancy=discrepancy,
        )  # validates them
        self.direction = direction
        self.threshold = threshold
        self.rank = rank
        self.min_finished = max(min_finished, rank)
        self.min_step = min_step
        self.calibration = calibration
        self.default_scale = default_scale
        self.confidence = confidence
        self.min_calibration_curves = min_calibration_curves
        self.min_population = min_population
        self._model = {
            "warmup_fraction": warmup_fraction,
            "evidence_power": evidence_power,
            "discrepancy": discrepancy,
        }
        self._scores: dict[Hashable, dict[float, float]] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]  # locks do not pickle (Ray pickles schedulers)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _loss(self, values: Sequence[float]) -> np.ndarray:
        y = np.asarray(values, dtype=np.float64)
        return -y if self.direction == "maximize" else y

    def _scores_of(self, curve: Curve) -> dict[float, float]:
        with self._lock:
            cached = self._scores.get(curve.key)
        if cached is None:
            steps = np.asarray(curve.steps, dtype=np.float64)
            shift = 1.0 if steps.size and steps.min() == 0 else 0.0
            cached = curve_scores(
                steps + shift,
                self._loss(curve.values),
                self.confidence,
                warmup_fraction=self._model["warmup_fraction"],
                evidence_power=self._model["evidence_power"],
                discrepancy=self._model["discrepancy"],
            )
            with self._lock:
                self._scores[curve.key] = cached
        return cached

    def scale(self, fraction: float, finished: Sequence[Curve]) -> float:
        """The spread multiplier for a prefix at ``fraction = last_step / target_step``.

        With ``calibration="study"``, the finished curves' scores at the nearest calibration
        fraction give it: their split-conformal quantile once there are
        ``min_calibration_curves`` of them; before that, the larger of ``default_scale`` and the
        largest score (the largest of ``m`` scores is the conformal quantile at level
        ``m / (m + 1)``: one finished curve that the default scale would have missed already
        widens every later prediction at that stage).
        """
        if self.calibration == "fixed":
            return self.default_scale
        grid = nearest_fraction(fraction, CALIBRATION_FRACTIONS)
        scores = [s[grid] for s in map(self._scores_of, finished) if grid in s]
        if len(scores) < self.min_calibration_curves:
            return max([self.default_scale, *scores]) if scores else self.default_scale
        scale = conformal_scale(scores, self.confidence)
        return self.default_scale if scale is None or scale == 0 else min(scale, 1e6)

    def decide(self, curve: Curve, target_step: float, finished: Sequence[Curve]) -> Decision:
        """Whether to stop ``curve`` (running) given the curves of finished trials.

        Two estimates of ``P(final beats reference)``: the calibrated extrapolation of the curve
        itself (from 4 points on) and the finished trials' line from value-now to final value
        (:mod:`tune_extras.curves._population`, from ``min_population`` finished trials on).
        The trial stops when either is below ``threshold / 2`` (Bonferroni: if both are
        calibrated, a trial that would beat the reference is stopped with probability at most
        ``threshold``).

        A finished curve's final value is its value at its largest step; finished curves with a
        non-finite value are ignored. ``target_step`` is the step the running trial will end at.
        Steps may start at 0 (then every step counts as one more unit of resource).
        """
        steps = np.asarray(curve.steps, dtype=np.float64)
        values = self._loss(curve.values)
        if steps.size == 0:
            return Decision(False, "no values reported yet")
        if not np.all(np.isfinite(values)):
            return Decision(True, "the curve has diverged (NaN or inf)", probability=0.0)
        last = float(steps.max())
        if last < self.min_step:
            return Decision(False, "before the first decision step")
        if last >= target_step:
            return Decision(False, "the trial has reached its target step")
        finals = []
        usable = []
        for other in finished:
            y = self._loss(other.values)
            if y.size and np.all(np.isfinite(y)):
                finals.append(float(y[int(np.argmax(np.asarray(other.steps)))]))
                usable.append(other)
        if len(finals) < self.min_finished:
            return Decision(False, f"fewer than {self.min_finished} finished trials")
        reference = float(np.sort(finals)[self.rank - 1])
        sign = -1.0 if self.direction == "maximize" else 1.0
        current = float(values[int(np.argmax(steps))])
        pairs = []
        for other, final in zip(usable, finals, strict=True):
            now = value_at_step(other.steps, self._loss(other.values), last)
            if now is not None:
                pairs.append((now, final))
        p_population = population_probability(current, pairs, reference, self.min_population)
        p_curve = prediction = None
        if steps.size >= 4:
            shift = 1.0 if steps.min() == 0 else 0.0
            raw = extrapolate(steps + shift, values, float(target_step) + shift, **self._model)
            scale = self.scale((last + shift) / (target_step + shift), usable)
            prediction = raw.with_scale(scale)
            p_curve = float(prediction.cdf(reference))
        evidence = [p for p in (p_curve, p_population) if p is not None]
        if not evidence:
            return Decision(False, "too few points and too few finished trials to predict")
        probability = min(evidence)
        stop = probability < self.threshold / 2
        reason = f"P(beats {sign * reference:.6g}): curve {p_curve}, population {p_population}"
        reported = _flip(prediction) if prediction is not None and sign < 0 else prediction
        return Decision(
            stop, reason, probability, sign * reference, reported, p_curve, p_population
        )


def _flip(prediction: CurvePrediction) -> CurvePrediction:
    """The prediction of ``-Y``: back to the user's direction after working on losses."""
    return CurvePrediction(
        prediction.target_step,
        prediction.weights,
        -prediction.locations,
        prediction.scales,
        prediction.dofs,
        prediction.scale,
    )
