"""Argument checks and optimisation directions, shared by every module (imports neither optuna nor ray).

Every public constructor of tune-extras validates its arguments at once and raises a
:class:`ValueError` that names the argument and the value it got. The checks live here, once:

* :func:`check_int`: a true ``int`` (``bool`` and floats rejected) within bounds;
* :func:`check_real`: a finite real number (``bool`` and strings rejected) within bounds, each
  bound open or closed;
* :func:`check_choice`: one of a few strings;
* :func:`check_int_or_auto`: ``"auto"`` or an int within bounds (resources of pruners).

Directions have one spelling inside tune-extras, ``"minimize"`` or ``"maximize"``
(:data:`Direction`). :func:`parse_direction` accepts exactly those two strings, or an enum whose
name is ``MINIMIZE`` / ``MAXIMIZE`` (Optuna's ``StudyDirection``, read by name so that Optuna is not
imported), and rejects anything else: ``"min"`` is an error, never a silent maximisation. Ray's
``mode`` (``"min"`` / ``"max"``) goes through :func:`parse_mode` and :func:`mode_to_direction`.
:func:`loss_sign` is the factor that turns a value into a loss (lower is better).

Example:
    >>> from tune_extras._validation import check_int, parse_direction
    >>> check_int("reduction_factor", 3, low=2)
    3
    >>> check_int("reduction_factor", True, low=2)
    Traceback (most recent call last):
    ...
    ValueError: reduction_factor must be an int >= 2, got True
    >>> parse_direction("min")
    Traceback (most recent call last):
    ...
    ValueError: direction must be 'minimize' or 'maximize', got 'min'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, Literal, cast

Direction = Literal["minimize", "maximize"]
Mode = Literal["min", "max"]
DIRECTIONS: tuple[Direction, Direction] = ("minimize", "maximize")


def _bounds(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return " and ".join(parts)


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` if it is an ``int`` (not a ``bool``) in ``[low, high]``, else a ValueError."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    if ok and ((low is not None and value < low) or (high is not None and value > high)):
        ok = False
    if not ok:
        bounds = _bounds(low, high, False, False)
        raise ValueError(f"{name} must be an int{' ' + bounds if bounds else ''}, got {value!r}")
    return int(value)


def check_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``float(value)`` for a finite real number within the bounds (open or closed), else a ValueError.

    Strings (``"0.05"``), ``bool``, NaN and infinities are rejected with the argument's name.
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    number = float(value) if ok else math.nan
    ok = ok and math.isfinite(number)
    if ok and low is not None:
        ok = number > low if low_open else number >= low
    if ok and high is not None:
        ok = number < high if high_open else number <= high
    if not ok:
        bounds = _bounds(low, high, low_open, high_open)
        what = f"a finite number{' ' + bounds if bounds else ''}"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return number


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else a ValueError listing them."""
    if not isinstance(value, str) or value not in choices:
        listed = " or ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be {listed}, got {value!r}")
    return value


def check_int_or_auto(
    name: str, value: Any, *, low: int = 1, high: int | None = None
) -> int | Literal["auto"]:
    """``"auto"`` or an int within bounds (a resource that may be learned from the study)."""
    if value == "auto" and isinstance(value, str):
        return "auto"
    try:
        return check_int(name, value, low=low, high=high)
    except ValueError:
        bounds = _bounds(low, high, False, False)
        raise ValueError(f"{name} must be 'auto' or an int {bounds}, got {value!r}") from None


def parse_direction(value: Any, name: str = "direction") -> Direction:
    """``"minimize"`` or ``"maximize"`` from that string or an enum named ``MINIMIZE``/``MAXIMIZE``."""
    text = value
    if not isinstance(value, str):
        text = getattr(value, "name", None)
        text = text.lower() if isinstance(text, str) else None
    if text not in DIRECTIONS:
        raise ValueError(f"{name} must be 'minimize' or 'maximize', got {value!r}")
    return cast(Direction, text)


def parse_mode(value: Any, name: str = "mode") -> Mode | None:
    """Ray Tune's ``mode``: ``"min"``, ``"max"`` or ``None`` (given later by ``TuneConfig``)."""
    if value is None:
        return None
    return cast(Mode, check_choice(name, value, ("min", "max")))


def mode_to_direction(mode: Any) -> Direction:
    """``"min"`` -> ``"minimize"``, ``"max"`` -> ``"maximize"`` (anything else: a ValueError)."""
    parsed = parse_mode(mode)
    if parsed is None:
        raise ValueError("mode must be 'min' or 'max', got None")
    return "minimize" if parsed == "min" else "maximize"


def loss_sign(direction: Any) -> float:
    """``1.0`` to minimise, ``-1.0`` to maximise: ``sign * value`` is a loss (lower is better)."""
    return 1.0 if parse_direction(direction) == "minimize" else -1.0
