"""The worker side of ``optimize``: the trial an objective sees, and the channel to the driver.

A remote objective calls Optuna's ``Trial`` API on a :class:`RemoteTrial`; each call is a request
in a small :class:`Mailbox` actor, which the driver answers with the real ``optuna.Trial``
(:func:`answer`). So only the driver ever touches the study's storage.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import optuna
import ray

_POLL_S = 0.002
_TRIAL_METHODS = ("report", "should_prune", "set_user_attr")

Request = tuple[int, int, str, tuple[Any, ...], dict[str, Any]]


@ray.remote(num_cpus=0)
class Mailbox:
    """Requests ``(trial key, sequence number, method, args, kwargs)`` and the driver's replies."""

    def __init__(self) -> None:
        self._requests: list[Request] = []
        self._replies: dict[tuple[int, int], tuple[bool, Any]] = {}

    def request(
        self, key: int, seq: int, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        self._requests.append((key, seq, method, args, kwargs))

    def take_requests(self) -> list[Request]:
        requests, self._requests = self._requests, []
        return requests

    def reply(self, key: int, seq: int, ok: bool, value: Any) -> None:
        self._replies[(key, seq)] = (ok, value)

    def take_reply(self, key: int, seq: int) -> tuple[bool, Any] | None:
        return self._replies.pop((key, seq), None)


class RemoteTrial:
    """The trial an objective sees inside a Ray task: Optuna's ``Trial`` API, answered by the driver."""

    def __init__(self, mailbox: Any, key: int, number: int) -> None:
        self._mailbox = mailbox
        self._key = key
        self._seq = 0
        self.number = number

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        self._seq += 1
        ray.get(self._mailbox.request.remote(self._key, self._seq, method, args, kwargs))
        while True:
            answer = ray.get(self._mailbox.take_reply.remote(self._key, self._seq))
            if answer is not None:
                ok, value = answer
                if not ok:
                    raise value
                return value
            time.sleep(_POLL_S)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("suggest_") or name in _TRIAL_METHODS:
            return lambda *args, **kwargs: self._call(name, *args, **kwargs)
        raise AttributeError(name)

    @property
    def params(self) -> dict[str, Any]:
        return self._call("params")  # type: ignore[no-any-return]


@ray.remote
def run_trial(objective: Callable[[Any], Any], mailbox: Any, key: int, number: int) -> Any:
    """``("value", objective(trial))`` or ``("pruned", None)``; other exceptions propagate."""
    trial = RemoteTrial(mailbox, key, number)
    try:
        return ("value", objective(trial))
    except optuna.TrialPruned:
        return ("pruned", None)


def answer(trial: optuna.Trial, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The driver's answer to one request of a remote trial."""
    if method == "params":
        return dict(trial.params)
    if not (method.startswith("suggest_") or method in _TRIAL_METHODS):
        raise AttributeError(f"a remote trial has no method {method!r}")
    return getattr(trial, method)(*args, **kwargs)
