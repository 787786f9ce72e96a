"""`arena serve` without bot tokens runs the scheduler and explains `arena chat`; a second
scheduler on the same database exits with a clear message."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.db import Database

ARENA = str(Path(sys.executable).with_name("arena"))


def test_serve_without_tokens_and_second_instance_refused(sqlite_db: Database) -> None:
    env = {k: v for k, v in os.environ.items() if "TOKEN" not in k}
    env["ARENA_DB_URL"] = sqlite_db.url
    env["PYTHONUNBUFFERED"] = "1"
    with subprocess.Popen(
        [ARENA, "serve"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as first:
        _check(first, env)
    assert first.returncode == 0


def _check(first: subprocess.Popen[str], env: dict[str, str]) -> None:
    try:
        deadline = time.monotonic() + 60
        lines: list[str] = []
        assert first.stdout is not None
        while time.monotonic() < deadline:
            line = first.stdout.readline()
            lines.append(line)
            if "arena chat" in line:
                break
        output = "".join(lines)
        assert "scheduler running" in output and "No chat adapter configured" in output
        second = subprocess.run(
            [ARENA, "serve"], capture_output=True, text=True, env=env, timeout=60, check=False
        )
        assert second.returncode == 3
        assert "another scheduler is running" in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=30)
