"""``analyze``: from an Optuna study, a storage URL or a trials table to a :class:`StudyReport`."""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tune_extras.analysis._report import Extrapolation, StudyReport, TuningCurve
from tune_extras.analysis._tuning_curve import empirical_tuning_curve, improvement_trend
from tune_extras.surface import MIN_TRIALS, fit_near_optimum

if TYPE_CHECKING:
    import optuna

#: Samplers that draw i.i.d. configurations, as the theory assumes.
RANDOM_SAMPLERS = frozenset({"RandomSampler", "random", "BasicVariantGenerator"})


def analyze(
    source: optuna.Study | pd.DataFrame | str,
    *,
    study_name: str | None = None,
    objective: int | None = None,
    direction: str | None = None,
    tail: int | float | str = "auto",
    confidence: float = 0.95,
    horizon: int | None = None,
    extra_trials: int = 100,
    importance: bool = True,
    seed: int = 0,
) -> StudyReport:
    """Analyse a finished random search: best possible value, effective dimension, tuning curve.

    Implements the near-optimum theory of Lourie, He & Cho 2025 ("Hyperparameter Loss Surfaces Are
    Simple Near their Optima", arXiv 2510.02721): the best scores of random search follow a noisy
    quadratic law whose parameters are the best possible value, the effective number of
    hyperparameters and the evaluation noise (see :func:`tune_extras.surface.fit_near_optimum`).

    Args:
        source: An :class:`optuna.Study`, a storage URL (``sqlite:///x.db``, ``journal:///x.log``, any
            RDB URL) or a trials table (a DataFrame with a ``value`` column, and optionally ``state``,
            ``number`` and ``params_<name>`` columns; ``attrs["direction"]`` or ``direction=``).
            The study is only read.
        study_name: Which study of the storage to read (needed when it holds several).
        objective: Objective index for multi-objective studies (required there).
        direction: ``"minimize"`` or ``"maximize"``; taken from the study when omitted.
        tail: Tail used by the fit: ``"auto"`` (automatic threshold), a count, or a share.
        confidence: Level of the intervals, in ``(0, 1)``.
        horizon: Largest number of trials of the reported tuning curve (default: 10x the trials used).
        extra_trials: "What would this many more trials buy?" (>= 1).
        importance: Compute hyperparameter importances (Optuna's default evaluator) when possible.
        seed: Seed of every random step (bootstrap, bands), so a report is reproducible.

    Returns:
        A :class:`StudyReport`; ``print(report)`` gives the text report.

    Raises:
        ValueError: For an unknown storage or study, a multi-objective study without ``objective``,
            fewer than 20 usable trials, constant values, or invalid arguments.

    Example:
        >>> import optuna, tune_extras
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        >>> study.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.2) ** 2, n_trials=200)
        >>> report = tune_extras.analyze(study, importance=False)
        >>> report.best_interval.low <= 0.0 <= report.best_interval.high
        True
        >>> round(report.effective_dimension)
        1
    """
    if not isinstance(extra_trials, int) or extra_trials < 1:
        raise ValueError(f"extra_trials must be an int >= 1, got {extra_trials!r}")
    if horizon is not None and (not isinstance(horizon, int) or horizon < 1):
        raise ValueError(f"horizon must be an int >= 1, got {horizon!r}")
    study = None
    if isinstance(source, pd.DataFrame):
        table = source
    else:
        from tune_extras.optuna._loader import load_study, load_trials

        if isinstance(source, str):
            study = load_study(source, study_name)
            table = load_trials(study, objective=objective)
            table.attrs["sampler"] = None  # a loaded study does not know how it was sampled
        else:
            study = source
            table = load_trials(study, objective=objective)

    direction = direction or table.attrs.get("direction")
    if direction not in ("minimize", "maximize"):
        raise ValueError(
            f"direction must be 'minimize' or 'maximize' (pass direction= or set "
            f"table.attrs['direction']), got {direction!r}"
        )
    if "value" not in table.columns:
        raise ValueError("the trials table needs a 'value' column")
    values = pd.to_numeric(table["value"], errors="coerce")
    if values.isna().all() and table["value"].notna().any():
        raise ValueError("the 'value' column is not numeric")
    states = table["state"].astype(str) if "state" in table.columns else None
    complete = states == "COMPLETE" if states is not None else pd.Series(True, index=table.index)
    finite = np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    used = complete.to_numpy() & finite
    counts = {
        "total": len(table),
        "used": int(used.sum()),
        "not_finite": int((complete.to_numpy() & ~finite).sum()),
    }
    if states is not None:
        for state in ("PRUNED", "FAIL", "RUNNING", "WAITING"):
            counts[state.lower()] = int((states == state).sum())
    if counts["used"] < MIN_TRIALS:
        raise ValueError(
            f"the analysis needs at least {MIN_TRIALS} completed trials with finite values; "
            f"this study has {counts['used']} (of {counts['total']} trials)"
        )
    order = table["number"].to_numpy()[used] if "number" in table.columns else np.arange(used.sum())
    y = values.to_numpy(dtype=float)[used][np.argsort(order, kind="stable")]
    if np.ptp(y) == 0:
        raise ValueError(f"all {y.size} completed trials have the same value {y[0]}")

    fit = fit_near_optimum(y, direction, tail=tail, confidence=confidence, seed=seed)
    warnings = _warnings(table, y, direction, fit, counts)
    n_obs = y.size
    horizon = horizon or 10 * n_obs
    curve = _tuning_curve(fit, y, direction, horizon, confidence, seed)
    extrapolation = _extrapolation(fit, n_obs, extra_trials, confidence, seed)
    importances = _importance(study, objective) if importance else None
    best_observed = float(np.min(y) if direction == "minimize" else np.max(y))
    return StudyReport(
        study_name=table.attrs.get("study_name"),
        direction=direction,
        sampler=table.attrs.get("sampler"),
        trial_counts=counts,
        fit=fit,
        best_observed=best_observed,
        tuning_curve=curve,
        extrapolation=extrapolation,
        importances=importances,
        warnings=tuple(warnings),
    )


