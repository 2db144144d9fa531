"""Run an Optuna study's trials as Ray tasks: GPUs per trial, any storage, pruning, retries.

The driver owns the study: it asks trials, answers the remote trials' ``suggest_*``, ``report`` and
``should_prune`` calls through a small mailbox actor, and tells the results. So the study's storage
(in-memory, sqlite, journal or RDB) is only ever touched by the driver process, and any Optuna
sampler and pruner works unchanged. Each trial runs in a Ray task holding ``resources_per_trial``;
Ray sets ``CUDA_VISIBLE_DEVICES`` for it, so trials never share a GPU.

The parts live in their own modules: ``_resources`` (what a trial needs, the cluster's room),
``_mailbox`` (the worker side), ``_outcome`` (how a task ended), ``_interrupts`` (Ctrl-C) and
``_driver`` (submission, result handling, retries, shutdown).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna
import ray

from tune_extras._validation import check_int, check_real
from tune_extras.ray._driver import (
    ATTEMPT_ATTR,
    FAIL_REASON_ATTR,
    RETRY_OF_ATTR,
    StudyDriver,
)
from tune_extras.ray._mailbox import RemoteTrial
from tune_extras.ray._resources import ClusterWatch, TrialResources

__all__ = ["ATTEMPT_ATTR", "FAIL_REASON_ATTR", "RETRY_OF_ATTR", "RemoteTrial", "optimize"]


def optimize(
    study: optuna.Study,
    objective: Callable[[Any], Any],
    n_trials: int,
    *,
    resources_per_trial: dict[str, float] | None = None,
    max_concurrent: int | None = None,
    max_retries: int = 2,
    timeout: float | None = None,
    resource_timeout: float | None = None,
    address: str | None = None,
    show_progress_bar: bool = False,
) -> optuna.Study:
    """Run ``n_trials`` trials of ``objective`` for ``study`` as Ray tasks.

    No trial that this call asked is left RUNNING in the study, whatever ends the call: each ends
    COMPLETE, PRUNED or FAIL, and every FAIL carries its reason in the user attribute
    ``"tune_extras.fail_reason"`` (also logged, with the remote traceback for an objective's
    exception, on the ``"tune_extras.ray"`` logger).

    Args:
        study: Any single- or multi-objective Optuna study; its storage is used by the driver only.
        objective: ``objective(trial) -> value``, written against Optuna's ``Trial`` API
            (``suggest_*``, ``report``, ``should_prune``, ``set_user_attr``, ``number``, ``params``);
            raise ``optuna.TrialPruned`` to prune. Must be picklable (Ray ships it to workers).
        n_trials: Trials to finish (``>= 1``); a re-run trial counts once.
        resources_per_trial: Ray resources of each trial, e.g. ``{"cpu": 4, "gpu": 1}`` or
            ``{"cpu": 1, "gpu": 0.5}`` (default one CPU). Checked against the cluster's nodes
            before any trial starts: resources that fit on no node raise a ValueError.
        max_concurrent: Most trials at once (default: as many as the nodes hold, re-read each
            second; plus one queued trial where an autoscaler was detected, so that it scales).
        max_retries: How often a trial whose worker was lost (the process died: ``os._exit``,
            SIGKILL, a crash; its node was removed; Ray's memory monitor killed it) is re-run with
            the same parameters (``>= 0``). The lost attempt is recorded FAIL; the re-run carries
            ``"tune_extras.retry_of"`` (the first attempt's trial number) and
            ``"tune_extras.attempt"`` (2 for the first re-run). An exception of the objective is
            recorded FAIL and not re-run.
        timeout: Stop starting trials after this many seconds (running ones finish), ``>= 0``.
        resource_timeout: Seconds to wait when no node can hold a trial (at the start, or after
            the nodes that could left): default 600 s with a warning where an autoscaler was
            detected (Ray's autoscaler v2, or the cluster launcher's), else 0 (raise at once).
        address: Ray cluster address (``None``: the running or a new local Ray; ``"auto"``;
            ``"ray://host:10001"``); used only if Ray is not initialised yet.
        show_progress_bar: Show a tqdm bar of finished trials (as ``study.optimize`` does).

    Returns:
        The study.

    Raises:
        ValueError: For invalid arguments, or resources no node of the cluster has.
        RuntimeError: When no node could hold a trial for ``resource_timeout`` seconds, or the
            nodes that could left (``tune_extras.ray._resources.NoNodeFitsError``).
        TypeError: When ``objective`` cannot be pickled.
        KeyboardInterrupt: After a Ctrl-C (SIGINT) stopped the run: the running trials were
            cancelled and recorded FAIL first; more Ctrl-C during that are ignored.
    """
    n_trials = check_int("n_trials", n_trials, low=1)
    max_retries = check_int("max_retries", max_retries, low=0)
    if max_concurrent is not None:
        max_concurrent = check_int("max_concurrent", max_concurrent, low=1)
    if timeout is not None:
        timeout = check_real("timeout", timeout, low=0.0)
    if resource_timeout is not None:
        resource_timeout = check_real("resource_timeout", resource_timeout, low=0.0)
    resources = TrialResources.parse(resources_per_trial)
    if not ray.is_initialized():
        ray.init(address=address)
    driver = StudyDriver(
        study,
        objective,
        n_trials,
        resources=resources,
        cluster=ClusterWatch(resources, resource_timeout),
        max_concurrent=max_concurrent,
        max_retries=max_retries,
        timeout=timeout,
        show_progress_bar=show_progress_bar,
    )
    driver.run()
    return study
