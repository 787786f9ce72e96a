"""Small helpers shared by the CLI commands: opening the database honestly, reading files, JSON.

Database rules (every command goes through :func:`open_db`):

* ``--db`` / ``ARENA_DB_URL`` is a URL (``sqlite:///arena.db``, ``postgresql://user@host/db``) or a
  plain SQLite file path (``my.db``), which is read as ``sqlite:///my.db``.
* A command that only reads never creates anything: a missing SQLite file is an error that says to
  run ``arena init`` (no empty ``arena.db`` left behind).
* A command that creates (:data:`CREATES_DATABASE`) says on stderr when it created a new database
  file, and never creates folders: a missing folder is an error. :func:`check_database_for` applies
  these rules before *every* command, so commands other modules register get them too.
* An unreadable URL is a one-line error naming the accepted forms.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer

from core.db import Database, open_database
from core.errors import ConfigError

URL_FORMS = "use sqlite:///path/to/file.db, a file path like arena.db, or postgresql://user@host/db"


def database_url(raw: str) -> str:
    """The database URL for ``--db`` / ``ARENA_DB_URL`` (a plain path means a SQLite file)."""
    text = raw.strip()
    if not text:
        raise ConfigError(f"the database URL is empty; {URL_FORMS}")
    if "://" not in text:
        return f"sqlite:///{text}"
    return text


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for in-memory or other databases); refuses unknown URLs."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"cannot read the database URL {url!r}; {URL_FORMS}") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql", "postgres"):
        raise ConfigError(f"unsupported database {backend!r} in {url!r}; {URL_FORMS}")
    if backend != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database)).expanduser()


def open_db(*, create: bool = False, ensure_schema: bool = False) -> Database:
    """Open the configured database.

    ``create``: make the file and schema if missing (saying so on stderr) and apply migrations.
    Otherwise the database must exist and have a schema (``arena init`` creates it).
    ``ensure_schema`` is the old name of ``create``.
    """
    from sqlalchemy import inspect

    from core.config import get_settings

    create = create or ensure_schema
    url = database_url(get_settings().db_url)
    path = sqlite_path(url)
    if path is not None:
        if not path.parent.exists():
            raise ConfigError(f"the folder {path.parent} does not exist; create it first or choose "
                              "another --db")
        if not path.exists() and not create:
            raise ConfigError(f"there is no database at {path}; run `arena init` (or `arena demo`) first")
    db = open_database(url, ensure_schema=create)
    if not create and not inspect(db.engine).has_table("ledger_accounts"):
        db.dispose()
        raise ConfigError("the database has no schema yet; run `arena init` (or `arena demo`) first")
    return db


#: Commands that may create the database (they say so on stderr when they do).
CREATES_DATABASE = {"init", "demo", "chat", "serve", "import", "restore"}
#: Commands that never open the configured database.
NO_DATABASE = {"backtest", "parse", "parse-eval", "replay"}


def check_database_for(command: str | None, argv: list[str]) -> None:
    """The global database rule, applied before any command runs (including those other modules
    register): a readable URL, an existing folder, and an existing SQLite file unless the command
    creates one. ``--help`` is always allowed."""
    from core.config import get_settings

    if command is None or command in NO_DATABASE or {"--help", "-h"} & set(argv):
        return
    path = sqlite_path(database_url(get_settings().db_url))
    if path is None:
        return
    if not path.parent.exists():
        raise ConfigError(f"the folder {path.parent} does not exist; create it first or choose another --db")
    if not path.exists():
        if command not in CREATES_DATABASE:
            raise ConfigError(f"there is no database at {path}; run `arena init` (or `arena demo`) first")
        _MISSING_BEFORE.append(path)


_MISSING_BEFORE: list[Path] = []


def report_created_database() -> None:
    """After a command: say so if it created the database file (called by :func:`run_cli`)."""
    for path in _MISSING_BEFORE:
        if path.exists():
            typer.echo(f"created a new database at {path}", err=True)
    _MISSING_BEFORE.clear()


def read_text_file(path: Path, what: str = "file") -> str:
    """A text file's content, or a one-line error naming the file."""
    from core.files import read_text

    return read_text(path, what)


def set_database_option(db: str | None) -> None:
    """Apply the global ``--db`` option (a URL or a SQLite file path)."""
    from core.config import get_settings

    if db:
        os.environ["ARENA_DB_URL"] = database_url(db)
        get_settings.cache_clear()


def decimal_json(value: Any) -> Any:
    """``json.dumps`` default: decimals as strings (exact), dates as ISO 8601."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
