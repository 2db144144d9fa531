"""tune-extras: better samplers, pruners, Ray scaling and post-study reports for Optuna and Ray Tune.

Importing this package is cheap: Optuna, Ray and torch are imported only when used.
"""

from __future__ import annotations

from tune_extras._lazy import lazy_getattr

__version__ = "0.1.0"

_EXPORTS = {
    "analyze": ".analysis",
    "StudyReport": ".analysis",
}
__all__ = ["__version__", *_EXPORTS]
__getattr__ = lazy_getattr(__name__, _EXPORTS)
