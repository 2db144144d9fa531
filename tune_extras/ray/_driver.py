"""The driver of ``optimize``: submission, result handling, retries and shutdown, one method each.

:class:`StudyDriver` owns the study. Each turn of its loop it checks the cluster's room
(:class:`~tune_extras.ray._resources.ClusterWatch`), asks and submits trials (:meth:`fill`),
answers the remote trials' requests (:meth:`serve`), and records each task that ended
(:meth:`collect` -> :meth:`record`). Every path out of :meth:`run`, normal or not, leaves no trial of
its own RUNNING: an exception (Ray's, the storage's, the sampler's, ``KeyboardInterrupt``) first
cancels the running tasks and records their trials FAIL (:meth:`shutdown`), then propagates.

What it writes on trials (user attributes, documented in docs/ray.md):

* :data:`FAIL_REASON_ATTR` on every trial it records FAIL: why (the objective's exception, the lost
  worker, the interruption, the invalid return value);
* :data:`RETRY_OF_ATTR` and :data:`ATTEMPT_ATTR` on a re-run of a trial whose worker was lost: the
  number of the first trial with these parameters, and the attempt (2 for the first re-run).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
import ray
from optuna.trial import TrialState
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from tqdm.auto import tqdm

from tune_extras.ray._interrupts import InterruptFlag
from tune_extras.ray._mailbox import Mailbox, answer, run_trial
from tune_extras.ray._outcome import Outcome, describe_error, invalid_value_reason, read_outcome
from tune_extras.ray._resources import ClusterWatch, TrialResources

#: User attribute on a trial recorded FAIL: why it failed (a sentence).
FAIL_REASON_ATTR = "tune_extras.fail_reason"
#: User attribute on a re-run: the number of the first trial that had these parameters.
RETRY_OF_ATTR = "tune_extras.retry_of"
#: User attribute on a re-run: which attempt at these parameters it is (2 for the first re-run).
ATTEMPT_ATTR = "tune_extras.attempt"

logger = logging.getLogger("tune_extras.ray")
_WAIT_S = 0.01


@dataclass
class Attempt:
    """A trial the driver asked: its Ray task (``None`` until submitted) and its lineage."""

    trial: optuna.Trial
    retry_of: int
    attempt: int = 1
    future: Any = None


@dataclass(frozen=True)
class Retry:
    """Parameters of a lost trial waiting for a re-run."""

    params: dict[str, Any]
    retry_of: int
    attempt: int


def trial_id_of_failed_ask(error: BaseException) -> int | None:
    """The id of the trial that a ``study.ask()`` which raised ``error`` had already created.

    ``Study.ask`` creates the trial in the storage and then builds the ``optuna.Trial`` (which
    calls the sampler's ``before_trial`` and reads the storage); when that raises, the new trial
    stays RUNNING and only ``ask``'s frame in the traceback holds its id (``trial_id``).
    """
    traceback = error.__traceback__
    while traceback is not None:
        frame = traceback.tb_frame
        if frame.f_code is optuna.Study.ask.__code__:
            trial_id = frame.f_locals.get("trial_id")
            return trial_id if isinstance(trial_id, int) else None
        traceback = traceback.tb_next
    return None


class StudyDriver:
    """Run ``n_trials`` trials of ``objective`` for ``study`` as Ray tasks (see ``optimize``).

    Args:
        study: The study; only this driver touches its storage.
        objective: ``objective(trial) -> value`` against Optuna's ``Trial`` API.
        n_trials: Trials to finish; a lost trial that is re-run counts once.
        resources: One trial's resources.
        cluster: The cluster's room and its rule for resources no node has.
        max_concurrent: Most trials at once (``None``: as many as the nodes hold, plus one queued
            where an autoscaler may add nodes).
        max_retries: Re-runs of a trial whose worker was lost.
        timeout: Stop submitting after this many seconds (``None``: never).
        show_progress_bar: A tqdm bar of finished trials.
        clock: Monotonic seconds (a parameter for tests).
    """

    def __init__(
        self,
        study: optuna.Study,
        objective: Callable[[Any], Any],
        n_trials: int,
        *,
        resources: TrialResources,
        cluster: ClusterWatch,
        max_concurrent: int | None = None,
        max_retries: int = 2,
        timeout: float | None = None,
        show_progress_bar: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.study = study
        self.objective = objective
        self.n_trials = n_trials
        self.resources = resources
        self.cluster = cluster
        self.max_concurrent = max_concurrent
        self.max_retries = max_retries
        self.timeout = timeout
        self.clock = clock
        self.running: dict[int, Attempt] = {}  # trial number -> attempt
        self.retries: deque[Retry] = deque()
        self.finished = 0
        self.progress = tqdm(total=n_trials, disable=not show_progress_bar, desc="trials")
        self._enqueued = 0  # re-runs enqueued in the study and not asked yet
        self._mailbox: Any = None
        self._objective_ref: Any = None

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> None:
        """Run to ``n_trials`` finished trials, the timeout, or an exception (then shut down)."""
        interrupts = InterruptFlag()
        with interrupts:
            try:
                self._start()
                self._loop(interrupts)
            except BaseException as error:
                self.shutdown(error)
                raise
            finally:
                self._close()
                if interrupts.count > 1:
                    logger.warning(
                        "%d further Ctrl-C ignored while the trials were recorded.",
                        interrupts.count - 1,
                    )

    def _start(self) -> None:
        self.cluster.check(force=True)  # before any trial is asked: wrong resources fail here
        try:
            self._objective_ref = ray.put(self.objective)
        except Exception as error:
            raise TypeError(
                "objective must be picklable (Ray ships it to the workers): "
                + describe_error(error)
            ) from error
        # On the driver's node, so losing a worker node never loses the study's channel.
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        self._mailbox = Mailbox.options(scheduling_strategy=here).remote()  # type: ignore[attr-defined]

    def _loop(self, interrupts: InterruptFlag) -> None:
        started = self.clock()
        while self.finished < self.n_trials:
            if interrupts.requested:
                raise KeyboardInterrupt
            self.cluster.check()
            out_of_time = self.timeout is not None and self.clock() - started > self.timeout
            self.fill(out_of_time)
            if not self.running:
                break
            self.serve()
            self.collect()
        if self.retries:
            logger.warning(
                "%d lost trial(s) not re-run: the timeout passed (their attempts are FAIL).",
                len(self.retries),
            )
            self.retries.clear()
        if interrupts.requested:
            raise KeyboardInterrupt

    def _close(self) -> None:
        self.progress.close()
        if self._mailbox is not None:
            try:
                ray.kill(self._mailbox)
            except Exception:  # Ray itself may be gone; nothing is left to release then
                pass
        self._mailbox = self._objective_ref = None

    # -- submission ------------------------------------------------------------------------------

    def room(self, out_of_time: bool = False) -> int:
        """How many trials to submit now."""
        if out_of_time:
            return 0
        limit = self.max_concurrent
        if limit is None:
            limit = max(1, self.cluster.slots + (1 if self.cluster.autoscaling else 0))
        return max(0, min(limit, self.n_trials - self.finished) - len(self.running))

    def ask(self) -> Attempt:
        """Ask the study for a trial (a queued re-run first) and register it as running."""
        if self.retries:
            retry = self.retries.popleft()
            attrs = {RETRY_OF_ATTR: retry.retry_of, ATTEMPT_ATTR: retry.attempt}
            self.study.enqueue_trial(retry.params, user_attrs=attrs)
            self._enqueued += 1
        try:
            trial = self.study.ask()
        except BaseException as error:
            self._fail_half_asked(error)
            raise
        attempt = Attempt(trial, retry_of=trial.number)
        self.running[trial.number] = attempt  # from now on, shutdown records it
        if self._enqueued:
            # Read back, not assumed: a trial the user enqueued earlier comes out first.
            attrs = trial.user_attrs
            if RETRY_OF_ATTR in attrs:
                self._enqueued -= 1
                attempt.retry_of = int(attrs[RETRY_OF_ATTR])
                attempt.attempt = int(attrs.get(ATTEMPT_ATTR, 2))
        return attempt

    def _fail_half_asked(self, error: BaseException) -> None:
        """Record FAIL the trial that a failed ``study.ask()`` had already created, if any."""
        trial_id = trial_id_of_failed_ask(error)
        if trial_id is None:
            return
        storage = self.study._storage
        try:
            if not storage.get_trial(trial_id).state.is_finished():
                reason = f"study.ask() raised {describe_error(error)} after creating the trial"
                storage.set_trial_user_attr(trial_id, FAIL_REASON_ATTR, reason)
                storage.set_trial_state_values(trial_id, TrialState.FAIL)
        except Exception as tell_error:
            logger.error(
                "Could not record the trial that study.ask() created as FAIL (%s).",
                describe_error(tell_error),
            )

    def submit(self, attempt: Attempt) -> None:
        """Start ``attempt``'s Ray task."""
        options = {**self.resources.ray_options(), "max_retries": 0}  # re-runs are ours
        attempt.future = run_trial.options(**options).remote(
            self._objective_ref, self._mailbox, attempt.trial._trial_id, attempt.trial.number
        )

    def fill(self, out_of_time: bool = False) -> None:
        """Ask and submit trials until the room is used."""
        for _ in range(self.room(out_of_time)):
            self.submit(self.ask())

    # -- result handling -------------------------------------------------------------------------

    def serve(self) -> None:
        """Answer the remote trials' pending requests with the real trials."""
        by_key = {a.trial._trial_id: a.trial for a in self.running.values()}
        for key, seq, method, args, kwargs in ray.get(self._mailbox.take_requests.remote()):
            trial = by_key.get(key)
            try:
                if trial is None:
                    raise RuntimeError("trial is no longer running")
                self._mailbox.reply.remote(key, seq, True, answer(trial, method, args, kwargs))
            except Exception as error:  # sent back to the objective, which raises it
                self._mailbox.reply.remote(key, seq, False, error)

    def collect(self, timeout: float = _WAIT_S) -> None:
        """Record the tasks that ended (waiting up to ``timeout`` s for one)."""
        futures = {a.future: a for a in self.running.values() if a.future is not None}
        if not futures:
            return
        done, _ = ray.wait(list(futures), num_returns=1, timeout=timeout)
        for future in done:
            self.record(futures[future], read_outcome(future))

    def record(self, attempt: Attempt, outcome: Outcome) -> None:
        """Tell the study how ``attempt`` ended; queue a re-run if its worker was lost."""
        trial = attempt.trial
        if outcome.kind == "value":
            reason = invalid_value_reason(outcome.value, len(self.study.directions))
            if not reason:
                self._finish(attempt, TrialState.COMPLETE, value=outcome.value)
                return
            logger.warning(
                "Trial %d failed with parameters: %s because %s.",
                trial.number,
                trial.params,
                reason,
            )
            self._finish(attempt, TrialState.FAIL, reason=reason)
        elif outcome.kind == "pruned":
            self._finish(attempt, TrialState.PRUNED)
        elif outcome.kind == "failed":
            logger.warning(
                "Trial %d failed with parameters: %s because of the following error: %s.%s",
                trial.number,
                trial.params,
                outcome.reason,
                f"\n{outcome.traceback}" if outcome.traceback else "",
            )
            self._finish(attempt, TrialState.FAIL, reason=outcome.reason)
        else:
            self._lost(attempt, outcome.reason)

    def _lost(self, attempt: Attempt, cause: str) -> None:
        again = attempt.attempt <= self.max_retries
        if again:
            note = f"re-run as attempt {attempt.attempt + 1} of {self.max_retries + 1}"
        else:
            note = f"not re-run: max_retries={self.max_retries} reached"
        reason = f"its Ray worker was lost ({cause}); {note}"
        logger.warning("Trial %d: %s.", attempt.trial.number, reason)
        params = dict(attempt.trial.params)
        self._finish(attempt, TrialState.FAIL, reason=reason, counts=not again)
        if again:
            self.retries.append(Retry(params, attempt.retry_of, attempt.attempt + 1))
        self.cluster.refresh(force=True)  # a lost node may have taken the last room

    def _finish(
        self,
        attempt: Attempt,
        state: TrialState,
        *,
        value: Any = None,
        reason: str = "",
        counts: bool = True,
        skip_if_finished: bool = False,
    ) -> None:
        if reason:
            attempt.trial.set_user_attr(FAIL_REASON_ATTR, reason)
        if state == TrialState.COMPLETE:
            self.study.tell(attempt.trial, value)
        else:
            self.study.tell(attempt.trial, state=state, skip_if_finished=skip_if_finished)
        del self.running[attempt.trial.number]
        if counts:
            self.finished += 1
            self.progress.update(1)

    # -- shutdown --------------------------------------------------------------------------------

    def shutdown(self, error: BaseException) -> None:
        """Cancel the running tasks and record their trials FAIL, with ``error`` as the reason."""
        if isinstance(error, KeyboardInterrupt):
            reason = "interrupted (KeyboardInterrupt) while it ran"
        else:
            reason = f"optimize stopped by {describe_error(error)} while it ran"
        if self.running:
            logger.warning(
                "Stopping: recording %d running trial(s) as FAIL (%s).", len(self.running), reason
            )
        self._cancel_tasks()
        for attempt in list(self.running.values()):
            try:
                self._finish(attempt, TrialState.FAIL, reason=reason, skip_if_finished=True)
            except Exception as tell_error:
                self.running.pop(attempt.trial.number, None)
                logger.error(
                    "Could not record trial %d as FAIL (%s); the storage may keep it RUNNING.",
                    attempt.trial.number,
                    describe_error(tell_error),
                )
        if self.retries:
            logger.warning("%d lost trial(s) not re-run (stopped).", len(self.retries))
            self.retries.clear()

    def _cancel_tasks(self) -> None:
        """Ask Ray to kill every running task (returns at once; never waits for Ray)."""
        for attempt in self.running.values():
            if attempt.future is not None:
                try:
                    ray.cancel(attempt.future, force=True)
                except Exception:  # Ray may be the thing that failed; the tasks die with it
                    pass
