"""``analyze``: from an Optuna study, a storage URL or a trials table to a :class:`StudyReport`."""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tune_extras._validation import check_int, loss_sign
from tune_extras.analysis._bounds import Bounds, resolve_bounds
from tune_extras.analysis._randomness import SamplingCheck, sampling_check
from tune_extras.analysis._report import Extrapolation, StudyReport, TuningCurve
from tune_extras.analysis._sample import Sample, select_sample
from tune_extras.analysis._tuning_curve import empirical_median_tuning_curve, improvement_trend
from tune_extras.analysis._verdict import findings
from tune_extras.surface import (
    MAX_DIMENSION,
    MIN_TAIL,
    MIN_TRIALS,
    NearOptimumFit,
    fit_near_optimum,
)

if TYPE_CHECKING:
    import optuna

#: Samplers that draw i.i.d. configurations, as the theory assumes.
RANDOM_SAMPLERS = frozenset({"RandomSampler", "random", "BasicVariantGenerator"})
#: p-value below which an unknown sampler is taken as not random (parameters or trend).
NOT_RANDOM_LEVEL = 1e-3
#: A study whose sampler object is not random is analysed only when the sampling check's p-value
#: is at least this (no sign of adaptive sampling).
LOADED_LEVEL = 0.05
#: p-value of the improvement trend below which a random study gets a drift warning.
TREND_LEVEL = 0.01

#: Verdict for a study that was not a random search.
NOT_RANDOM = (
    "this study was not a random search; its numbers would describe the sampler, not the search "
    "space: use RandomShareSampler to keep a random share (or pass assume_random=True)"
)


