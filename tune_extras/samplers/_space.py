"""A search space as the unit box: the one encoding every tune-extras sampler models in.

Numeric hyperparameters map to ``[0, 1]`` (on a log scale for log-scaled ones); a value on an integer or
stepped grid maps to the centre of its cell, so that the cells ``[low - step/2, high + step/2]`` tile
``[0, 1]`` evenly and rounding a uniform unit coordinate gives every grid value the same chance
(a log-scaled integer ``v`` maps to ``log v`` and owns the cell ``[log(v - 1/2), log(v + 1/2)]``, so
its chance is its share of the log range, as with Optuna's own samplers). Categorical hyperparameters
are kept apart as the index of their choice: they have no order, and each sampler decides how to model
them.

numpy only: no Optuna (its adapter is ``tune_extras.optuna._search_space``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Kind = Literal["float", "int", "categorical"]


@dataclass(frozen=True)
class Dimension:
    """One hyperparameter.

    Args:
        name: The parameter's name.
        kind: ``"float"``, ``"int"`` or ``"categorical"``.
        low, high: Range of a numeric parameter, ``low <= high`` (both > 0 when ``log``).
        log: Whether a numeric parameter is searched on a log scale.
        step: Grid step of a numeric parameter (``None`` for a continuous float; 1 for a plain int).
        choices: The choices of a categorical parameter (at least one).
    """

    name: str
    kind: Kind
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("float", "int", "categorical"):
            raise ValueError(f"kind must be 'float', 'int' or 'categorical', got {self.kind!r}")
        if self.kind == "categorical":
            if not self.choices:
                raise ValueError(f"categorical dimension {self.name!r} needs at least one choice")
            return
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low <= self.high):
            raise ValueError(
                f"dimension {self.name!r} needs finite low <= high, got [{self.low}, {self.high}]"
            )
        if self.log and self.low <= 0:
            raise ValueError(f"log-scaled dimension {self.name!r} needs low > 0, got {self.low}")
        if self.step is not None and not self.step > 0:
            raise ValueError(f"dimension {self.name!r} needs step > 0, got {self.step}")
        if self.log and self.step is not None and self.kind == "float":
            raise ValueError(f"dimension {self.name!r} cannot be both log-scaled and stepped")
        if self.kind == "int" and self.step is None:
            object.__setattr__(self, "step", 1.0)

    @property
    def is_numeric(self) -> bool:
        return self.kind != "categorical"

    @property
    def n_choices(self) -> int:
        """Number of choices of a categorical dimension (0 for a numeric one)."""
        return len(self.choices)

    def _unit_bounds(self) -> tuple[float, float]:
        """The interval of the (log-)value axis that maps onto ``[0, 1]``."""
        half = 0.5 * self.step if self.step is not None else 0.0
        if self.log:
            return math.log(self.low - half), math.log(self.high + half)
        return self.low - half, self.high + half

    def to_unit(self, value: float) -> float:
        lo, hi = self._unit_bounds()
        if hi == lo:
            return 0.5
        x = math.log(value) if self.log else float(value)
        return min(max((x - lo) / (hi - lo), 0.0), 1.0)

    def from_unit(self, unit: float) -> float | int:
        """The parameter value at a unit coordinate: on the grid and inside ``[low, high]``."""
        lo, hi = self._unit_bounds()
        u = min(max(float(unit), 0.0), 1.0)
        x = lo + u * (hi - lo)
        value = math.exp(x) if self.log else x
        if self.step is None and u in (0.0, 1.0):
            value = self.low if u == 0.0 else self.high  # exact ends, whatever exp(log(.)) gives
        if self.step is not None:
            value = self.low + round((value - self.low) / self.step) * self.step
        value = min(max(value, self.low), self.high)
        if self.kind == "int":
            return round(value)
        return float(value)


class SearchSpace:
    """An ordered set of :class:`Dimension` with the unit-box encoding.

    Example:
        >>> space = SearchSpace([Dimension("lr", "float", 1e-4, 1e-1, log=True),
        ...                      Dimension("layers", "int", 1, 4),
        ...                      Dimension("act", "categorical", choices=("relu", "tanh"))])
        >>> unit, index = space.encode({"lr": 1e-4, "layers": 4, "act": "tanh"})
        >>> unit.round(3).tolist(), index.tolist()
        ([0.0, 0.875], [1])
        >>> space.decode(unit, index)
        {'lr': 0.0001, 'layers': 4, 'act': 'tanh'}
    """

    def __init__(self, dimensions: Sequence[Dimension]) -> None:
        names = [d.name for d in dimensions]
        if len(set(names)) != len(names):
            raise ValueError(f"dimension names must be unique, got {names}")
        self.dimensions: tuple[Dimension, ...] = tuple(dimensions)
        self.names: tuple[str, ...] = tuple(names)
        self.numeric: tuple[Dimension, ...] = tuple(d for d in dimensions if d.is_numeric)
        self.categorical: tuple[Dimension, ...] = tuple(d for d in dimensions if not d.is_numeric)
        # Cell width of each numeric dimension in unit coordinates (0 for a continuous float).
        widths = []
        for d in self.numeric:
            lo, hi = d._unit_bounds()
            if d.step is None or hi == lo:
                widths.append(0.0)
            elif d.log:
                widths.append(-1.0)  # log grid: cells of unequal width, snapped one by one
            else:
                widths.append(d.step / (hi - lo))
        self._widths = np.array(widths, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.dimensions)

    def __repr__(self) -> str:
        return f"SearchSpace({list(self.dimensions)!r})"

    def encode(self, params: Mapping[str, Any]) -> tuple[FloatArray, IntArray]:
        """Unit coordinates of the numeric parameters and choice indices of the categorical ones.

        Raises:
            KeyError: When ``params`` lacks one of the space's parameters.
            ValueError: When a categorical value is not one of its choices.
        """
        unit = np.array([d.to_unit(params[d.name]) for d in self.numeric], dtype=np.float64)
        index = np.array([_choice_index(d, params[d.name]) for d in self.categorical], dtype=np.int64)
        return unit, index

    def encode_many(self, params_list: Sequence[Mapping[str, Any]]) -> tuple[FloatArray, IntArray]:
        """:meth:`encode` for many configurations: arrays of shape ``(n, d_numeric)``, ``(n, d_cat)``."""
        units = np.empty((len(params_list), len(self.numeric)), dtype=np.float64)
        indices = np.empty((len(params_list), len(self.categorical)), dtype=np.int64)
        for j, d in enumerate(self.numeric):  # one vectorised column at a time (Dimension.to_unit)
            lo, hi = d._unit_bounds()
            column = np.array([params[d.name] for params in params_list], dtype=np.float64)
            if hi == lo:
                units[:, j] = 0.5
                continue
            x = np.log(column) if d.log else column
            units[:, j] = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
        for j, d in enumerate(self.categorical):
            indices[:, j] = [_choice_index(d, params[d.name]) for params in params_list]
        return units, indices

    def decode(self, unit: FloatArray, indices: IntArray) -> dict[str, Any]:
        """Parameters from unit coordinates (clipped to ``[0, 1]``, rounded to grids) and indices."""
        unit = np.asarray(unit, dtype=np.float64)
        indices = np.asarray(indices, dtype=np.int64)
        if unit.shape != (len(self.numeric),) or indices.shape != (len(self.categorical),):
            raise ValueError(
                f"expected {len(self.numeric)} unit coordinates and {len(self.categorical)} indices, "
                f"got shapes {unit.shape} and {indices.shape}"
            )
        values: dict[str, Any] = {}
        numeric = iter(unit.tolist())
        categorical = iter(indices.tolist())
        for d in self.dimensions:
            if d.is_numeric:
                values[d.name] = d.from_unit(next(numeric))
            else:
                index = next(categorical)
                if not 0 <= index < d.n_choices:
                    raise ValueError(f"index {index} out of range for {d.name!r} ({d.n_choices} choices)")
                values[d.name] = d.choices[index]
        return values

    def snap(self, unit: FloatArray) -> FloatArray:
        """Unit coordinates moved to the centre of their grid cell (floats unchanged).

        ``snap(x)`` is the encoding of ``decode(x)``: two points that decode to the same parameters have
        equal snapped coordinates. Accepts shape ``(d,)`` or ``(n, d)``.
        """
        x = np.clip(np.asarray(unit, dtype=np.float64), 0.0, 1.0)
        out = x.copy()
        for j, d in enumerate(self.numeric):
            width = self._widths[j]
            if width == 0.0:
                continue
            column = x[..., j]
            if width > 0.0:
                # Same rounding as Dimension.from_unit: the grid index nearest to the value.
                n_cells = round(1.0 / width)
                cells = np.clip(np.round(column / width - 0.5), 0, n_cells - 1)
                out[..., j] = (cells + 0.5) * width
            else:
                flat = np.atleast_1d(column)
                snapped = [d.to_unit(d.from_unit(u)) for u in flat.tolist()]
                out[..., j] = np.asarray(snapped).reshape(column.shape)
        return out


def _choice_index(dimension: Dimension, value: Any) -> int:
    for index, choice in enumerate(dimension.choices):
        # Compare type and value, so that True is not taken for 1 nor 1.0 for 1.
        if type(choice) is type(value) and choice == value:
            return index
        if choice is None and value is None:
            return index
    if isinstance(value, float) and math.isnan(value):
        for index, choice in enumerate(dimension.choices):
            if isinstance(choice, float) and math.isnan(choice):
                return index
    raise ValueError(
        f"{value!r} is not one of the choices of {dimension.name!r}: {dimension.choices}"
    )
