"""Engine, sessions and the unit of work.

* SQLite (the embedded default): WAL journal, ``busy_timeout``, foreign keys on, and every write
  transaction opened with ``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing on
  lock upgrade. Read-only units of work use a deferred ``BEGIN``.
* PostgreSQL: READ COMMITTED plus explicit row locks (``SELECT ... FOR UPDATE``) taken by the
  services in a fixed order (tokens by id, then wallets by id) so concurrent trades never deadlock.

A :class:`UnitOfWork` rolls back unless :meth:`UnitOfWork.commit` is called (cosmicpython).

Connection trouble: PostgreSQL pools check a connection before handing it out (``pool_pre_ping``)
and connect with a timeout and TCP keepalives, so a restarted or unreachable server costs one failed
attempt, not a hung process. :func:`is_transient_db_error` tells a lost connection (or a locked
SQLite file) from a real error, and :func:`retry_transient` runs *idempotent* work again a bounded
number of times with capped exponential backoff (tenacity) when it hits one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Engine, Table, create_engine, event, exc, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from core.clock import Clock, SystemClock

SQLITE_BUSY_TIMEOUT_MS = 60_000
#: Pooled connections to a SQLite file: enough for a web worker's thread pool (anyio's default is 40
#: threads), so a burst of concurrent requests reuses connections instead of opening one per request
#: past SQLAlchemy's default 5 + 10 overflow (each open runs the PRAGMAs below; ~10 % of a worker's
#: CPU under 16 concurrent clients, measured with py-spy).
SQLITE_POOL_SIZE = 20
PG_CONNECT_TIMEOUT_S = 10
_READ_ONLY = "arena_read_only"
log = logging.getLogger(__name__)
T = TypeVar("T")


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
            **({"poolclass": NullPool} if database in ("", ":memory:")
               else {"pool_size": SQLITE_POOL_SIZE, "max_overflow": SQLITE_POOL_SIZE}),
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": PG_CONNECT_TIMEOUT_S,
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        },
    )


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


def is_transient_db_error(error: BaseException) -> bool:
    """A lost or refused connection, a server shutting down, a locked SQLite file: worth retrying.

    Looks through the exception's causes, since services may wrap the driver's error.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (exc.OperationalError, exc.InterfaceError, exc.PendingRollbackError)):
            return True
        if type(current).__module__.startswith("psycopg") and type(current).__name__ in (
            "OperationalError",
            "InterfaceError",
            "AdminShutdown",
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def retry_transient(
    work: Callable[[], T],
    *,
    attempts: int = 4,
    first_wait: float = 0.5,
    max_wait: float = 8.0,
    what: str = "",
) -> T:
    """Run idempotent ``work``; on a transient database error try again (``attempts`` in all).

    Waits ``first_wait`` seconds, doubling up to ``max_wait``; logs one line per retry; the last
    error propagates. Only for work that is safe to repeat (idempotency keys, claims by key).
    """
    from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

    def before_sleep(state: Any) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "database trouble during %s (%s); retry %d of %d",
            what or getattr(work, "__name__", "work"),
            type(error).__name__,
            state.attempt_number,
            attempts - 1,
        )

    retrying = Retrying(
        retry=retry_if_exception(is_transient_db_error),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=first_wait, max=max_wait),
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(work)


def insert_if_absent(
    session: Session, table: Table, values: dict[str, Any], keys: Sequence[str] | None
) -> bool:
    """Insert one row unless a row with the same ``keys`` (a unique key; ``None``: any of the
    table's unique keys) exists; True if inserted.

    The race-free form of "select, and insert when missing" for rows that concurrent transactions
    may create first (``INSERT ... ON CONFLICT (keys) DO NOTHING`` on both dialects). On PostgreSQL
    a conflicting row that another transaction inserted but has not committed makes this statement
    wait for it: after its commit nothing is inserted; after its rollback this row is. Either way
    the caller then reads the row (a fresh statement sees the winner's committed row under READ
    COMMITTED). SQLite's write lock serialises writers, so there it only saves the flush error.
    """
    dialect = session.get_bind().dialect.name
    build = pg_insert if dialect == "postgresql" else sqlite_insert
    target = list(keys) if keys is not None else None
    statement = build(table).values(values).on_conflict_do_nothing(index_elements=target)
    # RETURNING says whether a row went in (an ORM-session execute reports rowcount -1).
    returned = session.execute(statement.returning(*table.primary_key.columns)).first()
    return returned is not None


def ping(engine: Engine) -> None:
    """Raise unless the database answers ``SELECT 1`` now."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


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
