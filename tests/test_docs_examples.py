"""The examples in docstrings, README.md and the docs site are executed, so they cannot rot.

A ``python`` block of a docs page right after the line ``<!-- not run: REASON -->`` is shown but
not run (it needs a Ray cluster, say); every other one runs, in page order, in one namespace per
page, inside a temporary working folder.
"""

from __future__ import annotations

import doctest
import importlib
import os
import re
import subprocess
import sys
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


ROOT = Path(__file__).resolve().parents[1]
#: The docs pages whose python blocks run (the others' pages run their own examples).
DOC_PAGES = [
    "README.md",
    "docs/quickstart.md",
    "docs/analyzer.md",
    "docs/how-to/swap-a-sampler.md",
    "docs/how-to/add-a-pruner.md",
    "docs/how-to/run-on-a-ray-cluster.md",
    "docs/how-to/publish-to-the-dashboard.md",
]
_BLOCK = re.compile(r"(<!-- not run: [^>]+ -->\n)?```python\n(.*?)```", flags=re.DOTALL)


def python_blocks(text: str) -> list[str]:
    """The python blocks of a markdown page that are meant to run."""
    return [code for skip, code in _BLOCK.findall(text) if not skip]


@pytest.mark.parametrize("page", DOC_PAGES)
def test_docs_python_examples_run(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (ROOT / page).read_text()
    blocks = python_blocks(text)
    if page.endswith("run-on-a-ray-cluster.md"):
        assert blocks == [] and "<!-- not run: needs a Ray cluster -->" in text
        return
    assert blocks, f"{page} has no python example"
    if "optuna_dashboard" in text:
        pytest.importorskip("optuna_dashboard")
    if "to_html" in text:
        pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, page, "exec"), namespace)


def test_docs_site_builds_strict(tmp_path: Path) -> None:
    """``mkdocs build --strict``: any warning (a broken link, a docstring griffe cannot read, a
    page missing from the nav) fails the build."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "reference" / "api" / "index.html").exists()
    assert "fonts.googleapis" not in (tmp_path / "index.html").read_text()
