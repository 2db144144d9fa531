"""Run an Optuna study's trials as Ray tasks: GPUs per trial, any storage, pruning, retries.

The driver owns the study: it asks trials, answers the remote trials' ``suggest_*``, ``report`` and
``should_prune`` calls through a small mailbox actor, and tells the results. So the study's storage
(in-memory, sqlite, journal or RDB) is only ever touched by the driver process, and any Optuna
sampler and pruner works unchanged. Each trial runs in a Ray task holding ``resources_per_trial``;
Ray sets ``CUDA_VISIBLE_DEVICES`` for it, so trials never share a GPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import optuna
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from tqdm.auto import tqdm

_POLL_S = 0.002
_RETRY_ATTR = "tune_extras:retry_of"


@ray.remote(num_cpus=0)
class _Mailbox:
    """Requests from remote trials to the driver, and the driver's replies."""

    def __init__(self) -> None:
        self._requests: list[tuple[int, int, str, tuple[Any, ...], dict[str, Any]]] = []
        self._replies: dict[tuple[int, int], tuple[bool, Any]] = {}

    def request(
        self, key: int, seq: int, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        self._requests.append((key, seq, method, args, kwargs))

    def take_requests(self) -> list[tuple[int, int, str, tuple[Any, ...], dict[str, Any]]]:
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
        if name.startswith("suggest_") or name in (
            "report",
            "should_prune",
            "set_user_attr",
        ):
            return lambda *args, **kwargs: self._call(name, *args, **kwargs)
        raise AttributeError(name)

    @property
    def params(self) -> dict[str, Any]:
        return self._call("params")  # type: ignore[no-any-return]


@ray.remote
def _run_trial(objective: Callable[[Any], float], mailbox: Any, key: int, number: int) -> Any:
    trial = RemoteTrial(mailbox, key, number)
    try:
        return ("value", objective(trial))
    except optuna.TrialPruned:
        return ("pruned", None)


def _answer(trial: optuna.Trial, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if method == "params":
        return dict(trial.params)
    return getattr(trial, method)(*args, **kwargs)


def optimize(
    study: optuna.Study,
    objective: Callable[[Any], float],
    n_trials: int,
    *,
    resources_per_trial: dict[str, float] | None = None,
    max_concurrent: int | None = None,
    max_retries: int = 2,
    timeout: float | None = None,
    address: str | None = None,
    show_progress_bar: bool = False,
) -> optuna.Study:
    """Run ``n_trials`` trials of ``objective`` for ``study`` as Ray tasks.

    Args:
        study: Any single- or multi-objective Optuna study; its storage is used by the driver only.
        objective: ``objective(trial) -> value``, written against Optuna's ``Trial`` API
            (``suggest_*``, ``report``, ``should_prune``, ``set_user_attr``, ``number``, ``params``);
            raise ``optuna.TrialPruned`` to prune. Must be picklable (Ray ships it to workers).
        n_trials: Trials to finish (``>= 1``); a retried trial does not count twice.
        resources_per_trial: Ray resources of each trial, e.g. ``{"cpu": 4, "gpu": 1}``
            (default one CPU).
        max_concurrent: Most trials at once (default: as many as the cluster fits).
        max_retries: How often a trial whose worker or node died is re-run with the same parameters
            (``>= 0``); the lost attempt is recorded FAIL. Exceptions of the objective are not
            retried (they are recorded FAIL).
        timeout: Stop starting trials after this many seconds (running ones finish).
        address: Ray cluster address (``None``: the running or a new local Ray; ``"auto"``;
            ``"ray://host:10001"``); used only if Ray is not initialised yet.
        show_progress_bar: Show a tqdm bar of finished trials (as ``study.optimize`` does).

    Returns:
        The study. On ``KeyboardInterrupt`` running trials are cancelled and recorded FAIL.
    """
    if not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"n_trials must be an int >= 1, got {n_trials!r}")
    if not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be an int >= 0, got {max_retries!r}")
    if max_concurrent is not None and (not isinstance(max_concurrent, int) or max_concurrent < 1):
        raise ValueError(f"max_concurrent must be None or an int >= 1, got {max_concurrent!r}")
    resources = {"cpu": 1.0, **(resources_per_trial or {})}
    unknown = set(resources) - {"cpu", "gpu"}
    if unknown:
        raise ValueError(f"resources_per_trial takes 'cpu' and 'gpu', got {sorted(unknown)}")
    if not ray.is_initialized():
        ray.init(address=address)
    if max_concurrent is None:
        cluster = ray.cluster_resources()  # type: ignore[no-untyped-call]
        fits = [
            cluster.get(k.upper() if k == "cpu" else "GPU", 0) / v
            for k, v in resources.items()
            if v > 0
        ]
        max_concurrent = max(1, int(min(fits))) if fits else 1

    # The mailbox lives on the driver's node, so losing a worker node never loses the study's channel.
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    mailbox = _Mailbox.options(scheduling_strategy=here).remote()  # type: ignore[attr-defined]
    options = {
        "num_cpus": resources["cpu"],
        "num_gpus": resources.get("gpu", 0.0),
        "max_retries": 0,
    }
    running: dict[Any, optuna.Trial] = {}
    retries: dict[int, int] = {}  # trial number -> attempts so far of its parameters
    finished = 0
    started_at = time.monotonic()

    def launch() -> optuna.Trial:
        trial = study.ask()
        future = _run_trial.options(**options).remote(
            objective, mailbox, trial._trial_id, trial.number
        )
        running[future] = trial
        return trial

    def serve() -> None:
        by_key = {trial._trial_id: trial for trial in running.values()}
        for key, seq, method, args, kwargs in ray.get(mailbox.take_requests.remote()):
            trial = by_key.get(key)
            try:
                if trial is None:
                    raise RuntimeError("trial is no longer running")
                mailbox.reply.remote(key, seq, True, _answer(trial, method, args, kwargs))
            except Exception as error:  # sent back to the objective, which raises it
                mailbox.reply.remote(key, seq, False, error)

    pending_retries: list[tuple[dict[str, Any], int]] = []
    progress = tqdm(total=n_trials, disable=not show_progress_bar, desc="trials")
    try:
        while finished < n_trials:
            out_of_time = timeout is not None and time.monotonic() - started_at > timeout
            while (
                not out_of_time
                and len(running) < max_concurrent
                and finished + len(running) < n_trials
            ):
                if pending_retries:
                    params, attempt = pending_retries.pop(0)
                    study.enqueue_trial(params, user_attrs={_RETRY_ATTR: attempt})
                    retries[launch().number] = attempt
                else:
                    launch()
            if not running:
                break
            serve()
            done, _ = ray.wait(list(running), num_returns=1, timeout=0.01)
            for future in done:
                trial = running.pop(future)
                try:
                    kind, value = ray.get(future)
                except ray.exceptions.RayTaskError as error:
                    if isinstance(error.cause, optuna.TrialPruned):
                        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    else:
                        study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    finished += 1
                    continue
                except (
                    ray.exceptions.WorkerCrashedError,
                    ray.exceptions.NodeDiedError,
                    ray.exceptions.RayActorError,
                    ray.exceptions.TaskCancelledError,
                    ray.exceptions.ObjectLostError,
                ):
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    attempt = retries.pop(trial.number, 0) + 1
                    if attempt <= max_retries:
                        pending_retries.append((dict(trial.params), attempt))
                    else:
                        finished += 1
                    continue
                if kind == "pruned":
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                else:
                    study.tell(trial, value)
                finished += 1
            progress.update(finished - progress.n)
    except KeyboardInterrupt:
        for future, trial in running.items():
            ray.cancel(future, force=True)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        running.clear()
        raise
    finally:
        progress.close()
        ray.kill(mailbox)
    return study