def analyze(
    source: optuna.Study | pd.DataFrame | str,
    *,
    study_name: str | None = None,
    objective: int | None = None,
    direction: str | None = None,
    tail: int | float | str = "auto",
    bounds: tuple[float | None, float | None] | str | None = "auto",
    confidence: float = 0.95,
    horizon: int | None = None,
    extra_trials: int = 100,
    importance: bool = True,
    assume_random: bool = False,
    seed: int = 0,
) -> StudyReport:
    """Analyse a finished random search: best possible value, effective dimension, tuning curve.

    Implements the near-optimum theory of Lourie, He & Cho 2025 ("Hyperparameter Loss Surfaces Are
    Simple Near their Optima", arXiv 2510.02721): the best scores of random search follow a noisy
    quadratic law whose parameters are the best possible value, the effective number of
    hyperparameters and the evaluation noise (see :func:`tune_extras.surface.fit_near_optimum`).

    The sample: trials marked as random draws (``RandomShareSampler``) alone when the study has
    any, else every trial; completed trials are observations and pruned trials censored ones
    (worse than the fitted tail). A study whose sampler is not a random sampler, or, when the
    sampler is unknown (a stored study), whose parameters do not follow the search distribution
    or whose values improve with trial number, gets a verdict instead of numbers
    (``assume_random=True`` overrides). Every number is kept inside the objective's possible range
    (``bounds``); the effective dimension is at most the number of numeric hyperparameters.

    Args:
        source: An :class:`optuna.Study`, a storage URL (``sqlite:///x.db``, ``journal:///x.log``, any
            RDB URL) or a trials table (a DataFrame with a ``value`` column, and optionally ``state``,
            ``number``, ``params_<name>`` and ``user_attrs_<name>`` columns; ``attrs["direction"]``
            or ``direction=``; ``attrs["metric"]`` names the metric; ``attrs["distributions"]``
            the search distributions). The study is only read.
        study_name: Which study of the storage to read (needed when it holds several).
        objective: Objective index for multi-objective studies (required there).
        direction: ``"minimize"`` or ``"maximize"``; taken from the study when omitted.
        tail: Tail used by the fit: ``"auto"`` (automatic threshold), a count, or a share.
        bounds: Possible values of the objective: ``"auto"`` (from the metric name and the data, see
            :func:`tune_extras.analysis.resolve_bounds`), a pair ``(low, high)`` (``None`` for an
            open side), or ``None`` for no clipping.
        confidence: Level of the intervals, in ``(0, 1)``.
        horizon: Largest number of trials of the reported tuning curve (default: 10x the trials used).
        extra_trials: "What would this many more trials buy?" (>= 1).
        importance: Compute hyperparameter importances (Optuna's default evaluator) when possible.
        assume_random: Analyse the trials as random search even when the sampler or the tests say
            they are not.
        seed: Seed of every random step (bootstrap, bands), so a report is reproducible.

    Returns:
        A :class:`StudyReport`; ``print(report)`` gives the text report.

    Raises:
        ValueError: For an unknown storage or study, a multi-objective study without ``objective``,
            too few usable trials, constant values, or invalid arguments.

    Example:
        >>> import optuna, tune_extras
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        >>> study.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.2) ** 2, n_trials=200)
        >>> report = tune_extras.analyze(study, importance=False)
        >>> report.best_interval.low <= 0.0 <= report.best_interval.high
        True
        >>> report.effective_dimension
        1
    """
    check_int("extra_trials", extra_trials, low=1)
    if horizon is not None:
        check_int("horizon", horizon, low=1)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    study, table = _load(source, study_name, objective)
    direction = direction or table.attrs.get("direction")
    if direction not in ("minimize", "maximize"):
        raise ValueError(
            f"direction must be 'minimize' or 'maximize' (pass direction= or set "
            f"table.attrs['direction']), got {direction!r}"
        )
    sample = select_sample(table)
    counts, y, n_worse = sample.counts, sample.values, sample.n_worse
    what = "trials marked as random draws" if sample.random_draws_only else "trials"
    if counts["used"] + n_worse < MIN_TRIALS:
        raise ValueError(
            f"the analysis needs at least {MIN_TRIALS} completed or pruned {what} with finite "
            f"values; this study has {counts['used']} completed and {n_worse} pruned (of "
            f"{counts['total']} trials)"
        )
    if y.size and np.ptp(y) == 0:
        raise ValueError(f"all {y.size} completed trials have the same value {y[0]}")
    resolved = resolve_bounds(bounds, y, direction, table.attrs.get("metric"))
    best_observed = float(
        (np.min(y) if direction == "minimize" else np.max(y)) if y.size else np.nan
    )
    sampler = table.attrs.get("sampler")
    distributions = table.attrs.get("distributions") or {}
    refusal = None
    if counts["used"] < MIN_TAIL:
        refusal = (
            f"only {counts['used']} {what} ran to the end ({n_worse} were pruned): the tail fit "
            f"needs at least {MIN_TAIL} completed values; run more trials or prune less "
            "aggressively"
        )
    check = None
    if sampler not in RANDOM_SAMPLERS and not sample.random_draws_only:
        rows = sample.rows if sample.rows is not None else pd.DataFrame()
        check = sampling_check(rows, distributions, seed)
    if refusal is None and not assume_random:
        refusal = _refusal(sampler, sample, check, direction)
    report_fields: dict[str, Any] = {
        "study_name": table.attrs.get("study_name"),
        "direction": direction,
        "sampler": sampler,
        "trial_counts": counts,
        "best_observed": best_observed,
        "importances": _importance(study, objective) if importance else None,
        "bounds": resolved,
        "random_draws_only": sample.random_draws_only,
        "trials": table,
    }
    if refusal is not None:
        return StudyReport(
            fit=None, tuning_curve=None, extrapolation=None, warnings=(), refusal=refusal,
            **report_fields,
        )
    n_numeric = _numeric_count(distributions)
    fit = _fit(y, direction, tail, n_worse, resolved, confidence, seed, n_numeric)
    n_obs = y.size + n_worse
    horizon = horizon or 10 * n_obs
    found = findings(
        fit, y, n_worse, direction, resolved, extra_trials, horizon, confidence, seed,
        n_numeric or None,
    )
    curve = found.curve
    observed_n = curve["n"][curve["n"] <= n_obs]
    observed = empirical_median_tuning_curve(y, observed_n, direction, n_worse)
    tuning_curve = TuningCurve(
        n=curve["n"],
        median=curve["median"],
        expected=curve["expected"],
        band_low=curve["band_low"],
        band_high=curve["band_high"],
        observed_n=observed_n[np.isfinite(observed)],
        observed=observed[np.isfinite(observed)],
        notes=found.curve_notes,
    )
    extrapolation = Extrapolation(
        n_trials=n_obs,
        extra_trials=extra_trials,
        median_now=found.observed_now.estimate,
        median_after=found.observed_after.estimate,
        median_after_interval=(found.observed_after.low, found.observed_after.high),
        gain=float(found.gain.estimate or 0.0),
        gain_interval=(found.gain.low, found.gain.high),
        trials_to_reach=found.targets,
    )
    notes = _warnings(sampler, sample, check, direction, fit, assume_random)
    inside = _pruned_inside(sample, direction, fit)
    if inside:
        found = replace(found, verdict=(PRUNED_INSIDE.format(inside=inside), *found.verdict))
    return StudyReport(
        fit=fit,
        tuning_curve=tuning_curve,
        extrapolation=extrapolation,
        warnings=tuple(notes),
        findings=found,
        **report_fields,
    )


