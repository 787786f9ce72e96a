"""Engine, sessions and the unit of work.

* SQLite (the embedded default): WAL journal, ``busy_timeout``, foreign keys on, and every write
  transaction opened with ``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing on
  lock upgrade. Read-only units of work use a deferred ``BEGIN``.
* PostgreSQL: READ COMMITTED plus explicit row locks (``SELECT ... FOR UPDATE``) taken by the
  services in a fixed order (tokens by id, then wallets by id) so concurrent trades never deadlock.

A :class:`UnitOfWork` rolls back unless :meth:`UnitOfWork.commit` is called (cosmicpython).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from core.clock import Clock, SystemClock

SQLITE_BUSY_TIMEOUT_MS = 60_000
_READ_ONLY = "arena_read_only"


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, *, echo: bool = False, pool_size: int = 5) -> Engine:
    """Create an engine with the project's SQLite or PostgreSQL settings."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            poolclass=NullPool if database in ("", ":memory:") else None,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's implicit BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(_READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


class UnitOfWork:
    """One database transaction. ``with uow: ...; uow.commit()``; anything else rolls back.

    A ``UnitOfWork`` object can be entered many times, one transaction each time (not nested).
    """

    session: Session

    def __init__(
        self,
        session_factory: Callable[[], Session],
        *,
        clock: Clock | None = None,
        read_only: bool = False,
    ) -> None:
        self._session_factory = session_factory
        self.clock: Clock = clock or SystemClock()
        self.read_only = read_only
        self._active = False

    def __enter__(self) -> UnitOfWork:
        if self._active:
            raise RuntimeError("UnitOfWork is already active; units of work do not nest")
        self.session = self._session_factory()
        if self.read_only:
            self.session.connection(execution_options={_READ_ONLY: True})
        self._active = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()
            self._active = False

    def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("read-only unit of work cannot commit")
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


class Database:
    """Engine + session factory + clock: the one object the composition root hands around."""

    def __init__(self, url: str, *, clock: Clock | None = None, echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, echo=echo)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        self.clock: Clock = clock or SystemClock()

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(self.session_factory, clock=self.clock, read_only=read_only)

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(
    url: str | None = None, *, clock: Clock | None = None, ensure_schema: bool = False
) -> Database:
    """Open the configured database (``ARENA_DB_URL``, default ``sqlite:///arena.db``).

    With ``ensure_schema`` the Alembic migrations are applied first (what ``arena init`` does).
    """
    from core.config import get_settings

    db = Database(url or get_settings().db_url, clock=clock)
    if ensure_schema:
        from core.migrations import upgrade

        upgrade(db.engine)
    return db
