"""The defaults of the curve model and its calibration, in one validated object.

:func:`~tune_extras.curves.extrapolate`, the calibration helpers and
:class:`~tune_extras.curves.ExtrapolationRule` all read their model constants from a
:class:`CurveSettings`; :data:`DEFAULT_SETTINGS` holds the values the benchmarks chose
(docs/learning_curves.md), so a constant is written once and a variant is one
``dataclasses.replace`` away.
"""

from __future__ import annotations

from dataclasses import dataclass

from tune_extras._validation import check_int, check_real

CALIBRATION_FRACTIONS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""Relative prefix lengths ``step / horizon`` at which calibration curves are scored."""


@dataclass(frozen=True)
class CurveSettings:
    """Constants of the learning-curve model (Domhan et al.'s families, averaged in closed form).

    Args:
        warmup_fraction: The first ``floor(warmup_fraction * n)`` points of a prefix are left out
            of the fit (warm-ups and the first steep drop follow no smooth shape); in ``[0, 1)``.
        evidence_power: Exponent in ``(0, 1]`` on each shape's BIC evidence (1 = plain Bayesian
            model averaging; lower keeps more shapes in the mixture, for real curves whose
            correlated residuals overstate the evidence).
        discrepancy: Standard deviation of the Gaussian model error added to every shape, as a
            multiple of the predicted remaining change divided by 1.645 (``>= 0``).
        min_points: Points a prefix needs before it is extrapolated (``>= 3``: two linear
            parameters and one degree of freedom).
        max_points: Longer prefixes are averaged into this many bins (within-bin variance kept).
        default_scale: Spread multiplier of the predictive distribution before a study has its
            own calibration curves: the 90% quantile of the scores of the benchmark's training
            curves (``python -m benchmarks run curves``).
        fractions: Relative prefix lengths at which calibration curves are scored, increasing,
            in ``(0, 1)``.
    """

    warmup_fraction: float = 0.1
    evidence_power: float = 0.3
    discrepancy: float = 0.5
    min_points: int = 4
    max_points: int = 200
    default_scale: float = 0.65
    fractions: tuple[float, ...] = CALIBRATION_FRACTIONS

    def __post_init__(self) -> None:
        check_real("warmup_fraction", self.warmup_fraction, low=0, high=1, high_open=True)
        check_real("evidence_power", self.evidence_power, low=0, high=1, low_open=True)
        check_real("discrepancy", self.discrepancy, low=0)
        check_int("min_points", self.min_points, low=3)
        check_int("max_points", self.max_points, low=self.min_points)
        check_real("default_scale", self.default_scale, low=0, low_open=True)
        fractions = tuple(self.fractions)
        for value in fractions:
            check_real("fractions", value, low=0, high=1, low_open=True, high_open=True)
        if not fractions or list(fractions) != sorted(set(fractions)):
            raise ValueError(f"fractions must be increasing and not empty, got {self.fractions!r}")
        object.__setattr__(self, "fractions", fractions)


DEFAULT_SETTINGS = CurveSettings()
"""The settings every function of :mod:`tune_extras.curves` uses unless given others."""