def _load(
    source: optuna.Study | pd.DataFrame | str, study_name: str | None, objective: int | None
) -> tuple[Any, pd.DataFrame]:
    """The study (``None`` for a table) and its trials table."""
    if isinstance(source, pd.DataFrame):
        return None, source
    from tune_extras.optuna._loader import load_study, load_trials

    if isinstance(source, str):
        study = load_study(source, study_name)
        table = load_trials(study, objective=objective)
        table.attrs["sampler"] = None  # a loaded study does not know how it was sampled
        return study, table
    return source, load_trials(source, objective=objective)


def _refusal(
    sampler: str | None, sample: Sample, check: SamplingCheck | None, direction: str
) -> str | None:
    """Why the study cannot be analysed as a random search, or ``None``; ``check`` is the
    sampling check of a study whose sampler is not a random one (or unknown).

    A study whose sampler object is not random (a study opened with ``optuna.load_study`` gets
    Optuna's default TPE sampler, whatever ran it) is analysed only when its parameters show no
    sign at all of adaptive sampling (p >= :data:`LOADED_LEVEL`)."""
    if sample.random_draws_only or sampler in RANDOM_SAMPLERS or check is None:
        return None
    who = "the sampler is unknown" if sampler is None else f"sampler: {sampler}"
    if check.p_value < NOT_RANDOM_LEVEL:
        return (
            f"{NOT_RANDOM} [{who}, and the values of {check.parameter!r} do not "
            f"follow its search distribution as random search draws them: Kolmogorov-Smirnov "
            f"p = {check.p_value:.1g} over {check.n_parameters} parameters]"
        )
    if sampler is not None and (check.n_parameters == 0 or check.p_value < LOADED_LEVEL):
        return f"{NOT_RANDOM} [sampler: {sampler}]"
    if sample.n_worse == 0 and sample.values.size >= 3:
        tau, p_value = improvement_trend(sample.values, direction)
        if p_value < NOT_RANDOM_LEVEL:
            return (
                f"{NOT_RANDOM} [{who}, and the values improve with trial number: "
                f"Kendall tau {tau:.2f}, p = {p_value:.1g}]"
            )
    return None


def _numeric_count(distributions: dict[str, Any]) -> int:
    """The numeric hyperparameters with more than one value (0 when unknown): the effective
    dimension is the rank of a Hessian over them, so at most their number."""
    return sum(
        getattr(d, "choices", None) is None and getattr(d, "high", 0) != getattr(d, "low", 0)
        for d in distributions.values()
    )


def _fit(
    y: np.ndarray,
    direction: str,
    tail: int | float | str,
    n_worse: int,
    bounds: Bounds,
    confidence: float,
    seed: int,
    n_numeric: int,
) -> NearOptimumFit:
    physical = None if bounds.source == "none" else (bounds.low, bounds.high)
    try:
        return fit_near_optimum(
            y,
            direction,
            tail=tail,
            n_worse=n_worse,
            bounds=physical,
            confidence=confidence,
            seed=seed,
            max_dimension=min(MAX_DIMENSION, n_numeric) if n_numeric else MAX_DIMENSION,
        )
    except ValueError as error:
        raise ValueError(f"the tail fit failed on this study: {error}") from error


