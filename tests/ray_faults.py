"""Helpers of the Ray fault-injection tests: objectives that fault, a careful worker killer, checks.

The objectives leave files in a folder so that a test (or a killer thread) knows which trials run:
``started-<number>`` when a trial starts, and ``pid-<pid>`` holding the process's start time while
it runs. :func:`kill_worker` SIGKILLs such a process only if it is still the same process (same
start time, so a reused pid is never hit) and a Ray worker (``ray::`` process title).
:func:`interrupt_a_driver` runs ``optimize`` in a driver process of its own and sends it SIGINT.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import optuna

from tune_extras.ray import FAIL_REASON_ATTR

_ROOT = Path(__file__).resolve().parents[1]

FINISHED = (
    optuna.trial.TrialState.COMPLETE,
    optuna.trial.TrialState.PRUNED,
    optuna.trial.TrialState.FAIL,
)


def process_start(pid: int) -> str:
    """The start time of ``pid`` in clock ticks since boot (field 22 of ``/proc/<pid>/stat``)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[19]


def kill_worker(pid_file: Path) -> bool:
    """SIGKILL the Ray worker named in ``pid_file`` if it is still that process; True if killed."""
    try:
        pid = int(pid_file.name.removeprefix("pid-"))
        started = pid_file.read_text()
        title = Path(f"/proc/{pid}/cmdline").read_bytes()
        if not started or process_start(pid) != started or not title.startswith(b"ray::"):
            return False
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):  # the trial finished or the process went meanwhile
        return False
    return True


def mark_running(folder: str, number: int) -> Path:
    """Leave ``started-<number>`` and this process's ``pid-<pid>`` file; return the pid file."""
    Path(folder, f"started-{number}").touch()
    pid_file = Path(folder, f"pid-{os.getpid()}")
    pid_file.write_text(process_start(os.getpid()))
    return pid_file


def sleeper(trial: Any, folder: str, seconds: float) -> float:
    """``x`` after ``seconds`` of sleep, with the running marks left meanwhile."""
    x = trial.suggest_float("x", 0.0, 1.0)
    pid_file = mark_running(folder, trial.number)
    time.sleep(seconds)
    pid_file.unlink(missing_ok=True)
    return x


def started(folder: Path) -> int:
    """How many trials have started."""
    return len(list(folder.glob("started-*")))


def wait_for(condition: Any, limit_s: float = 120.0) -> None:
    """Poll ``condition()`` until true (a generous limit only guards against a hung test)."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition never came true")
        time.sleep(0.02)


def assert_consistent(study: optuna.Study) -> dict[str, int]:
    """No trial RUNNING or WAITING, and every FAIL with its reason; the count of each state."""
    counts: dict[str, int] = {}
    for trial in study.trials:
        assert trial.state in FINISHED, f"trial {trial.number} is {trial.state.name}"
        if trial.state == optuna.trial.TrialState.FAIL:
            assert trial.user_attrs.get(FAIL_REASON_ATTR), f"trial {trial.number}: no reason"
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def soak_objective(trial: Any, folder: str) -> float:
    """A short trial with every ending: a value, pruned (by the study's pruner), or an exception.

    The exception (a ValueError) comes for x > 0.97, in the first step. Sleeps 0.02-0.1 s per
    step over three steps, with the running marks left meanwhile.
    """
    x = trial.suggest_float("x", 0.0, 1.0)
    pid_file = mark_running(folder, trial.number)
    try:
        for step in range(3):
            time.sleep(0.02 + 0.08 * x)
            if x > 0.97:
                raise ValueError(f"x={x:.4f} is out of range")
            trial.report(x + 1.0 / (step + 1), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return x
    finally:
        pid_file.unlink(missing_ok=True)


_DRIVER = """
import sys
from functools import partial
import optuna, ray
from tests.ray_faults import sleeper
from tune_extras.ray import optimize

address, storage, folder = sys.argv[1:4]
optuna.logging.set_verbosity(optuna.logging.WARNING)
ray.init(address=address, log_to_driver=False, configure_logging=False)
study = optuna.create_study(storage=storage, study_name="s", sampler=optuna.samplers.RandomSampler(seed=0))
optimize(study, partial(sleeper, folder=folder, seconds=0.3), 200, max_concurrent=2)
"""


def interrupt_a_driver(tmp_path: Path, address: str, gaps: list[float]) -> tuple[int, str]:
    """Run a driver process on SQLite; SIGINT it once trials run, then after each gap again."""
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(_DRIVER))
    marks = tmp_path / "marks"
    marks.mkdir()
    storage = f"sqlite:///{tmp_path}/study.db"
    env = {**os.environ, "PYTHONPATH": str(_ROOT)}
    process = subprocess.Popen(
        [sys.executable, str(script), address, storage, str(marks)],
        cwd=_ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        # As in a terminal's foreground job: a background shell would start it with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        wait_for(lambda: started(marks) >= 3 or process.poll() is not None)
        for gap in [0.0, *gaps]:
            time.sleep(gap)
            process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, err