def _warnings(
    table: pd.DataFrame, y: np.ndarray, direction: str, fit: Any, counts: dict[str, int]
) -> list[str]:
    notes = []
    sampler = table.attrs.get("sampler")
    if sampler is not None and sampler not in RANDOM_SAMPLERS:
        notes.append(
            f"the study used {sampler}, not random search: the theory assumes i.i.d. random "
            "trials, so the best-value and dimension estimates describe the sampler's "
            "distribution, not the search space"
        )
    tau, p_value = improvement_trend(y, direction)
    if p_value < 0.01:
        notes.append(
            f"values improve with trial number (Kendall tau {tau:.2f}, p={p_value:.1g}): the "
            "trials do not look i.i.d. random (an adaptive sampler such as TPE?)"
        )
    if fit.ks_pvalue < 0.05:
        notes.append(
            f"the tail is not well described by a noisy quadratic (KS p={fit.ks_pvalue:.2g}): "
            "treat the estimates as rough"
        )
    if counts["not_finite"]:
        notes.append(f"{counts['not_finite']} completed trials with NaN/inf values were ignored")
    if not math.isfinite(fit.best_interval.low) or not math.isfinite(fit.best_interval.high):
        notes.append("the interval for the best value is open: the data cannot bound it yet")
    if y.size < 50:
        notes.append(f"only {y.size} trials: intervals are wide; 100+ random trials help")
    return notes


def _horizon_grid(horizon: int) -> np.ndarray:
    grid = np.unique(np.round(np.geomspace(1, horizon, 60)).astype(int))
    return grid.astype(float)


def _pointwise_band(
    fit: Any, compute: Any, confidence: float, seed: int, draws: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    samples = np.array([compute(dist) for dist in fit.parameter_draws(draws, seed=seed)])
    alpha = 1.0 - confidence
    return (
        np.nanquantile(samples, alpha / 2, axis=0),
        np.nanquantile(samples, 1 - alpha / 2, axis=0),
    )


def _tuning_curve(
    fit: Any, y: np.ndarray, direction: str, horizon: int, confidence: float, seed: int
) -> TuningCurve:
    n = _horizon_grid(horizon)
    dist = fit.distribution
    low, high = _pointwise_band(fit, lambda d: d.quantile_tuning_curve(n), confidence, seed)
    observed_n = n[n <= y.size]
    return TuningCurve(
        n=n,
        median=dist.quantile_tuning_curve(n),
        expected=dist.expected_tuning_curve(n),
        band_low=low,
        band_high=high,
        observed_n=observed_n,
        observed=empirical_tuning_curve(y, observed_n, direction),
    )


def _extrapolation(fit: Any, n_obs: int, extra: int, confidence: float, seed: int) -> Extrapolation:
    dist = fit.distribution
    points = np.array([n_obs, n_obs + extra], dtype=float)
    low, high = _pointwise_band(fit, lambda d: d.quantile_tuning_curve(points), confidence, seed)
    median = dist.quantile_tuning_curve(points)
    # "How close to the best possible does more search get?" is a question about the configurations'
    # expected values, so it is answered with the noiseless law: the median gap of the best of n to
    # the optimum is (b - a) (1 - 0.5^(1/n))^(2/c), and halving it takes 2^(c/2) times the trials.
    noiseless = dist.noiseless()
    gap = abs(float(noiseless.quantile_tuning_curve(n_obs)) - dist.best)
    targets = {}
    for share in (0.5, 0.1):
        epsilon = share * gap
        if epsilon > 0:
            targets[epsilon] = noiseless.trials_to_reach(epsilon)
    return Extrapolation(
        n_trials=n_obs,
        extra_trials=extra,
        median_now=float(median[0]),
        median_after=float(median[1]),
        median_after_interval=(float(low[1]), float(high[1])),
        trials_to_reach=targets,
    )


def _importance(study: Any, objective: int | None) -> dict[str, float] | None:
    """Optuna's default importance (PED-ANOVA in Optuna 5) on the completed trials, if available."""
    if study is None:
        return None
    import optuna

    params = {name for trial in study.get_trials(deepcopy=False) for name in trial.params}
    if len(params) < 2:
        return None
    target = None
    if len(study.directions) > 1:
        index = objective or 0
        maximize = study.directions[index] == optuna.study.StudyDirection.MAXIMIZE
        sign = -1.0 if maximize else 1.0  # PED-ANOVA ranks low target values as good

        def target(trial: optuna.trial.FrozenTrial) -> float:
            return sign * float(trial.values[index])

    try:
        with warnings.catch_warnings():
            # PED-ANOVA warns whenever a target is given; ours is signed so that low is good.
            warnings.filterwarnings("ignore", message="PedAnovaImportanceEvaluator computes")
            result = optuna.importance.get_param_importances(study, target=target)
    except (ValueError, RuntimeError):
        return None
    return {name: float(value) for name, value in result.items()}
