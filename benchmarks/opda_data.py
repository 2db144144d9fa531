"""Loaders for the real random searches in ``../shared/data/opda`` (CC BY-SA 4.0, Nicholas Lourie).

The data are read in place from the ``shared`` folder beside the repository (or from the folder named
by the ``TUNE_EXTRAS_SHARED`` environment variable); they are not copied into this project.

Each run is returned as an :class:`OpdaRun`: its hyperparameters, its learning curve (resource and
value arrays) and its final value. DeBERTa curves are MultiNLI-matched accuracy every 1,000 steps;
AlexNet curves are ImageNet top-1 accuracy per epoch.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DATASETS = ("deberta-base", "deberta-v3-base", "alexnet")


def shared_dir() -> Path:
    """The ``shared`` folder: ``$TUNE_EXTRAS_SHARED`` or ``<repo>/../shared``."""
    env = os.environ.get("TUNE_EXTRAS_SHARED")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared"


def opda_dir() -> Path:
    return shared_dir() / "data" / "opda"


@dataclass(frozen=True)
class OpdaRun:
    """One random-search configuration and its recorded learning curve (accuracy, to maximise)."""

    config: dict[str, Any]
    resource: np.ndarray  # steps (DeBERTa) or epochs starting at 1 (AlexNet)
    values: np.ndarray  # accuracy at each resource; NaN where the run diverged
    diverged: bool = field(default=False)

    @property
    def final(self) -> float:
        """Last recorded value; NaN for a run that recorded nothing (diverged at once)."""
        return float(self.values[-1]) if len(self.values) else math.nan


def _path(name: str) -> Path:
    if name == "alexnet":
        return opda_dir() / "alexnet" / "alexnet_tuning.results.jsonl"
    if name in ("deberta-base", "deberta-v3-base"):
        return opda_dir() / "deberta" / f"{name}_tuning.results.jsonl"
    raise ValueError(f"unknown opda dataset {name!r}; expected one of {DATASETS}")


def load_runs(name: str) -> list[OpdaRun]:
    """Load every run of one opda random search (``deberta-base``, ``deberta-v3-base``, ``alexnet``)."""
    path = _path(name)
    if not path.exists():
        raise FileNotFoundError(
            f"opda data not found at {path}; set TUNE_EXTRAS_SHARED to the shared folder"
        )
    runs = []
    with path.open() as handle:
        for line in handle:
            record = json.loads(line)
            if name == "alexnet":
                curve = record.pop("learning_curve")
                resource = np.array([point["epoch"] + 1 for point in curve], dtype=float)
                values = np.array(
                    [point["top_1"] if point["top_1"] is not None else math.nan for point in curve],
                    dtype=float,
                )
                diverged = bool(record.get("nan_train_loss", False))
            else:
                curves = record.pop("learning_curves")
                pairs = np.array(curves["matched"], dtype=float)
                resource, values = pairs[:, 0], pairs[:, 1]
                diverged = False
            runs.append(OpdaRun(config=record, resource=resource, values=values, diverged=diverged))
    return runs


def final_scores(name: str) -> np.ndarray:
    """Final accuracy of every run, in search order (the data the published fits use)."""
    return np.array([run.final for run in load_runs(name)])
