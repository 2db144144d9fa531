"""The study analyzer: a finished random search -> best possible value, effective dimension, curves.

The report (:class:`StudyReport`) shows itself as text, HTML, figures, DataFrames and JSON, and can
be published to optuna-dashboard (:func:`publish`).
"""

from tune_extras.analysis._analyze import NOT_RANDOM, analyze
from tune_extras.analysis._bounds import Bounds, parse_bounds, resolve_bounds
from tune_extras.analysis._frames import FRAMES
from tune_extras.analysis._publish import publish
from tune_extras.analysis._quantity import Quantity
from tune_extras.analysis._report import SCHEMA_VERSION, Extrapolation, StudyReport, TuningCurve
from tune_extras.analysis._sample import RANDOM_DRAW_COLUMN, select_sample
from tune_extras.analysis._tuning_curve import (
    empirical_median_tuning_curve,
    empirical_tuning_curve,
    improvement_trend,
)
from tune_extras.analysis._verdict import Target

__all__ = [
    "FRAMES",
    "NOT_RANDOM",
    "RANDOM_DRAW_COLUMN",
    "SCHEMA_VERSION",
    "Bounds",
    "Extrapolation",
    "Quantity",
    "StudyReport",
    "Target",
    "TuningCurve",
    "analyze",
    "empirical_median_tuning_curve",
    "empirical_tuning_curve",
    "improvement_trend",
    "parse_bounds",
    "publish",
    "resolve_bounds",
    "select_sample",
]
