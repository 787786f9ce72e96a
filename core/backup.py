"""Backups of the whole database, and restoring one into an empty database.

* SQLite: Python's :meth:`sqlite3.Connection.backup` (SQLite's online backup API) copies a
  consistent snapshot page by page while the platform keeps running; the backup is itself a SQLite
  file. Restore copies it back the same way.
* PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot of one database) and
  ``pg_restore --clean --if-exists --no-owner --single-transaction``. The client programs must be on
  ``PATH``; the password travels in the ``PGPASSWORD`` environment variable, never on a command line.

Restoring refuses a target that already holds data (any row in any table but Alembic's version
table) unless ``force`` is given: a restore replaces everything. A backup file is recognised by its
header (``SQLite format 3`` or ``PGDMP``), and a backup of one dialect does not restore into the
other. Afterwards ``arena ledger check`` verifies the restored ledger (totals, invariants).
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, inspect, select, table
from sqlalchemy.engine import URL, make_url

from core.db import normalise_url
from core.errors import ArenaError, ConfigError, ValidationError

log = logging.getLogger(__name__)
SQLITE_HEADER = b"SQLite format 3\x00"
PG_HEADER = b"PGDMP"


class BackupError(ArenaError):
    code = "backup_failed"


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: str
    dialect: str
    bytes: int


def _url(db_url: str) -> URL:
    return make_url(normalise_url(db_url))


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise ValidationError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database).expanduser()


def _pg_env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    for var, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[var] = str(value)
    return env


def _run(args: list[str], url: URL) -> None:
    if shutil.which(args[0]) is None:
        raise ConfigError(f"{args[0]} is not installed (PostgreSQL client programs are needed)")
    done = subprocess.run(args, env=_pg_env(url), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{args[0]} failed: {detail[-1] if detail else f'exit {done.returncode}'}")


def backup(db_url: str, target: Path) -> BackupResult:
    """Write a consistent backup of the database at ``db_url`` to ``target`` (replaced if present)."""
    url = _url(db_url)
    target = target.expanduser()
    if target.parent and not target.parent.exists():
        raise ValidationError(f"folder {target.parent} does not exist")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    if url.get_backend_name() == "sqlite":
        source_path = _sqlite_path(url)
        if not source_path.exists():
            raise ValidationError(f"database file {source_path} does not exist")
        with sqlite3.connect(source_path) as source, sqlite3.connect(partial) as copy:
            source.backup(copy)
        copy.close()
        dialect = "sqlite"
    else:
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={partial}"], url)
        dialect = "postgresql"
    partial.replace(target)  # only a complete backup ever carries the target's name
    log.info("backup written", extra={"path": str(target), "dialect": dialect})
    return BackupResult(str(target), dialect, target.stat().st_size)


def backup_dialect(path: Path) -> str:
    """``sqlite`` or ``postgresql`` from the file's header; a clear error for anything else."""
    if not path.is_file():
        raise ValidationError(f"backup file {path} does not exist")
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_HEADER))
    if head.startswith(SQLITE_HEADER):
        return "sqlite"
    if head.startswith(PG_HEADER):
        return "postgresql"
    raise ValidationError(f"{path} is not an arena backup (neither a SQLite file nor a pg_dump archive)")


def rows_in(engine: Engine) -> int:
    """How many rows the database holds outside Alembic's version table (0 = empty)."""
    names = [n for n in inspect(engine).get_table_names() if n != "alembic_version"]
    total = 0
    with engine.connect() as conn:
        for name in names:
            total += int(conn.execute(select(func.count()).select_from(table(name))).scalar_one())
    return total


def restore(db_url: str, source: Path, *, force: bool = False) -> BackupResult:
    """Replace the database at ``db_url`` with the backup ``source`` (refused when it holds data,
    unless ``force``)."""
    url = _url(db_url)
    source = source.expanduser()
    kind = backup_dialect(source)
    if kind != url.get_backend_name():
        raise ValidationError(
            f"{source} is a {kind} backup; it cannot be restored into {url.get_backend_name()}")
    if kind == "sqlite" and not _sqlite_path(url).exists():
        occupied = 0
    else:
        engine = create_engine(url)
        try:
            occupied = rows_in(engine)
        finally:
            engine.dispose()
    if occupied and not force:
        where = url.render_as_string(hide_password=True)
        raise ValidationError(f"{where} is not empty ({occupied} rows); restoring replaces everything — "
                              "add --force to do that")
    if kind == "sqlite":
        path = _sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(source) as backup_file, sqlite3.connect(path) as live:
            backup_file.backup(live)
        live.close()
    else:
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              f"--dbname={url.database}", str(source)], url)
    log.warning("database restored from a backup", extra={"path": str(source), "dialect": kind,
                                                          "replaced_rows": occupied})
    return BackupResult(str(source), kind, source.stat().st_size)
