"""The examples in docstrings and README.md are executed, so they cannot rot."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

MODULES = [
    "tune_extras.surface._distributions",
    "tune_extras.surface._fit",
    "tune_extras.analysis._analyze",
    "tune_extras.optuna._halving",
    "tune_extras.curves._model",
    "tune_extras.curves._rule",
    "tune_extras.optuna._learning_curve",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_readme_python_example_runs() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
