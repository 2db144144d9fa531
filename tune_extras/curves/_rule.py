"""The stopping rule shared by the Optuna pruner and the Ray Tune scheduler.

Stop a trial when ``P(its value at the target step beats the reference)`` is small, where the
reference is the ``rank``-th best final value among finished trials (Domhan, Springenberg & Hutter,
IJCAI 2015 use the same rule with ``threshold = 0.05`` on an MCMC posterior of the curve). The
probability comes from two estimates, the trial's extrapolated curve and the finished trials'
value-now-to-final line; see :meth:`ExtrapolationRule.decide`. Curves are given as
``(steps, values)``; the rule knows nothing of Optuna or Ray, so both adapters take identical
decisions on identical curves.
"""

from __future__ import annotations

import bisect
import dataclasses
import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tune_extras._validation import (
    DIRECTIONS,
    check_choice,
    check_int,
    check_real,
    parse_direction,
)
from tune_extras.curves._calibration import (
    CalibrationCurve,
    conformal_level,
    conformal_scale,
    lognormal_scale,
    nearest_fraction,
)
from tune_extras.curves._model import CurvePrediction, extrapolate
from tune_extras.curves._population import (
    leave_one_out_probabilities,
    pairs_at,
    population_probability,
)
from tune_extras.curves._settings import DEFAULT_SETTINGS, CurveSettings


@dataclass(frozen=True)
class Curve:
    """A trial's reported curve. ``key`` (e.g. a trial id) caches a curve that ended.

    A cached entry is checked against the curve's length and last point, so a key reused for
    another curve (a new study with the same name) is rebuilt, not trusted.
    """

    key: Hashable
    steps: Sequence[float]
    values: Sequence[float]


@dataclass(frozen=True)
class Decision:
    """A stopping decision and what it rests on."""

    stop: bool
    reason: str
    probability: float | None = None
    """``P(final value beats the reference)``: the smaller of the two estimates."""
    reference: float | None = None
    prediction: CurvePrediction | None = None
    """Calibrated prediction of the value at the target step, in the curve's own direction."""
    curve_probability: float | None = None
    """The probability from the trial's own extrapolated curve (None before ``min_points``)."""
    population_probability: float | None = None
    """The probability from the finished trials' current-vs-final line (None if too few)."""
    curve_level: float | None = None
    """The trial stops when ``curve_probability`` is below this."""
    population_level: float | None = None
    """The trial stops when ``population_probability`` is below this."""


