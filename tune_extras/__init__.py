"""tune-extras: better samplers, pruners, Ray scaling and post-study reports for Optuna and Ray Tune.

Importing this package is cheap: Optuna, Ray and torch are imported only when used. The names
below are loaded on first use (PEP 562); the ``TYPE_CHECKING`` imports show them to IDEs and type
checkers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tune_extras._lazy import lazy_getattr

if TYPE_CHECKING:
    from tune_extras.analysis import StudyReport, analyze

__version__ = "0.1.0"

_EXPORTS = {
    "analyze": ".analysis",
    "StudyReport": ".analysis",
}
__all__ = ["StudyReport", "__version__", "analyze"]
__getattr__ = lazy_getattr(__name__, _EXPORTS)


def __dir__() -> list[str]:
    return sorted(__all__)
