"""Ray Tune adapters and Ray execution of Optuna studies. Ray is imported only when a name is used."""

from __future__ import annotations

from tune_extras._lazy import lazy_getattr

_EXPORTS = {
    "SuccessiveHalvingScheduler": "._halving",
    "HyperbandScheduler": "._halving",
    "SchedulerStateCallback": "._halving",
    "OptunaSearch": "._searcher",
    "LearningCurveScheduler": "._learning_curve",
    "optimize": "._optimize",
    "load_experiment": "._loader",
    "NoNodeFitsError": "._resources",
    "FAIL_REASON_ATTR": "._driver",
    "RETRY_OF_ATTR": "._driver",
    "ATTEMPT_ATTR": "._driver",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
