"""`arena serve` as an operator runs it: without bot tokens it runs the scheduler and explains
`arena chat`; a second instance on the same database waits as a standby and takes the scheduler over
within a bounded time after the first stops; SIGTERM and SIGINT exit 0 within the stated grace time."""

from __future__ import annotations

import signal

from core.db import Database
from tests.support.serve_process import ServeProcess, serve_env

STANDBY_POLL_S = 1.0
GRACE_S = 10.0


def test_serve_without_tokens_then_standby_takes_over(sqlite_db: Database) -> None:
    env = serve_env(
        sqlite_db.url, ARENA_STANDBY_POLL_S=str(STANDBY_POLL_S), ARENA_SHUTDOWN_GRACE_S=str(GRACE_S)
    )
    first = ServeProcess(env)
    second: ServeProcess | None = None
    try:
        first.wait_for("No chat adapter configured")
        first.wait_for("scheduler running")
        second = ServeProcess(env)
        second.wait_for("scheduler standby")  # waits instead of running a second scheduler
        code, took = first.stop()
        assert code == 0 and took < GRACE_S
        takeover = second.wait_for("scheduler running", timeout=STANDBY_POLL_S * 5 + 10)
        assert takeover < STANDBY_POLL_S * 5 + 10
        code, took = second.stop(signal.SIGINT)
        assert code == 0 and took < GRACE_S
    finally:
        for proc in (first, second):
            if proc is not None:
                proc.close()
