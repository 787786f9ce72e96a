"""`arena serve` as an operator runs it: without bot tokens it runs the scheduler and explains
`arena chat`; a second instance on the same database waits as a standby and takes the scheduler over
within a bounded time after the first stops; SIGTERM exits 0 within the stated grace time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Empty, Queue

from core.db import Database

ARENA = str(Path(sys.executable).with_name("arena"))
STANDBY_POLL_S = 1.0
GRACE_S = 10.0


class Proc:
    """An `arena serve` child whose stdout+stderr lines are collected by a reader thread."""

    def __init__(self, env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            [ARENA, "serve"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.lines: Queue[str] = Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 60) -> float:
        """Seconds until a line containing ``text`` appears (fails after ``timeout``)."""
        start = time.monotonic()
        if any(text in line for line in self.seen):
            return 0.0
        while time.monotonic() - start < timeout:
            try:
                line = self.lines.get(timeout=0.2)
            except Empty:
                continue
            self.seen.append(line)
            if text in line:
                return time.monotonic() - start
        raise AssertionError(f"no line with {text!r} in {timeout}s; saw:\n{''.join(self.seen)}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = GRACE_S + 5) -> tuple[int, float]:
        start = time.monotonic()
        self.popen.send_signal(sig)
        code = self.popen.wait(timeout=timeout)
        return code, time.monotonic() - start

    def close(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        self.reader.join(timeout=5)
        assert self.popen.stdout is not None
        self.popen.stdout.close()


def serve_env(db: Database) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "TOKEN" not in k}
    env.update(
        ARENA_DB_URL=db.url,
        PYTHONUNBUFFERED="1",
        ARENA_STANDBY_POLL_S=str(STANDBY_POLL_S),
        ARENA_SHUTDOWN_GRACE_S=str(GRACE_S),
    )
    return env


def test_serve_without_tokens_then_standby_takes_over(sqlite_db: Database) -> None:
    env = serve_env(sqlite_db)
    first = Proc(env)
    second: Proc | None = None
    try:
        first.wait_for("No chat adapter configured")
        first.wait_for("scheduler running")
        second = Proc(env)
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
