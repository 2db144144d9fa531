"""Read an Optuna study into the analyzer's trials table, without ever writing to it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pandas as pd

from tune_extras.optuna._storage import (
    is_stored_sampler,
    open_journal,
    open_rdb,
    resolve_source,
    stored_sampler,
)

if TYPE_CHECKING:
    import optuna

_STATE_NAMES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")


def open_storage(storage: str) -> Any:
    """Open an Optuna storage read-only from a URL or a path.

    Accepted forms: RDB URLs (``sqlite:///relative.db``, ``sqlite:////absolute.db``,
    ``sqlite+pysqlite:///x.db``, ``postgresql://...``, ``mysql://...``), ``journal:///relative.log``
    (``journal:////absolute.log``), and bare paths of a sqlite file or a journal file. Nothing is
    ever written: a missing file is an error (a typo never creates an empty database), sqlite files
    are opened in SQLite's read-only mode, no table is created, migrated or stamped, and every
    write method of the returned storage raises (see :mod:`tune_extras.optuna._storage`).

    Raises:
        ValueError: For an unknown URL form, a missing file, a file that is not a database or
            journal, a database that is not an Optuna storage, a Ray Tune experiment folder (read
            it with :func:`tune_extras.ray.load_experiment`) or an incompatible schema version.
    """
    source = resolve_source(storage)
    if source.kind == "ray":
        raise ValueError(
            f"{storage!r} is a Ray Tune experiment folder: read it with "
            "tune_extras.ray.load_experiment(folder, metric, mode), or give the command line "
            "--metric NAME --direction minimize|maximize"
        )
    if source.kind == "journal":
        return open_journal(source.location)
    return open_rdb(source.location)


def load_study(storage: str, study_name: str | None = None) -> optuna.Study:
    """Load a study by name (or the only study in the storage) for reading only.

    The study's storage is read-only (:func:`open_storage`) and its sampler refuses to sample
    (a storage does not record how a study was sampled: :func:`load_trials` reports
    ``sampler=None`` for it).
    """
    import optuna

    backend = open_storage(storage)
    try:
        summaries = optuna.get_all_study_summaries(backend, include_best_trial=False)
    except Exception as error:
        raise ValueError(
            f"{storage!r} is not a readable Optuna storage: {str(error).splitlines()[0]}"
        ) from error
    names = [summary.study_name for summary in summaries]
    if not names:
        source = resolve_source(storage)
        if source.kind == "journal" and os.path.getsize(source.location) > 0:
            raise ValueError(
                f"{storage!r} is not an Optuna journal file (or it is corrupt): no study in its "
                f"{os.path.getsize(source.location)} bytes"
            )
        raise ValueError(f"storage {storage!r} holds no study")
    if study_name is None:
        if len(names) != 1:
            raise ValueError(
                f"storage {storage!r} holds {len(names)} studies {names}; name one with study_name"
            )
        study_name = names[0]
    if study_name not in names:
        raise ValueError(f"no study named {study_name!r} in {storage!r}; studies there: {names}")
    return optuna.load_study(
        study_name=study_name, storage=backend, sampler=stored_sampler()
    )


def load_trials(
    study: optuna.Study | str, study_name: str | None = None, objective: int | None = None
) -> pd.DataFrame:
    """The trials of an Optuna study as the analyzer's trials table.

    Args:
        study: An :class:`optuna.Study`, or a storage URL / journal path (see :func:`open_storage`).
        study_name: The study to read when ``study`` is a storage holding several.
        objective: For a multi-objective study, the index of the objective to analyse (required
            there); must be ``None`` or ``0`` for a single-objective study.

    Returns:
        A DataFrame with columns ``number``, ``value`` (float; NaN when the trial has none), ``state``
        (``"COMPLETE"``, ``"PRUNED"``, ``"FAIL"``, ...), ``datetime_start``, ``datetime_complete``,
        ``intermediate_values`` (a dict step -> value: the trial's learning curve, empty when it
        reported none), ``params_<name>`` for
        each hyperparameter and ``user_attrs_<key>`` for each user attribute (Optuna's
        ``trials_dataframe`` naming; the analyzer reads the random-draw mark there); ``attrs``
        holds ``direction``, ``study_name``, ``sampler`` (class name when known, else ``None``),
        ``distributions`` (name -> Optuna distribution, for the parameters whose distribution is
        the same in every trial) and ``metric`` (the objective's name set
        with ``study.set_metric_names``, else ``None``).
    """
    import optuna

    if isinstance(study, str):
        study = load_study(study, study_name)
    elif not isinstance(study, optuna.Study):
        raise TypeError(f"expected an optuna.Study or a storage URL, got {type(study).__name__}")

    directions = study.directions
    if len(directions) > 1:
        if objective is None:
            raise ValueError(
                f"study {study.study_name!r} has {len(directions)} objectives; choose one with "
                "objective=K (0-based)"
            )
        if not 0 <= objective < len(directions):
            raise ValueError(f"objective must be in 0..{len(directions) - 1}, got {objective}")
    elif objective not in (None, 0):
        raise ValueError(f"study {study.study_name!r} has one objective; got objective={objective}")
    index = objective or 0

    rows: list[dict[str, Any]] = []
    distributions: dict[str, Any] = {}
    changing: set[str] = set()
    for trial in study.get_trials(deepcopy=False):
        value = float("nan")
        if trial.values is not None and len(trial.values) > index:
            raw = trial.values[index]
            value = float(raw) if isinstance(raw, int | float) else float("nan")
        row: dict[str, Any] = {
            "number": trial.number,
            "value": value,
            "state": trial.state.name,
            "datetime_start": trial.datetime_start,
            "datetime_complete": trial.datetime_complete,
            "intermediate_values": dict(trial.intermediate_values),
        }
        for name, param in trial.params.items():
            row[f"params_{name}"] = param
        for key, attr in trial.user_attrs.items():
            row[f"user_attrs_{key}"] = attr
        for name, distribution in trial.distributions.items():
            if distributions.setdefault(name, distribution) != distribution:
                changing.add(name)
        rows.append(row)
    table = pd.DataFrame(rows, columns=None if rows else ["number", "value", "state"])
    direction = directions[index]
    table.attrs["direction"] = (
        "maximize" if direction == optuna.study.StudyDirection.MAXIMIZE else "minimize"
    )
    table.attrs["study_name"] = study.study_name
    # A study read from a storage does not know how it was sampled.
    table.attrs["sampler"] = (
        None if is_stored_sampler(study.sampler) else type(study.sampler).__name__
    )
    table.attrs["distributions"] = {
        name: d for name, d in distributions.items() if name not in changing
    }
    names = getattr(study, "metric_names", None)
    table.attrs["metric"] = names[index] if names and len(names) > index else None
    return table
