"""What tune-extras' Ray Tune schedulers share: metric and mode, and JSON state for save/restore."""

from __future__ import annotations

import json
from typing import Any

from ray.tune.schedulers import FIFOScheduler

from tune_extras._validation import Direction, mode_to_direction, parse_mode


class MetricScheduler(FIFOScheduler):
    """A FIFO scheduler on one metric whose state is a JSON-able dict.

    Subclasses define ``state_dict`` / ``load_state_dict``; ``save`` / ``restore`` write and read it
    as JSON, and :class:`~tune_extras.ray.SchedulerStateCallback` carries it across
    ``Tuner.restore``.
    """

    def __init__(self, metric: str | None, mode: str | None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._metric = metric
        self._mode = parse_mode(mode)

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        if self._metric and metric and self._metric != metric:
            return False
        if self._mode and mode and self._mode != mode:
            return False
        self._metric = self._metric or metric
        self._mode = self._mode or parse_mode(mode)
        return True

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        if not self._metric or self._mode not in ("min", "max"):
            raise ValueError(
                f"{type(self).__name__} needs metric and mode (here or in tune.TuneConfig)"
            )

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "w") as handle:
            json.dump(self.state_dict(), handle)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path) as handle:
            self.load_state_dict(json.load(handle))

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def _direction(self) -> Direction:
        return mode_to_direction(self._mode)
