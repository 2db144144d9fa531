"""Shared fixtures. Ray tests run with RAY_AUTH_MODE=disabled (Ray 2.60 writes a token otherwise)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture(scope="session")
def opda_available() -> bool:
    from benchmarks.opda_data import opda_dir

    if not opda_dir().exists():
        pytest.skip(f"opda data not found at {opda_dir()} (set TUNE_EXTRAS_SHARED)")
    return True
