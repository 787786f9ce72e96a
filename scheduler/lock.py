"""Single-instance guard for the scheduler process.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held on a dedicated connection
for the life of the process. The server frees it the moment that connection ends — the process
exits or is killed, or the connection is cut — so a standby polling :meth:`try_acquire` takes over
within one poll interval. SQLite: an OS file lock next to the database file
(``arena.db.scheduler.lock``), freed by the OS when the holder dies.

:meth:`acquire` fails fast with :class:`SchedulerAlreadyRunning` (whose message says what to do);
``arena serve`` instead polls :meth:`try_acquire` and waits as a standby. :meth:`still_held`
checks that a held PostgreSQL lock did not silently vanish with its connection (a restarted
server, ``pg_terminate_backend``): the scheduler then stops scheduling and goes back to standby.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from core.errors import ArenaError

log = logging.getLogger(__name__)

#: Arbitrary, fixed 64-bit key for pg advisory locks ("ARENA" + "SCHD" in ASCII-ish).
ADVISORY_KEY = 4_152_883_114_001


class SchedulerAlreadyRunning(ArenaError):
    code = "scheduler_running"


class SingleInstanceLock:
    """Acquire with :meth:`acquire` (or ``with``); raises if another scheduler holds it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._file: FileLock | None = None
        self._conn: Connection | None = None
        self.description = ""

    def _lock_path(self) -> Path:
        database = make_url(str(self.engine.url)).database or ""
        if database in ("", ":memory:"):
            return Path(tempfile.gettempdir()) / "arena-memory.scheduler.lock"
        return Path(database).expanduser().resolve().with_name(Path(database).name + ".scheduler.lock")

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def busy_message(self) -> str:
        if self.is_postgres:
            return (
                "another scheduler holds the PostgreSQL advisory lock. Run exactly one `arena serve` "
                "with the scheduler per database (others: --no-scheduler, or wait as a standby)."
            )
        return (
            f"another scheduler is running on this database (lock file {self._lock_path()} is held). "
            "Stop the other `arena serve`, or run this one with --no-scheduler."
        )

    def try_acquire(self) -> bool:
        """Take the lock if it is free; False when another scheduler holds it."""
        if self.held:
            return True
        if self.is_postgres:
            conn = self.engine.connect()
            try:
                got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar()
                conn.commit()
            except Exception:
                conn.close()
                raise
            if not got:
                conn.close()
                return False
            self._conn = conn
            self.description = f"PostgreSQL advisory lock {ADVISORY_KEY}"
            return True
        path = self._lock_path()
        lock = FileLock(str(path), timeout=0, thread_local=False, is_singleton=False)
        try:
            lock.acquire()
        except Timeout:
            return False
        self._file = lock
        self.description = f"file lock {path}"
        return True

    def acquire(self) -> SingleInstanceLock:
        if not self.try_acquire():
            raise SchedulerAlreadyRunning(self.busy_message() + " This one exits.")
        return self

    def still_held(self) -> bool:
        """False when a held PostgreSQL lock went away with its connection (file locks cannot)."""
        if self._file is not None:
            return True
        if self._conn is None:
            return False
        try:
            held = self._conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid = pg_backend_pid() AND objid = CAST(CAST(:k AS bigint) & 4294967295 AS oid) "
                    "AND classid = CAST(CAST(:k AS bigint) >> 32 AS oid)"
                ),
                {"k": ADVISORY_KEY},
            ).scalar()
            self._conn.commit()
        except Exception as error:  # the lock's connection is gone, and the lock with it
            log.warning("scheduler lock connection lost (%s)", type(error).__name__)
            self._drop_connection()
            return False
        return bool(held)

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except Exception as error:  # already broken: nothing left to release
                log.debug("closing the lost lock connection: %s", type(error).__name__)

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                self._conn.commit()
            except Exception as error:  # connection already gone: the server freed the lock
                log.warning(
                    "releasing the scheduler lock: %s (the server frees it anyway)", type(error).__name__
                )
            finally:
                self._drop_connection()
        if self._file is not None:
            self._file.release()
            self._file = None

    @property
    def held(self) -> bool:
        return self._conn is not None or self._file is not None

    def __enter__(self) -> SingleInstanceLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
