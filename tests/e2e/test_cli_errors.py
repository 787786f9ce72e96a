"""Bad CLI input ends in a short message and exit code 2, never a traceback or a leaked secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _arena(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENA_")}
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_unreachable_database_is_a_message_without_the_password(tmp_path: Path) -> None:
    done = _arena("--db", "postgresql://nobody:hunter2@127.0.0.1:1/x", "status", cwd=tmp_path)
    assert done.returncode == 2
    assert "cannot use the database" in done.stderr and "hunter2" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_uninitialised_database_says_to_run_init(tmp_path: Path) -> None:
    done = _arena("--db", f"sqlite:///{tmp_path / 'empty.db'}", "ledger", "check", "--json", cwd=tmp_path)
    assert done.returncode == 2 and "arena init" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""  # --json: nothing but JSON on stdout, and no JSON for an error