def _warnings(
    sampler: str | None,
    sample: Sample,
    check: SamplingCheck | None,
    direction: str,
    fit: NearOptimumFit,
    assume_random: bool,
) -> list[str]:
    notes = []
    random_known = sample.random_draws_only or sampler in RANDOM_SAMPLERS
    if check is not None and sampler is not None and not assume_random:
        notes.append(
            f"the study's sampler is {sampler}, but its parameters follow the search distribution "
            f"as random search draws them (p = {check.p_value:.2g}): a study opened with "
            "optuna.load_study gets Optuna's default sampler, so it is analysed as a random search"
        )
    elif check is not None and not assume_random:
        checked = (
            f"the values of its {check.n_parameters} parameters follow the search distribution"
            if check.n_parameters
            else "it records no parameters to check against the search distribution"
        )
        trend = "" if sample.n_worse else " and its values show no trend with trial number"
        notes.append(
            f"the sampler is unknown (a stored study or a table does not record it); {checked}"
            f"{trend}, so it is analysed as a random search"
        )
    elif not random_known and assume_random:
        notes.append(
            f"the study used {sampler or 'an unknown sampler'}, analysed as random search on request"
        )
    if random_known and sample.n_worse == 0 and sample.values.size >= 3:
        tau, p_value = improvement_trend(sample.values, direction)
        if p_value < TREND_LEVEL:
            notes.append(
                f"values improve with trial number (Kendall tau {tau:.2f}, p={p_value:.1g}) "
                "although the trials are random draws: the objective may drift over time"
            )
    if fit.ks_pvalue < 0.05:
        notes.append(
            f"the tail is not well described by a noisy quadratic (KS p={fit.ks_pvalue:.2g}): "
            "treat the estimates as rough"
        )
    if sample.counts["not_finite"]:
        notes.append(
            f"{sample.counts['not_finite']} completed trials with NaN/inf values were ignored"
        )
    if sample.n_worse:
        notes += _pruning_notes(sample, direction, fit)
    used = sample.values.size
    if used < 50:
        notes.append(f"only {used} completed trials: intervals are wide; 100+ random trials help")
    return notes


def _pruning_notes(sample: Sample, direction: str, fit: NearOptimumFit) -> list[str]:
    """The censoring assumption for pruned trials, and the pruned trials that contradict it.

    A pruned trial's recorded value is where its curve stood when it was stopped; a curve that
    improves with training ends at least that good, so a pruned trial already better than the
    threshold would have finished inside the tail, against the assumption.
    """
    notes = [
        f"{sample.n_worse} pruned trials are assumed worse than the fitted tail (threshold "
        f"{fit.threshold:.4g}); a pruner that stops good trials biases the estimates"
    ]
    inside = _pruned_inside(sample, direction, fit)
    if inside:
        notes.append(
            f"{inside} pruned trials had already reached values inside the fitted tail when they "
            "were stopped: the pruner stopped trials that belong to the tail"
        )
    return notes


def _pruned_inside(sample: Sample, direction: str, fit: NearOptimumFit) -> int:
    """Pruned trials whose recorded value (where their curve stood when stopped) is already
    inside the fitted tail."""
    sign = loss_sign(direction)
    return int(np.sum(sign * sample.pruned_last <= sign * fit.threshold))


#: Verdict for a pruned study whose pruner stopped trials inside the tail.
PRUNED_INSIDE = (
    "the pruner stopped {inside} trials that had already reached the best values (the fitted "
    "tail), so the completed trials are not the best of a random search and the estimates below "
    "are biased (in replayed searches, toward a too good best value); for a reliable estimate, "
    "keep a share of random draws unpruned (RandomShareSampler with SpareRandomDraws)"
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
