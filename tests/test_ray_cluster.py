"""Faults that need their own Ray: a node of a 3-node cluster removed, Ray's memory monitor.

* A node dies mid-trial: its trial is recorded FAIL and re-run on the node that is left.
* The only node that fits a trial dies: a clear RuntimeError instead of a trial pending forever.
* Ray's memory monitor (threshold set just above this machine's use) kills a trial that
  allocates: ``OutOfMemoryError`` is recorded FAIL with its reason and the trial is re-run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import optuna
import pytest

from tests.ray_faults import assert_consistent, started, wait_for
from tune_extras.ray import ATTEMPT_ATTR, FAIL_REASON_ATTR, RETRY_OF_ATTR, NoNodeFitsError

pytestmark = pytest.mark.ray
optuna.logging.set_verbosity(optuna.logging.WARNING)
State = optuna.trial.TrialState


def _slow(trial: object, folder: str) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)  # type: ignore[attr-defined]
    (Path(folder) / f"started-{x:.12f}").touch()
    time.sleep(2.0)
    return x


@pytest.fixture
def three_nodes() -> Iterator[object]:
    """A head without CPUs (trials never run there) and two worker nodes added by the test."""
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def _remove_when_started(cluster: object, node: object, folder: Path, n: int) -> threading.Thread:
    def remove() -> None:
        wait_for(lambda: started(folder) >= n)
        cluster.remove_node(node)  # type: ignore[attr-defined]

    thread = threading.Thread(target=remove)
    thread.start()
    return thread


def test_node_removed_mid_trial(three_nodes: object, tmp_path: Path) -> None:
    import ray

    from tune_extras.ray import optimize

    doomed = three_nodes.add_node(num_cpus=1)  # type: ignore[attr-defined]
    three_nodes.add_node(num_cpus=1)  # type: ignore[attr-defined]
    three_nodes.wait_for_nodes()  # type: ignore[attr-defined]
    ray.init(address=three_nodes.address)  # type: ignore[attr-defined]
    remover = _remove_when_started(three_nodes, doomed, tmp_path, 2)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    optimize(study, partial(_slow, folder=str(tmp_path)), n_trials=4, max_concurrent=2)
    remover.join()
    counts = assert_consistent(study)
    assert counts["COMPLETE"] == 4
    failed = [t for t in study.trials if t.state == State.FAIL]
    assert len(failed) >= 1, "the trial on the removed node must be recorded as failed"
    for trial in failed:
        assert trial.user_attrs[FAIL_REASON_ATTR].startswith("its Ray worker was lost (")
    reruns = [t for t in study.trials if RETRY_OF_ATTR in t.user_attrs]
    assert {t.user_attrs[RETRY_OF_ATTR] for t in reruns} <= {t.number for t in failed}
    assert all(t.user_attrs[ATTEMPT_ATTR] >= 2 for t in reruns)
    completed_x = {t.params["x"] for t in study.trials if t.state == State.COMPLETE}
    assert {t.params["x"] for t in failed} <= completed_x  # re-run with the same parameters


def test_losing_the_only_node_that_fits_is_an_error(three_nodes: object, tmp_path: Path) -> None:
    import ray

    from tune_extras.ray import optimize

    gpu_node = three_nodes.add_node(num_cpus=1, num_gpus=1)  # type: ignore[attr-defined]
    three_nodes.add_node(num_cpus=1)  # type: ignore[attr-defined]
    three_nodes.wait_for_nodes()  # type: ignore[attr-defined]
    ray.init(address=three_nodes.address)  # type: ignore[attr-defined]
    remover = _remove_when_started(three_nodes, gpu_node, tmp_path, 1)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    with pytest.raises(NoNodeFitsError, match="lost every node that could hold a trial"):
        optimize(study, partial(_slow, folder=str(tmp_path)), 4, resources_per_trial={"gpu": 1})
    remover.join()
    counts = assert_consistent(study)
    assert counts["FAIL"] >= 1 and counts.get("COMPLETE", 0) == 0


def _allocate_once(trial: object, folder: str) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)  # type: ignore[attr-defined]
    marker = Path(folder) / f"hog-{x:.12f}"
    if not marker.exists():
        marker.touch()
        chunks = []
        for _ in range(64):  # up to 16 GiB, 256 MiB at a time; the monitor kills it long before
            chunks.append(bytearray(256 * 2**20))
            time.sleep(0.05)
        return -1.0  # not killed: the test fails on this value
    return x


def _memory_in_use() -> tuple[float, float]:
    info = {line.split(":")[0]: int(line.split()[1]) for line in open("/proc/meminfo")}
    return 1.0 - info["MemAvailable"] / info["MemTotal"], info["MemTotal"] * 1024.0


def test_rays_memory_monitor_kill_is_recorded_and_re_run(tmp_path: Path) -> None:
    import ray

    from tune_extras.ray import optimize

    used, total = _memory_in_use()
    threshold = used + 1.5 * 2**30 / total  # 1.5 GiB above what the machine uses now
    if threshold > 0.9:
        pytest.skip(f"too little free memory for the test ({used:.0%} in use)")
    if ray.is_initialized():
        ray.shutdown()
    ray.init(
        address="local",
        num_cpus=1,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        _system_config={"memory_usage_threshold": threshold, "memory_monitor_refresh_ms": 50},
    )
    try:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        optimize(study, partial(_allocate_once, folder=str(tmp_path)), 1)
    finally:
        ray.shutdown()
    assert assert_consistent(study) == {"FAIL": 1, "COMPLETE": 1}
    killed, rerun = study.trials
    assert "(OutOfMemoryError: " in killed.user_attrs[FAIL_REASON_ATTR]
    assert rerun.params == killed.params and rerun.value == killed.params["x"]
    assert rerun.user_attrs[RETRY_OF_ATTR] == killed.number
