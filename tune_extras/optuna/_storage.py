"""Open an Optuna storage strictly read-only, from a URL or a bare path.

Optuna's ``RDBStorage`` writes on open: its version manager inserts a ``version_info`` row and
stamps an ``alembic_version`` table into a database that lacks them (``_VersionManager.__init__``
calls ``_init_version_info_model`` and ``_init_alembic`` whatever ``skip_table_creation`` and
``skip_compatibility_check`` say), and ``JournalFileBackend`` creates a missing file. Reading a
user's study must change nothing, so this module:

* opens a sqlite file through SQLite's own read-only mode (``file:...?mode=ro``), so the file's
  bytes cannot change, and never creates a missing file;
* replaces the version manager by a check that only reads (the schema revision, or the
  ``version_info`` row of a database without ``alembic_version``), so nothing is stamped;
* gives storages whose every write method raises :class:`ReadOnlyStorageError`, so no code path
  (a sampler, a callback) can write through them.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

_SQLITE_HEADER = b"SQLite format 3\x00"

#: The write methods of Optuna's storages; read-only storages raise on each they have.
WRITE_METHODS = (
    "create_new_study",
    "delete_study",
    "set_study_user_attr",
    "set_study_system_attr",
    "create_new_trial",
    "set_trial_param",
    "set_trial_state_values",
    "set_trial_intermediate_value",
    "set_trial_user_attr",
    "set_trial_system_attr",
    "record_heartbeat",
    # RDBStorage's private writers, which Optuna's _CachedStorage calls directly:
    "_create_new_trial",
    "_set_trial_param",
)


class ReadOnlyStorageError(RuntimeError):
    """Raised when something tries to write through a storage opened for reading."""


@dataclass(frozen=True)
class Source:
    """Where a study lives: ``kind`` is ``"rdb"`` (``location`` a URL), ``"journal"`` (a file
    path) or ``"ray"`` (a Ray Tune experiment folder)."""

    kind: str
    location: str


def _journal_path(url: str) -> str:
    """``journal:///rel.log`` -> ``rel.log``, ``journal:////abs.log`` -> ``/abs.log`` (sqlite's
    convention); an older absolute spelling ``journal:///abs.log`` is read as ``/abs.log`` when
    ``abs.log`` does not exist relative to the working folder."""
    rest = url[len("journal://") :]
    path = rest[1:] if rest.startswith("/") else rest
    if not os.path.exists(path) and rest.startswith("/") and os.path.exists(rest):
        return rest
    return path


def _is_ray_experiment(path: Path) -> bool:
    return path.is_dir() and any(path.glob("experiment_state-*.json"))


def resolve_source(storage: str) -> Source:
    """Classify ``storage``: an RDB URL, ``journal:///path``, or a bare path to a sqlite file, a
    journal file or a Ray Tune experiment folder.

    Raises:
        ValueError: For a path that does not exist or a folder that is no Ray Tune experiment.
    """
    if not isinstance(storage, str) or not storage:
        raise ValueError(f"a storage must be a non-empty URL or path, got {storage!r}")
    if storage.startswith("journal://"):
        return Source("journal", _journal_path(storage))
    if "://" in storage:
        return Source("rdb", storage)
    path = Path(storage).expanduser()
    if path.is_dir():
        if _is_ray_experiment(path):
            return Source("ray", str(path))
        raise ValueError(
            f"{storage!r} is a folder but not a Ray Tune experiment (no experiment_state-*.json)"
        )
    if not path.is_file():
        raise ValueError(
            f"{storage!r} is neither a database URL (sqlite:///study.db, journal:///study.log, "
            "postgresql://...) nor an existing file or folder (a sqlite file, a journal file or a "
            "Ray Tune experiment)"
        )
    with path.open("rb") as handle:
        header = handle.read(len(_SQLITE_HEADER))
    if header == _SQLITE_HEADER:
        return Source("rdb", f"sqlite:///{path}")
    return Source("journal", str(path))


@functools.cache
def _stored_sampler_class() -> type:
    import optuna

    class StoredStudySampler(optuna.samplers.BaseSampler):
        """The sampler of a study opened for reading: unknown, and it refuses to sample."""

        def _refuse(self, *args: Any, **kwargs: Any) -> Any:
            raise ReadOnlyStorageError(
                "this study was opened read-only by tune-extras; load it with optuna.load_study "
                "to run trials"
            )

        infer_relative_search_space = _refuse
        sample_relative = _refuse
        sample_independent = _refuse

    return StoredStudySampler


def stored_sampler() -> Any:
    """The sampler given to a study opened for reading (a storage does not record its sampler)."""
    return _stored_sampler_class()()


def is_stored_sampler(sampler: object) -> bool:
    return isinstance(sampler, _stored_sampler_class())


def _read_only(cls: type) -> type:
    """Make every write method of an Optuna storage class raise :class:`ReadOnlyStorageError`."""

    def refuse(name: str) -> Any:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            raise ReadOnlyStorageError(
                f"{name}: this storage was opened read-only by tune-extras (reading a study "
                "never writes to it)"
            )

        method.__name__ = name
        return method

    for name in WRITE_METHODS:
        if hasattr(cls, name):
            setattr(cls, name, refuse(name))
    return cls


def _sqlite_read_only_url(url: Any, original: str) -> Any:
    """The sqlite URL ``url`` opened by SQLite in read-only URI mode; the file must exist."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        raise ValueError(f"{original!r} is an in-memory sqlite database: it holds no stored study")
    if database.startswith("file:"):  # already a URI: keep it, force read-only
        path = database[len("file:") :].split("?", 1)[0]
    else:
        path = database
    if not os.path.isfile(path):
        raise ValueError(
            f"no sqlite database at {path!r} (from storage URL {original!r}); tune-extras never "
            "creates one: check the path (sqlite:///relative.db, sqlite:////absolute.db)"
        )
    with open(path, "rb") as handle:
        if handle.read(len(_SQLITE_HEADER)) != _SQLITE_HEADER:
            raise ValueError(f"{path!r} is not a SQLite database (from storage URL {original!r})")
    query = {**dict(url.query), "mode": "ro", "uri": "true"}
    return url.set(database="file:" + quote(os.path.abspath(path)), query=query)


