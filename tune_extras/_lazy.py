"""Lazy attribute loading for package ``__init__`` modules (PEP 562).

Keeps ``import tune_extras`` cheap: Optuna, Ray and torch are imported only when a user touches a
name that needs them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_getattr(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """Return a module-level ``__getattr__`` that imports ``exports[name]`` (a submodule) on use."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module, package), name)

    return __getattr__
