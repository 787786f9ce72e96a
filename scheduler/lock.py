"""Single-instance guard for the scheduler process.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held on a dedicated connection
for the life of the process; a standby that starts later gets the lock as soon as it frees.
SQLite: an OS file lock next to the database file (``arena.db.scheduler.lock``). Either way a second
scheduler fails fast with :class:`SchedulerAlreadyRunning`, whose message says what to do.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from core.errors import ArenaError

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

    def acquire(self) -> SingleInstanceLock:
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar()
            conn.commit()
            if not got:
                conn.close()
                raise SchedulerAlreadyRunning(
                    "another scheduler holds the PostgreSQL advisory lock; this one exits. "
                    "Run exactly one `arena serve` with the scheduler per database."
                )
            self._conn = conn
            self.description = f"PostgreSQL advisory lock {ADVISORY_KEY}"
            return self
        path = self._lock_path()
        lock = FileLock(str(path), timeout=0, thread_local=False, is_singleton=False)
        try:
            lock.acquire()
        except Timeout:
            raise SchedulerAlreadyRunning(
                f"another scheduler is running on this database (lock file {path} is held); this one "
                "exits. Stop the other `arena serve`, or run this one with --no-scheduler."
            ) from None
        self._file = lock
        self.description = f"file lock {path}"
        return self

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None
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
