"""The study analyzer: a finished random search -> best possible value, effective dimension, curves."""

from tune_extras.analysis._analyze import analyze
from tune_extras.analysis._report import Extrapolation, StudyReport, TuningCurve
from tune_extras.analysis._tuning_curve import empirical_tuning_curve, improvement_trend

__all__ = [
    "Extrapolation",
    "StudyReport",
    "TuningCurve",
    "analyze",
    "empirical_tuning_curve",
    "improvement_trend",
]
