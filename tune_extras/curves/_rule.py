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
    nearest_fraction,
    prefix_score,
)
from tune_extras.curves._model import CurvePrediction, extrapolate
from tune_extras.curves._population import population_probability

_DIRECTIONS = ("minimize", "maximize")


@dataclass(frozen=True)
class Curve:
    """A trial's reported curve; ``key`` (e.g. a trial id) caches a finished curve, which must not change."""

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
        threshold: Stop when the probability of beating the reference is below this, in (0, 0.5).
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
            decision compares with when both estimates are available.
        min_population: Finished trials needed for the population estimate (>= 3).
        calibration_window: The population estimate and the calibration use the latest this many
            finished curves (bounded cost; with an adaptive sampler, recent trials resemble the
            running one more). The reference is always the best of all finished trials.
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
        calibration_window: int = 100,
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
        if isinstance(calibration_window, bool) or not isinstance(calibration_window, int):
            raise ValueError(f"calibration_window must be an int, got {calibration_window!r}")
        if calibration_window < max(min_population, min_calibration_curves):
            raise ValueError(
                f"calibration_window ({calibration_window}) must be >= min_population and "
                f"min_calibration_curves"
            )
        self.calibration_window = calibration_window
        self._model = {
            "warmup_fraction": warmup_fraction,
            "evidence_power": evidence_power,
            "discrepancy": discrepancy,
        }
        self._records: dict[Hashable, _Finished | None] = {}
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

    def _record(self, curve: Curve) -> _Finished | None:
        """A finished curve, sorted and in losses, cached by key (``None`` if unusable)."""
        with self._lock:
            if curve.key in self._records:
                return self._records[curve.key]
        steps = np.asarray(curve.steps, dtype=np.float64)
        loss = self._loss(curve.values)
        record = None
        if steps.size and steps.size == loss.size and np.all(np.isfinite(loss)):
            order = np.argsort(steps, kind="stable")
            record = _Finished(steps[order], loss[order], float(loss[order][-1]), {})
        with self._lock:
            self._records[curve.key] = record
        return record

    def _score(self, record: _Finished, fraction: float) -> float | None:
        if fraction not in record.scores:
            shift = 1.0 if record.steps[0] == 0 else 0.0
            record.scores[fraction] = prefix_score(
                record.steps + shift, record.loss, fraction, self.confidence, **self._model
            )
        return record.scores[fraction]

    def scale(self, fraction: float, finished: Sequence[Curve]) -> float:
        """The spread multiplier for a prefix at ``fraction = last_step / target_step``.

        With ``calibration="study"``, the scores of the latest ``calibration_window`` finished
        curves at the nearest calibration fraction give it: their split-conformal quantile once
        there are ``min_calibration_curves`` of them; before that, the larger of
        ``default_scale`` and the largest score (the largest of ``m`` scores is the conformal
        quantile at level ``m / (m + 1)``: one finished curve that the default scale would have
        missed already widens every later prediction at that stage).
        """
        records = [r for r in map(self._record, finished) if r is not None]
        return self._scale(fraction, records)

    def _scale(self, fraction: float, records: list[_Finished]) -> float:
        if self.calibration == "fixed":
            return self.default_scale
        grid = nearest_fraction(fraction, CALIBRATION_FRACTIONS)
        scores = [
            score
            for record in records[-self.calibration_window :]
            if (score := self._score(record, grid)) is not None
        ]
        if len(scores) < self.min_calibration_curves:
            return max([self.default_scale, *scores]) if scores else self.default_scale
        scale = conformal_scale(scores, self.confidence)
        return self.default_scale if scale is None or scale == 0 else min(scale, 1e6)

    def decide(self, curve: Curve, target_step: float, finished: Sequence[Curve]) -> Decision:
        """Whether to stop ``curve`` (running) given the curves of finished trials (oldest first).

        Two estimates of ``P(final beats reference)``: the calibrated extrapolation of the curve
        itself (from 4 points on) and the finished trials' line from value-now to final value
        (:mod:`tune_extras.curves._population`, from ``min_population`` finished trials on, the
        latest ``calibration_window`` of them). The trial stops when one of the ``k`` estimates
        available (1 or 2) is below ``threshold / k`` (Bonferroni: if they are calibrated, a trial
        that would beat the reference is stopped at this decision with probability at most
        ``threshold``).

        A finished curve's final value is its value at its largest step; finished curves with a
        non-finite value are ignored. Finished curves are cached by ``key`` (they must not change).
        ``target_step`` is the step the running trial will end at. Steps may start at 0 (then
        every step counts as one more unit of resource).
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
        records = [r for r in map(self._record, finished) if r is not None]
        if len(records) < self.min_finished:
            return Decision(False, f"fewer than {self.min_finished} finished trials")
        finals = np.array([r.final for r in records])
        reference = float(np.partition(finals, self.rank - 1)[self.rank - 1])
        sign = -1.0 if self.direction == "maximize" else 1.0
        current = float(values[int(np.argmax(steps))])
        pairs = []
        for record in records[-self.calibration_window :]:
            now = int(np.searchsorted(record.steps, last, side="right")) - 1
            if now >= 0:
                pairs.append((float(record.loss[now]), record.final))
        p_population = population_probability(current, pairs, reference, self.min_population)
        p_curve = prediction = None
        if steps.size >= 4:
            shift = 1.0 if steps.min() == 0 else 0.0
            raw = extrapolate(steps + shift, values, float(target_step) + shift, **self._model)
            scale = self._scale((last + shift) / (target_step + shift), records)
            prediction = raw.with_scale(scale)
            p_curve = float(prediction.cdf(reference))
        evidence = [p for p in (p_curve, p_population) if p is not None]
        if not evidence:
            return Decision(False, "too few points and too few finished trials to predict")
        probability = min(evidence)
        stop = probability < self.threshold / len(evidence)
        reason = f"P(beats {sign * reference:.6g}): curve {p_curve}, population {p_population}"
        reported = _flip(prediction) if prediction is not None and sign < 0 else prediction
        return Decision(
            stop, reason, probability, sign * reference, reported, p_curve, p_population
        )


@dataclass
class _Finished:
    """A finished curve as the rule uses it: steps sorted, values as losses, scores by fraction."""

    steps: np.ndarray
    loss: np.ndarray
    final: float
    scores: dict[float, float | None]


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
