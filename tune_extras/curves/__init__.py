"""Learning-curve extrapolation, framework-free (imports neither optuna nor ray).

:func:`extrapolate` turns a partial curve into a predictive distribution of its value at a later
step (:class:`CurvePrediction`); :mod:`~tune_extras.curves._calibration` scales its spread so that
its intervals cover; :class:`ExtrapolationRule` is the stopping decision the Optuna pruner and the
Ray Tune scheduler share. :class:`CurveSettings` holds the model's constants.
"""

from tune_extras.curves._calibration import (
    DEFAULT_SCALE,
    CalibrationCurve,
    conformal_level,
    conformal_scale,
    curve_scores,
    interval_score,
    lognormal_scale,
)
from tune_extras.curves._families import Shape, default_shapes
from tune_extras.curves._model import CurvePrediction, extrapolate
from tune_extras.curves._rule import Curve, Decision, ExtrapolationRule, rules_by_direction
from tune_extras.curves._settings import DEFAULT_SETTINGS, CurveSettings

__all__ = [
    "DEFAULT_SCALE",
    "DEFAULT_SETTINGS",
    "CalibrationCurve",
    "Curve",
    "CurvePrediction",
    "CurveSettings",
    "Decision",
    "ExtrapolationRule",
    "Shape",
    "conformal_level",
    "conformal_scale",
    "curve_scores",
    "default_shapes",
    "extrapolate",
    "interval_score",
    "lognormal_scale",
    "rules_by_direction",
]
