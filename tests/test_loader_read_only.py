"""Reading a stored study is strictly read-only, and every storage form a user types works.

The digests are of the files' bytes before and after; the sqlite file without ``alembic_version``
is the case where Optuna's own ``RDBStorage`` stamps the table on open.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import optuna
import pytest

import tune_extras
from tune_extras.optuna._loader import load_study, load_trials, open_storage
from tune_extras.optuna._storage import ReadOnlyStorageError, resolve_source

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -1, 1)
    for step in range(1, 4):
        trial.report(x**2 + 1.0 / step, step)
    return x**2


def _sqlite(path: Path, n_trials: int = 60) -> str:
    url = f"sqlite:///{path}"
    study = optuna.create_study(
        storage=url, study_name="s", sampler=optuna.samplers.RandomSampler(seed=0)
    )
    study.optimize(_objective, n_trials=n_trials)
    return url


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    return {row[0] for row in rows}


def test_optuna_stamps_a_database_without_alembic_version(tmp_path: Path) -> None:
    """The behaviour this module avoids, shown on Optuna itself (so the next test can fail)."""
    path = tmp_path / "study.db"
    url = _sqlite(path)
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE alembic_version")
    optuna.storages.RDBStorage(url, skip_table_creation=True, skip_compatibility_check=True)
    assert "alembic_version" in _tables(path)


def test_reading_leaves_the_sqlite_file_byte_for_byte_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "study.db"
    url = _sqlite(path)
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE alembic_version")
    before, listing = _digest(path), sorted(os.listdir(tmp_path))
    report = tune_extras.analyze(url)
    table = load_trials(url)
    assert _digest(path) == before
    assert "alembic_version" not in _tables(path)
    assert sorted(os.listdir(tmp_path)) == listing  # no journal or lock file left beside it
    assert report.trial_counts["used"] == 60
    assert table["intermediate_values"].map(len).eq(3).all()


def test_a_loaded_study_refuses_every_write(tmp_path: Path) -> None:
    url = _sqlite(tmp_path / "study.db", n_trials=5)
    before = _digest(tmp_path / "study.db")
    study = load_study(url)
    with pytest.raises(ReadOnlyStorageError):
        study.optimize(_objective, n_trials=1)
    with pytest.raises(ReadOnlyStorageError):
        study.set_user_attr("k", 1)
    with pytest.raises(ReadOnlyStorageError):
        open_storage(url).create_new_study([optuna.study.StudyDirection.MINIMIZE], "new")
    assert _digest(tmp_path / "study.db") == before
    assert load_trials(study).attrs["sampler"] is None  # a storage does not record its sampler


@pytest.mark.parametrize("scheme", ["sqlite", "sqlite+pysqlite"])
def test_a_typo_never_creates_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"no sqlite database at 'typo\.db'.*never creates"):
        load_study(f"{scheme}:///typo.db")
    assert os.listdir(tmp_path) == []


def test_bare_paths_and_relative_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _sqlite(Path("study.db"), n_trials=5)
    journal = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend("study.log")
    )
    optuna.create_study(storage=journal, study_name="j").optimize(_objective, n_trials=4)
    before = _digest(Path("study.log"))
    assert len(load_study("study.db").trials) == 5
    assert len(load_study("sqlite:///study.db").trials) == 5
    assert len(load_study("sqlite+pysqlite:///study.db").trials) == 5
    assert len(load_study("study.log").trials) == 4
    assert len(load_study("journal:///study.log").trials) == 4  # relative, like sqlite:///
    assert len(load_study(f"journal:///{tmp_path}/study.log").trials) == 4  # absolute
    assert _digest(Path("study.log")) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"SQLite format 3\x00" + bytes(200), "file is not a database"),
        (b"hello\nworld\n", "is not an Optuna journal file"),
        (b'{"op_code": 99}\n', "is not an Optuna journal file"),
    ],
)
def test_corrupt_files_get_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_study(str(path))
    assert path.read_bytes() == content


def test_a_database_that_is_not_optuna(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE things (x)")
    before = _digest(path)
    with pytest.raises(ValueError, match="not an Optuna storage"):
        load_study(f"sqlite:///{path}")
    assert _digest(path) == before


def test_sources_are_classified(tmp_path: Path) -> None:
    ray_dir = tmp_path / "exp"
    ray_dir.mkdir()
    (ray_dir / "experiment_state-2025.json").write_text("{}")
    assert resolve_source(str(ray_dir)).kind == "ray"
    with pytest.raises(ValueError, match="load_experiment"):
        load_study(str(ray_dir))
    with pytest.raises(ValueError, match="not a Ray Tune experiment"):
        resolve_source(str(tmp_path))
    with pytest.raises(ValueError, match="neither a database URL"):
        resolve_source(str(tmp_path / "missing.db"))
    with pytest.raises(ValueError, match="in-memory"):
        load_study("sqlite:///:memory:")
