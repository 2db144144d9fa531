"""Read a Ray Tune experiment into the analyzer's trials table, from its JSON files only.

A Ray Tune experiment folder holds ``experiment_state-<time>.json`` (each trial's status, config
and last result, as JSON text), one folder per trial with ``result.json`` (one JSON line per
report), and pickles: ``tuner.pkl``, ``params.pkl``, ``error.pkl``, and cloudpickle blobs embedded
in the state file (``{"_type": "CLOUDPICKLE_FALLBACK", ...}``) for values JSON cannot hold. Ray's
own readers (``ExperimentAnalysis``, ``Tuner.restore``) unpickle those, and unpickling runs
whatever code the file names: on a folder from someone else that is running their code. This
reader parses the newest state file and the ``result.json`` files with the standard ``json``
module and never unpickles; an embedded blob becomes the string :data:`PICKLED_VALUE`.

Ray's statuses map to the table's states: ``TERMINATED`` -> ``COMPLETE``, or ``PRUNED`` when the
trial ran fewer iterations than the longest terminated trial (a scheduler stopped it; this assumes
one budget for all); ``ERROR`` or no numeric metric -> ``FAIL``; ``RUNNING``/``PAUSED`` ->
``RUNNING`` and ``PENDING`` -> ``WAITING`` (an interrupted experiment: the analyzer counts these
and leaves them out of the fit).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tune_extras._validation import mode_to_direction

#: What a config value stored as a cloudpickle blob becomes (it is never unpickled).
PICKLED_VALUE = "<pickled by Ray: not loaded>"
_STATE_FILE = re.compile(r"experiment_state-.*\.json")
_STATES = {
    "TERMINATED": "COMPLETE",
    "ERROR": "FAIL",
    "RUNNING": "RUNNING",
    "PAUSED": "RUNNING",
    "PENDING": "WAITING",
}


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value.get("_type") == "CLOUDPICKLE_FALLBACK":
            flat[name] = PICKLED_VALUE
        elif isinstance(value, dict):
            flat.update(_flatten(value, f"{name}/"))
        else:
            flat[name] = value
    return flat


def _last_json_line(text: str) -> dict[str, Any]:
    """The last complete JSON object of a ``result.json`` (a line cut by a crash is skipped)."""
    for line in reversed(text.splitlines()):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            return record
    return {}


def _trial_index(trial_id: str) -> tuple[float, str]:
    """``"b573b_00004"`` -> ``(4, "b573b")``: Ray's creation order of the trials."""
    head, _, tail = trial_id.rpartition("_")
    return (int(tail), head) if tail.isdigit() else (math.inf, trial_id)


@dataclass(frozen=True)
class _Record:
    id: str
    status: str
    config: dict[str, Any]
    result: dict[str, Any]


def _read_records(
    list_names: Callable[[], list[str]], read_text: Callable[[str], str | None]
) -> list[_Record]:
    """Each trial's ``status``, ``config`` and last result, in Ray's creation order."""
    names = sorted(name for name in list_names() if _STATE_FILE.fullmatch(name))
    if not names:
        raise ValueError("no experiment_state-*.json file: not a Ray Tune experiment folder")
    state = json.loads(read_text(names[-1]) or "{}")
    records = []
    for trial_json, metadata_json in state.get("trial_data", []):
        trial = json.loads(trial_json)
        metadata = json.loads(metadata_json)
        last = metadata.get("last_result") or {}
        logged = read_text(f"{trial.get('relative_logdir', '')}/result.json")
        if logged:
            last = _last_json_line(logged) or last
        records.append(
            _Record(
                id=str(trial.get("trial_id", "")),
                status=str(trial.get("status", "")),
                config=trial.get("config") or {},
                result=last if isinstance(last, dict) else {},
            )
        )
    records.sort(key=lambda r: _trial_index(r.id))
    return records


def _local_reader(
    folder: Path,
) -> tuple[Callable[[], list[str]], Callable[[str], str | None]]:
    def read_text(name: str) -> str | None:
        path = folder / name
        return path.read_text() if path.is_file() else None

    return (lambda: [p.name for p in folder.iterdir()]), read_text


