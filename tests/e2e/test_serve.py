"""`arena serve` as an operator runs it: without bot tokens it runs the scheduler and explains
`arena chat`; a second instance on the same database waits as a standby and takes the scheduler over
within a bounded time after the first stops; SIGTERM and SIGINT exit 0 within the stated grace time."""

from __future__ import annotations

import signal
import time

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


def test_unreachable_platforms_keep_the_scheduler_running_one_line_per_retry(sqlite_db: Database) -> None:
    """The issue's operator report: tokens set, platforms unreachable -> the service stays up."""
    tg_token = "123456:E2E-unreachable-token-abcdefghijklmnopq"
    dc_token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GeEeEe.e2eunreachabletokenabcdefghijklmnop"
    env = serve_env(
        sqlite_db.url,
        TELEGRAM_BOT_TOKEN=tg_token,
        DISCORD_BOT_TOKEN=dc_token,
        ARENA_TELEGRAM_BASE_URL="http://127.0.0.1:9",  # nothing listens on the discard port
        ARENA_DISCORD_API_BASE="http://127.0.0.1:9/api/v10",
        ARENA_SHUTDOWN_GRACE_S=str(GRACE_S),
    )
    proc = ServeProcess(env)
    try:
        proc.wait_for("scheduler running")
        proc.wait_for("telegram: cannot reach the Bot API")
        proc.wait_for("discord: cannot reach Discord")
        time.sleep(8)  # several retries (1 s, 2 s, 4 s ...)
        assert proc.popen.poll() is None  # still running
        code, took = proc.stop()
        assert code == 0 and took < GRACE_S
        output = proc.output()
        retries = [line for line in output.splitlines() if "cannot reach" in line]
        assert len(retries) >= 4
        assert all(line.count("cannot reach") == 1 for line in retries)  # one line per retry
        assert "Traceback" not in output
        assert tg_token not in output and dc_token not in output
        assert "E2E-unreachable" not in output and "e2eunreachable" not in output  # not even in parts
    finally:
        proc.close()
