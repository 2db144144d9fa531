"""The samplers' docstring examples and the Python blocks of docs/samplers.md are executed."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import optuna
import pytest

MODULES = [
    "tune_extras.samplers._space",
    "tune_extras.samplers._parzen",
    "tune_extras.samplers._near_optimum",
    "tune_extras.optuna._near_optimum_sampler",
    "tune_extras.optuna._random_share",
    "tune_extras.optuna._multi_fidelity_sampler",
]
DOC = Path(__file__).resolve().parents[1] / "docs" / "samplers.md"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_samplers_doc_python_blocks_run() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 3
    namespace: dict[str, object] = {}
    for block in blocks:  # one namespace: later blocks may use earlier definitions
        exec(compile(block, str(DOC), "exec"), namespace)