def _filesystem_reader(
    filesystem: Any, folder: str
) -> tuple[Callable[[], list[str]], Callable[[str], str | None]]:
    """A reader through the ``pyarrow.fs`` filesystem of a ``ResultGrid`` (local or remote)."""
    from pyarrow import fs

    def list_names() -> list[str]:
        return [
            Path(info.path).name
            for info in filesystem.get_file_info(fs.FileSelector(folder, allow_not_found=True))
        ]

    def read_text(name: str) -> str | None:
        path = f"{folder}/{name}"
        if filesystem.get_file_info(path).type != fs.FileType.File:
            return None
        with filesystem.open_input_stream(path) as stream:
            return str(stream.readall().decode())

    return list_names, read_text


def _reader(
    source: Any,
) -> tuple[str, Callable[[], list[str]], Callable[[str], str | None]]:
    """The experiment's folder and how to list and read its files, for a grid or a folder."""
    from ray.tune import ResultGrid

    if isinstance(source, ResultGrid):
        folder = str(source.experiment_path)
        return (folder, *_filesystem_reader(source.filesystem, folder))
    path = Path(source).expanduser()
    if not path.is_dir():
        raise ValueError(f"no Ray Tune experiment folder at {str(path)!r}")
    return (str(path), *_local_reader(path))


def _state(status: str, value: float, iterations: int, longest: int) -> str:
    state = _STATES.get(status, "FAIL")
    if state == "COMPLETE" and math.isnan(value):
        return "FAIL"
    if state == "COMPLETE" and iterations < longest:
        return "PRUNED"
    return state


def _rows(records: list[_Record], metric: str) -> list[dict[str, Any]]:
    """One table row per trial: number, value, state, training_iteration and params."""
    results = [_flatten(r.result) for r in records]
    if not any(metric in result for result in results):
        raise ValueError(f"no trial reported the metric {metric!r}")
    iterations = [int(result.get("training_iteration", 0) or 0) for result in results]
    longest = max(
        (n for n, r in zip(iterations, records, strict=True) if r.status == "TERMINATED"),
        default=0,
    )
    rows = []
    for number, (record, result) in enumerate(zip(records, results, strict=True)):
        raw = result.get(metric)
        value = (
            float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else math.nan
        )
        row = {
            "number": number,
            "value": value,
            "state": _state(record.status, value, iterations[number], longest),
            "training_iteration": iterations[number],
        }
        row.update({f"params_{k}": v for k, v in _flatten(record.config).items()})
        rows.append(row)
    return rows


def load_experiment(source: Any, metric: str, mode: str) -> pd.DataFrame:
    """A Ray Tune experiment (a ``ResultGrid`` or its folder) as the analyzer's trials table.

    Reads JSON files only, never Ray's pickles, so an experiment folder from someone else can be
    read safely (see the module docstring). Each trial's value is ``metric`` in its last result
    (nested metrics as ``"a/b"``). States: ``"COMPLETE"``; ``"PRUNED"`` for a terminated trial
    that ran fewer iterations than the longest terminated one (a scheduler stopped it; this
    assumes every trial had the same budget); ``"FAIL"`` for errored trials or a missing or
    non-numeric metric; ``"RUNNING"`` and ``"WAITING"`` for trials still running (or paused) or
    not started when an interrupted experiment was last saved, which the analyzer leaves out.
    Rows are in Ray's creation order. Columns: ``number``, ``value``, ``state``,
    ``training_iteration`` and ``params_<name>`` (nested configs flattened with ``/``; a value Ray
    stored pickled reads :data:`PICKLED_VALUE`); ``attrs["direction"]`` from ``mode``,
    ``attrs["metric"]`` the metric's name, ``attrs["study_name"]`` the folder's name.

    Args:
        source: A ``ray.tune.ResultGrid`` (from ``Tuner.fit()``; its files are read through its
            filesystem, so remote storage works) or the local experiment folder
            (``<storage_path>/<name>``).
        metric: The metric to analyse.
        mode: ``"min"`` or ``"max"``.

    Example:
        ``tune_extras.analyze(load_experiment("~/ray_results/my_exp", "loss", "min"))``
    """
    direction = mode_to_direction(mode)
    folder, list_names, read_text = _reader(source)
    try:
        records = _read_records(list_names, read_text)
    except ValueError as error:  # json.JSONDecodeError is a ValueError
        raise ValueError(f"cannot read a Ray Tune experiment at {folder!r}: {error}") from error
    if not records:
        raise ValueError("the experiment has no trials")
    table = pd.DataFrame(_rows(records, metric))
    table.attrs["direction"] = direction
    table.attrs["study_name"] = Path(folder.rstrip("/")).name
    table.attrs["sampler"] = None
    table.attrs["metric"] = metric  # its name tells the analyzer the possible range (loss >= 0)
    return table
