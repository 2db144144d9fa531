"""A node of a multi-node local Ray cluster dies mid-trial: its trials are recorded FAIL and retried."""

from __future__ import annotations

import threading
import time
from functools import partial
from pathlib import Path

import optuna
import pytest

pytestmark = pytest.mark.ray
optuna.logging.set_verbosity(optuna.logging.WARNING)


def _slow(trial: object, folder: str) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)  # type: ignore[attr-defined]
    (Path(folder) / f"started-{x:.12f}").touch()
    time.sleep(2.0)
    return x


def test_node_removed_mid_trial(tmp_path: Path) -> None:
    import ray
    from ray.cluster_utils import Cluster

    from tune_extras.ray import optimize

    if ray.is_initialized():
        ray.shutdown()
    # Trials can run only on the two worker nodes (the head has no CPU); one of them will die.
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    doomed = cluster.add_node(num_cpus=1)
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address)
    try:

        def remove_a_node_once_trials_run() -> None:
            while len(list(tmp_path.glob("started-*"))) < 2:
                time.sleep(0.05)
            cluster.remove_node(doomed)

        killer = threading.Thread(target=remove_a_node_once_trials_run)
        killer.start()
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        optimize(study, partial(_slow, folder=str(tmp_path)), n_trials=4, max_concurrent=2)
        killer.join()
        states = [t.state for t in study.trials]
        assert states.count(optuna.trial.TrialState.COMPLETE) == 4
        failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
        assert len(failed) >= 1, "the trial on the removed node must be recorded as failed"
        completed_x = {t.params["x"] for t in study.trials if t.value is not None}
        assert {t.params["x"] for t in failed} <= completed_x  # retried with the same parameters
        assert optuna.trial.TrialState.RUNNING not in states
    finally:
        ray.shutdown()
        cluster.shutdown()
