"""Shared fixtures. Ray tests run with RAY_AUTH_MODE=disabled (Ray 2.60 writes a token otherwise)."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (CI must not pass or fail by chance); set
# HYPOTHESIS_PROFILE=fuzz to explore new random examples (failures found so become @example cases).
settings.register_profile("ci", derandomize=True)
settings.register_profile("fuzz", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture(scope="session")
def opda_available() -> bool:
    from benchmarks.opda_data import opda_dir

    if not opda_dir().exists():
        pytest.skip(f"opda data not found at {opda_dir()} (set TUNE_EXTRAS_SHARED)")
    return True


@pytest.fixture(scope="module")
def ray_local():
    """A real local Ray for one test module: 2 CPUs and 2 *logical* GPUs (no GPU hardware needed).

    Ray assigns CUDA_VISIBLE_DEVICES per task from the logical GPUs, so GPU placement is testable here.
    """
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        ray.shutdown()
    ray.init(
        address="local",  # always a fresh local instance, never a cluster left by another run
        num_cpus=2,
        num_gpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    yield ray
    ray.shutdown()