def _check_schema(engine: Any, original: str) -> None:
    """Check, reading only, that ``engine`` holds an Optuna schema this Optuna reads."""
    import sqlalchemy
    from optuna.storages._rdb import models

    try:
        tables = set(sqlalchemy.inspect(engine).get_table_names())
    except sqlalchemy.exc.SQLAlchemyError as error:
        raise ValueError(f"cannot read {original!r}: {_first_line(error)}") from error
    missing = {"studies", "trials", "version_info"} - tables
    if missing:
        raise ValueError(
            f"{original!r} is a database but not an Optuna storage (no table "
            f"{', '.join(sorted(missing))})"
        )
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(os.path.join(os.path.dirname(models.__file__), "alembic"))
    head = script.get_current_head()
    with engine.connect() as connection:
        revision = None
        if "alembic_version" in tables:
            revision = connection.execute(
                sqlalchemy.text("SELECT version_num FROM alembic_version")
            ).scalar()
        if revision is None:
            # Optuna stamps head on such a database when its version row is current, else base.
            row = connection.execute(
                sqlalchemy.text("SELECT schema_version, library_version FROM version_info")
            ).first()
            if row is None or int(row[0]) != models.SCHEMA_VERSION:
                raise ValueError(
                    f"{original!r} has an Optuna schema older than this Optuna reads "
                    f"({'no version' if row is None else f'written by optuna {row[1]}'}); "
                    "upgrade a copy with `optuna storage upgrade --storage URL`"
                )
            return
    if revision != head:
        known = {r.revision for r in script.walk_revisions()}
        hint = (
            "upgrade a copy with `optuna storage upgrade --storage URL`"
            if revision in known
            else "it was written by a newer Optuna: upgrade optuna"
        )
        raise ValueError(
            f"{original!r} has Optuna schema revision {revision}, this Optuna reads {head}: {hint}"
        )


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def open_rdb(url: str) -> Any:
    """An Optuna ``RDBStorage`` on ``url`` that reads only (see the module docstring)."""
    import sqlalchemy
    from optuna.storages import RDBStorage
    from sqlalchemy import orm

    @_read_only
    class ReadOnlyRDBStorage(RDBStorage):
        """``RDBStorage`` without the version manager's writes; write methods raise."""

        def __init__(self, engine_url: Any) -> None:
            # The attributes RDBStorage's read methods use, set without its __init__ (which
            # writes a version row and stamps alembic_version).
            self.engine_kwargs: dict[str, Any] = {}
            self.url = url
            self.skip_compatibility_check = True
            self.heartbeat_interval = None
            self.grace_period = None
            self.heartbeat_stale_trial_callback = None
            self.failed_trial_callback = None
            self.engine = sqlalchemy.create_engine(engine_url)
            self.scoped_session = orm.scoped_session(orm.sessionmaker(bind=self.engine))

        def __getstate__(self) -> dict[Any, Any]:
            raise ReadOnlyStorageError("a read-only storage is not pickled")

    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError as error:
        raise ValueError(f"{url!r} is not a storage URL: {_first_line(error)}") from error
    engine_url: Any = parsed
    if parsed.get_backend_name() == "sqlite":
        engine_url = _sqlite_read_only_url(parsed, url)
    try:
        storage = ReadOnlyRDBStorage(engine_url)
    except (ImportError, sqlalchemy.exc.SQLAlchemyError) as error:
        raise ValueError(f"cannot open Optuna storage {url!r}: {_first_line(error)}") from error
    _check_schema(storage.engine, url)
    return storage


def open_journal(path: str) -> Any:
    """An Optuna ``JournalStorage`` on an existing journal file that reads only."""
    import optuna
    from optuna.storages.journal import JournalFileBackend

    if not os.path.isfile(path):
        raise ValueError(f"no journal file at {path!r} (journal:///relative.log, "
                         "journal:////absolute.log)")

    @_read_only
    class ReadOnlyJournalStorage(optuna.storages.JournalStorage):
        """``JournalStorage`` whose write methods raise."""

    class ReadOnlyJournalBackend(JournalFileBackend):
        """A journal file read, never appended to."""

        def append_logs(self, logs: list[dict[str, Any]]) -> None:
            raise ReadOnlyStorageError("this journal was opened read-only by tune-extras")

    try:
        return ReadOnlyJournalStorage(ReadOnlyJournalBackend(path))
    except (ValueError, KeyError, TypeError, AttributeError, AssertionError) as error:
        raise ValueError(
            f"{path!r} is not an Optuna journal file (or it is corrupt): {_first_line(error)}"
        ) from error
