"""Read a Ray Tune experiment into the analyzer's trials table."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}/"))
        else:
            flat[name] = value
    return flat


def load_experiment(source: Any, metric: str, mode: str) -> pd.DataFrame:
    """A Ray Tune experiment (a ``ResultGrid`` or its folder) as the analyzer's trials table.

    Each trial's value is ``metric`` in its last result. States: ``"FAIL"`` for errored trials or a
    missing/non-numeric metric, ``"PRUNED"`` for trials that stopped at fewer iterations than the
    longest trial (a scheduler stopped them; this assumes every trial had the same budget), else
    ``"COMPLETE"``. Columns: ``number``, ``value``, ``state``, ``training_iteration`` and
    ``params_<name>`` (nested configs flattened with ``/``); ``attrs["direction"]`` from ``mode``,
    ``attrs["metric"]`` the metric's name.

    Args:
        source: A ``ray.tune.ResultGrid`` (from ``Tuner.fit()``) or the experiment folder
            (``<storage_path>/<name>``).
        metric: The metric to analyse.
        mode: ``"min"`` or ``"max"``.

    Example:
        ``tune_extras.analyze(load_experiment("~/ray_results/my_exp", "loss", "min"))``
    """
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    from ray.tune import ExperimentAnalysis, ResultGrid

    records: list[tuple[dict[str, Any], dict[str, Any], bool]] = []
    if isinstance(source, ResultGrid):
        for index in range(len(source)):
            result = source[index]
            records.append(
                (dict(result.metrics or {}), dict(result.config or {}), bool(result.error))
            )
        name = Path(source.experiment_path).name
    else:
        path = Path(source).expanduser()
        if not path.is_dir():
            raise ValueError(f"no Ray Tune experiment folder at {str(path)!r}")
        try:
            analysis = ExperimentAnalysis(str(path), default_metric=metric, default_mode=mode)
        except Exception as error:  # Ray raises several types for unreadable folders
            raise ValueError(
                f"cannot read a Ray Tune experiment at {str(path)!r}: {error}"
            ) from error
        for trial in analysis.trials:
            records.append(
                (dict(trial.last_result or {}), dict(trial.config or {}), trial.status == "ERROR")
            )
        name = path.name
    if not records:
        raise ValueError("the experiment has no trials")
    if not any(metric in metrics for metrics, _, _ in records):
        raise ValueError(f"no trial reported the metric {metric!r}")

    longest = max(int(m.get("training_iteration", 0) or 0) for m, _, _ in records)
    rows = []
    for number, (metrics, config, errored) in enumerate(records):
        raw = metrics.get(metric)
        value = float(raw) if isinstance(raw, int | float) else math.nan
        iterations = int(metrics.get("training_iteration", 0) or 0)
        if errored or math.isnan(value):
            state = "FAIL"
        elif iterations < longest:
            state = "PRUNED"
        else:
            state = "COMPLETE"
        row = {"number": number, "value": value, "state": state, "training_iteration": iterations}
        row.update({f"params_{k}": v for k, v in _flatten(config).items()})
        rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs["direction"] = "minimize" if mode == "min" else "maximize"
    table.attrs["study_name"] = name
    table.attrs["sampler"] = None
    table.attrs["metric"] = metric  # its name tells the analyzer the possible range (loss >= 0)
    return table