class ExtrapolationRule:
    """Stop a trial unlikely to beat the best finished trial, by extrapolating its learning curve.

    Args:
        direction: ``"minimize"`` or ``"maximize"``.
        threshold: The chance, over a trial's whole run, that a trial which would end better than
            the reference is stopped (see :meth:`levels`); in (0, 0.5).
        rank: Compare with the ``rank``-th best finished value (1 = the best).
        min_finished: Decide only once this many trials have finished (``>= rank``).
        min_step: Decide only from this step on.
        calibration: ``"study"``: the study's curves calibrate the prediction (see
            :meth:`scale`) and the levels (see :meth:`levels`); ``"fixed"``: the defaults only.
        settings: The model's constants (:class:`~tune_extras.curves.CurveSettings`).
        min_population: Finished trials needed for the population estimate (>= 3).
        calibration_window: The estimates and the calibration use the latest this many curves
            (bounded cost; with an adaptive sampler, recent trials resemble the running one
            more). The reference is always the best of all finished trials.

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

    confidence = 0.9
    """Coverage the calibrated predictive intervals aim at (:meth:`scale`)."""

    def __init__(
        self,
        direction: str = "minimize",
        *,
        threshold: float = 0.05,
        rank: int = 1,
        min_finished: int = 3,
        min_step: float = 0,
        calibration: str = "study",
        settings: CurveSettings = DEFAULT_SETTINGS,
        min_population: int = 5,
        calibration_window: int = 100,
    ) -> None:
        self.direction = parse_direction(direction)
        self.threshold = check_real(
            "threshold", threshold, low=0, high=0.5, low_open=True, high_open=True
        )
        self.rank = check_int("rank", rank, low=1)
        self.min_finished = max(check_int("min_finished", min_finished, low=1), self.rank)
        self.min_step = check_real("min_step", min_step, low=0)
        self.calibration = check_choice("calibration", calibration, ("study", "fixed"))
        if not isinstance(settings, CurveSettings):
            raise ValueError(f"settings must be a CurveSettings, got {settings!r}")
        self.settings = settings
        self.min_population = check_int("min_population", min_population, low=3)
        self.calibration_window = check_int(
            "calibration_window", calibration_window, low=max(self.min_population, 20)
        )
        self._records: dict[Hashable, CalibrationCurve | None] = {}
        self._levels: dict[
            tuple[tuple[CalibrationCurve, ...], tuple[CalibrationCurve, ...]], tuple[float, float]
        ] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]  # locks do not pickle (Ray pickles schedulers)
        state["_levels"] = {}  # keyed by record identity, which pickling does not keep
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------ curves as losses
    def _loss(self, values: Sequence[float]) -> np.ndarray:
        y = np.asarray(values, dtype=np.float64)
        return -y if self.direction == "maximize" else y

    def _record(self, curve: Curve, finished: bool) -> CalibrationCurve | None:
        """An ended curve in losses, sorted, steps above 0, cached by key (``None``: unusable).

        The cache entry must match the curve's length and last reported point (and whether it
        finished); otherwise the key was reused for another curve and the entry is rebuilt.
        """
        size = len(curve.steps)
        if size == 0 or size != len(curve.values):
            return None
        fingerprint = (finished, size, float(curve.steps[-1]), float(curve.values[-1]))
        cached = self._records.get(curve.key)  # a dict read is atomic: no lock needed
        if cached is not None and cached.fingerprint == fingerprint:
            return cached
        steps = np.asarray(curve.steps, dtype=np.float64)
        loss = self._loss(curve.values)
        record = None
        if np.all(np.isfinite(loss)) and np.all(np.isfinite(steps)):
            order = np.argsort(steps, kind="stable")
            t = steps[order]
            shift = 1.0 - t[0] if t[0] <= 0 else 0.0
            record = CalibrationCurve(t + shift, loss[order], fingerprint)
        with self._lock:
            self._records[curve.key] = record
        return record

    def _records_of(self, curves: Sequence[Curve], finished: bool) -> list[CalibrationCurve]:
        return [r for c in curves if (r := self._record(c, finished)) is not None]

    def _pool(
        self, finished: Sequence[Curve], stopped: Sequence[Curve]
    ) -> tuple[list[CalibrationCurve], list[CalibrationCurve], list[CalibrationCurve]]:
        """(finished records, calibration pool, the pool the levels are computed on).

        The pool holds the latest ``calibration_window`` finished and stopped curves. The levels
        use the stopped curves up to a count on a geometric grid (ratio 1.25): recomputed about
        20 times in a study instead of at every stop, and still a function of the curves alone.
        """
        done = self._records_of(finished, True)
        ended = self._records_of(stopped, False)
        window = self.calibration_window
        grid = _GRID[bisect.bisect_right(_GRID, len(ended)) - 1]
        pool = done[-window:] + ended[-window:]
        return done, pool, done[-window:] + ended[:grid][-window:]

    # ------------------------------------------------------------------------------ calibration
    def scale(
        self,
        fraction: float,
        finished: Sequence[Curve],
        stopped: Sequence[Curve] = (),
        horizon: float | None = None,
    ) -> float:
        """The spread multiplier for a prefix at ``fraction`` of a run ending at ``horizon``.

        With ``calibration="study"``, every curve that ended (finished, or stopped at its own,
        shorter horizon) is scored at the calibration fraction nearest ``fraction``
        (:meth:`CalibrationCurve.score`), with weight ``min(1, its horizon / horizon)`` (1 for
        every curve when ``horizon`` is None): a curve stopped after 20 steps says little about
        predicting step 100. The scale is the weighted split-conformal quantile at 90%
        (:func:`~tune_extras.curves.conformal_scale`); with too little weight for one, the
        log-normal prediction bound of the scores (:func:`~tune_extras.curves.lognormal_scale`,
        from 3 scores on); with fewer, the larger of ``settings.default_scale`` and the scores.
        """
        _, pool, _ = self._pool(finished, stopped)
        return self._scale(fraction, pool, horizon)

    def _scale(self, fraction: float, pool: list[CalibrationCurve], horizon: float | None) -> float:
        if self.calibration == "fixed":
            return self.settings.default_scale
        scores, reach, _ = self._score_table(fraction, pool)
        return self._scale_from(scores, reach, horizon)

    def _score_table(
        self, fraction: float, pool: list[CalibrationCurve]
    ) -> tuple[np.ndarray, np.ndarray, list[CalibrationCurve]]:
        """The pool's scores at the calibration fraction nearest ``fraction``: scores, horizons
        and the curves they belong to."""
        grid = nearest_fraction(fraction, self.settings.fractions)
        owners, scores, reach = [], [], []
        for record in pool:
            score = record.score(grid, self.confidence, self.settings)
            if score is not None:
                owners.append(record)
                scores.append(score)
                reach.append(float(record.steps[-1]))
        return np.asarray(scores, dtype=np.float64), np.asarray(reach, dtype=np.float64), owners

    def _scale_from(self, scores: np.ndarray, reach: np.ndarray, horizon: float | None) -> float:
        default = self.settings.default_scale
        if scores.size == 0:
            return default
        weights = np.ones_like(reach) if horizon is None else np.minimum(1.0, reach / horizon)
        scale = conformal_scale(scores, self.confidence, weights)
        if scale is None:
            scale = lognormal_scale(scores, self.confidence, weights)
        if scale is None:
            return float(max(default, scores.max()))
        return default if scale == 0 else min(scale, 1e6)

    def levels(
        self, finished: Sequence[Curve], stopped: Sequence[Curve] = ()
    ) -> tuple[float, float]:
        """The per-trial levels ``(curve, population)`` the two probabilities are compared with.

        Each estimate gets ``alpha = threshold / 2`` (Bonferroni's union bound over the two
        estimates). A level is set for a trial's *whole run*: for each finished trial ``j``, the
        smallest probability ``V_j`` that its predictions at the calibration fractions,
        calibrated on the *other* curves, gave to ending as well as it did (the population
        estimate: the line fitted on the other finished trials, at the same relative times).
        Stopping only below the lower conformal quantile of the ``V_j`` at ``alpha``
        (:func:`~tune_extras.curves.conformal_level`) stops a trial that would end better than
        the reference with probability at most ``alpha`` per estimate over its run, for trials
        exchangeable with the finished ones. Before there are enough (``1 / alpha - 1``, 39 at
        ``threshold = 0.05``), the smaller of ``alpha`` and the smallest ``V_j`` (the lower
        conformal quantile at level ``1 / (m + 1)``: one finished trial that a prediction got
        badly wrong lowers the level at once). ``calibration="fixed"``: ``alpha``.
        """
        done, _, level_pool = self._pool(finished, stopped)
        return self._levels_of(done[-self.calibration_window :], level_pool)

    def _levels_of(
        self, finished: list[CalibrationCurve], pool: list[CalibrationCurve]
    ) -> tuple[float, float]:
        alpha = self.threshold / 2
        if self.calibration == "fixed":
            return alpha, alpha
        key = (tuple(finished), tuple(pool))  # records hash by identity, kept alive by the key
        with self._lock:
            if key in self._levels:
                return self._levels[key]
        fractions = self.settings.fractions
        tables = {f: self._score_table(f, pool) for f in fractions}
        curve_scores = []
        for record in finished:
            horizon = float(record.steps[-1])
            probabilities = []
            for f in fractions:
                prediction = record.prediction(f, self.settings)
                if prediction is None:
                    continue
                scores, reach, owners = tables[f]
                keep = np.array([r is not record for r in owners], dtype=bool)
                scale = self._scale_from(scores[keep], reach[keep], horizon)  # without itself
                probabilities.append(float(prediction.with_scale(scale).cdf(record.final)))
            if probabilities:
                curve_scores.append(min(probabilities))
        per_trial: list[list[float]] = [[] for _ in finished]
        curves = [(r.steps, r.loss) for r in finished]
        for f in fractions:
            for j, p_j in enumerate(
                leave_one_out_probabilities(pairs_at(f, curves), self.min_population)
            ):
                per_trial[j].append(float(p_j))
        population_scores = [min(p) for p in per_trial if p]
        levels = (
            _level(curve_scores, alpha),
            _level(population_scores, alpha),
        )
        with self._lock:
            if len(self._levels) > 64:
                self._levels.clear()
            self._levels[key] = levels
        return levels

    # ---------------------------------------------------------------------------------- decide
    def decide(
        self,
        curve: Curve,
        target_step: float,
        finished: Sequence[Curve],
        stopped: Sequence[Curve] = (),
    ) -> Decision:
        """Whether to stop ``curve`` (running) given the curves of finished and stopped trials.

        Two estimates of ``P(final beats reference)``: the calibrated extrapolation of the curve
        itself (from ``settings.min_points`` points on) and the finished trials' line from
        value-now to final value at the same relative time of their runs
        (:mod:`tune_extras.curves._population`, from ``min_population`` finished trials on). The
        trial stops when one of them is below its level (:meth:`levels`).

        ``finished``: curves of trials that ran to their end (oldest first); a curve's final
        value is its value at its largest step. ``stopped``: curves of trials that ended early
        (pruned, failed): not candidates for the reference, but calibration curves at their
        own, shorter horizons. Curves with a non-finite value are ignored. Both are cached by
        ``key``. ``target_step`` is the step the running trial will end at. Steps may start at 0
        (then every step counts as one more unit of resource).
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
        done, pool, level_pool = self._pool(finished, stopped)
        if len(done) < self.min_finished:
            return Decision(False, f"fewer than {self.min_finished} finished trials")
        window = done[-self.calibration_window :]
        finals = np.array([r.final for r in done])
        reference = float(np.partition(finals, self.rank - 1)[self.rank - 1])
        sign = -1.0 if self.direction == "maximize" else 1.0
        current = float(values[int(np.argmax(steps))])
        shift = 1.0 - float(steps.min()) if steps.min() <= 0 else 0.0
        fraction = (last + shift) / (target_step + shift)
        pairs = pairs_at(fraction, [(r.steps, r.loss) for r in window])
        p_population = population_probability(current, pairs, reference, self.min_population)
        p_curve = prediction = None
        if steps.size >= self.settings.min_points:
            horizon = float(target_step) + shift
            raw = extrapolate(steps + shift, values, horizon, settings=self.settings)
            prediction = raw.with_scale(self._scale(fraction, pool, horizon))
            p_curve = float(prediction.cdf(reference))
        if p_curve is None and p_population is None:
            return Decision(False, "too few points and too few finished trials to predict")
        curve_level, population_level = self._levels_of(window, level_pool)
        stop = (p_curve is not None and p_curve < curve_level) or (
            p_population is not None and p_population < population_level
        )
        probability = min(p for p in (p_curve, p_population) if p is not None)
        reason = (
            f"P(beats {sign * reference:.6g}): curve {p_curve} (level {curve_level:.3g}), "
            f"population {p_population} (level {population_level:.3g})"
        )
        reported = _flip(prediction) if prediction is not None and sign < 0 else prediction
        return Decision(
            stop,
            reason,
            probability,
            sign * reference,
            reported,
            p_curve,
            p_population,
            curve_level,
            population_level,
        )


def rules_by_direction(*, default_scale: float, **options: Any) -> dict[str, ExtrapolationRule]:
    """One rule per direction with the same options and ``settings.default_scale`` (the adapters
    learn the direction from the study, or from Ray's ``mode``, only when they decide)."""
    settings = dataclasses.replace(DEFAULT_SETTINGS, default_scale=default_scale)
    return {d: ExtrapolationRule(d, settings=settings, **options) for d in DIRECTIONS}


_GRID = sorted({0, *range(1, 9), *(int(1.25**k) for k in range(10, 80))})
"""Counts of stopped curves at which the levels are recomputed (0-8, then ratio 1.25)."""


def _level(scores: list[float], alpha: float) -> float:
    """The lower conformal quantile of per-trial scores, or ``min(alpha, *scores)`` with too few."""
    level = conformal_level(scores, alpha)
    return min([alpha, *scores]) if level is None else level


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
