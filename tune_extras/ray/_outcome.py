"""How a finished Ray task of ``optimize`` ended: a value, pruned, the objective failed, or lost.

:func:`read_outcome` sorts what ``ray.get`` gives into four kinds:

* ``"value"``: the objective returned (:func:`invalid_value_reason` then says whether Optuna can
  take it: one finite-or-infinite number per objective, never NaN);
* ``"pruned"``: the objective raised ``optuna.TrialPruned``;
* ``"failed"``: the objective raised (``RayTaskError``), Ray refused the task for a reason that a
  re-run would meet again (:data:`NOT_RETRIED`), or the result could not be read (another
  exception from ``ray.get``); recorded FAIL, not retried;
* ``"lost"``: the worker, its node or its memory went (``WorkerCrashedError`` for ``os._exit`` or
  SIGKILL, ``NodeDiedError``, ``OutOfMemoryError`` from Ray's memory monitor, ``ObjectLostError``,
  ...: every other ``RayError``); recorded FAIL and re-run with the same parameters.

An ``OutOfMemoryError`` raised inside the objective counts as lost too (Ray's memory monitor is
not the only one that raises it), but a framework's own OOM error (``torch.cuda.OutOfMemoryError``)
is the objective's failure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import ray

NOT_RETRIED: tuple[type[BaseException], ...] = (
    ray.exceptions.RuntimeEnvSetupError,
    ray.exceptions.TaskUnschedulableError,
)
_REASON_CHARS = 500
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # the terminal colours Ray puts in its tracebacks

Kind = Literal["value", "pruned", "failed", "lost"]


@dataclass(frozen=True)
class Outcome:
    """One finished task: its kind, the objective's return value, and why it failed or was lost."""

    kind: Kind
    value: Any = None
    reason: str = ""
    traceback: str = ""


def describe_error(error: BaseException) -> str:
    """``"ValueError: boom"``: the type and the first line of the message, at most 500 characters."""
    message = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {message[0]}" if message else type(error).__name__
    return text[:_REASON_CHARS]


def outcome_of(get: Callable[[], Any]) -> Outcome:
    """The outcome of a task whose result ``get()`` returns or raises (``ray.get(future)``)."""
    try:
        kind, value = get()
    except ray.exceptions.OutOfMemoryError as error:
        # Before RayTaskError: Ray's OOM raised in the worker is an instance of both.
        cause = getattr(error, "cause", None) or error
        return Outcome("lost", reason=describe_error(cause))
    except ray.exceptions.RayTaskError as error:
        cause = error.cause if error.cause is not None else error
        # str() of either form Ray raises is the remote traceback ("ray::run_trial() ...").
        remote = _COLOUR.sub("", str(error))
        return Outcome("failed", reason=describe_error(cause), traceback=remote)
    except NOT_RETRIED as error:
        return Outcome("failed", reason=describe_error(error))
    except ray.exceptions.RayError as error:
        return Outcome("lost", reason=describe_error(error))
    except Exception as error:  # e.g. a return value the driver cannot unpickle
        return Outcome("failed", reason=f"its result could not be read: {describe_error(error)}")
    if kind == "pruned":
        return Outcome("pruned")
    return Outcome("value", value=value)


def read_outcome(future: Any) -> Outcome:
    """The outcome of the finished task ``future``."""
    return outcome_of(lambda: ray.get(future))


def invalid_value_reason(value: Any, n_objectives: int) -> str:
    """Why Optuna cannot record ``value`` for a study of ``n_objectives`` ("" when it can).

    Optuna's rule (``optuna.study._tell``): one float per objective, NaN rejected, infinities kept.
    """
    values = value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
    if len(values) != n_objectives:
        return (
            f"the objective returned {len(values)} value(s) for a study of "
            f"{n_objectives} objective(s): {value!r}"[:_REASON_CHARS]
        )
    for item in values:
        try:
            number = float(item)
        except (TypeError, ValueError):
            return f"the objective returned {item!r}, not a number"[:_REASON_CHARS]
        if math.isnan(number):
            return "the objective returned NaN"
    return ""
