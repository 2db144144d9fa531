"""Package discovery (the metadata is in pyproject.toml).

Every package under ``tune_extras/`` is found automatically; the repository folder
``integrations/`` installs as ``tune_extras.integrations``, so it never shadows a top-level
``integrations`` package in a user's environment.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["tune_extras", "tune_extras.*"]), "tune_extras.integrations"],
    package_dir={"tune_extras.integrations": "integrations"},
)
