"""`arena serve` as an operator runs it: without bot tokens it runs the scheduler and explains
`arena chat`; a second instance on the same database waits as a standby and takes the scheduler over
within a bounded time after the first dies, without re-running what was done; SIGTERM and SIGINT
exit 0 within the stated grace time."""

from __future__ import annotations

import signal
import time

from sqlalchemy import select

from core.db import Database
from core.models.chat import JobRun
from tests.support.serve_process import ServeProcess, serve_env

STANDBY_POLL_S = 1.0
GRACE_S = 10.0


def job_runs(db: Database) -> dict[tuple[str, str], tuple[str, int]]:
    """(job, slot) -> (status, attempts) of every recorded run."""
    with db.uow(read_only=True) as uow:
        rows = uow.session.scalars(select(JobRun)).all()
        return {(r.job_id, r.scheduled_for.isoformat()): (r.status, r.attempts) for r in rows}


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
        before = job_runs(sqlite_db)
        first.kill()  # dies without a word: the OS frees its lock
        takeover = second.wait_for("scheduler running", timeout=STANDBY_POLL_S * 5 + 10)
        assert takeover < STANDBY_POLL_S * 5 + 10
        time.sleep(2)  # the new holder's catch-up runs now
        after = job_runs(sqlite_db)
        assert {k: v for k, v in after.items() if k in before} == before  # nothing done ran again
        assert all(status == "done" for status, _ in after.values())
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
