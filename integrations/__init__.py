"""Recipes for the ecosystems around Optuna and Ray Tune.

This folder installs as ``tune_extras.integrations`` (see ``pyproject.toml``), so it never shadows a
top-level ``integrations`` package in a user's environment.
"""
