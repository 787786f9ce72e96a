"""Bad CLI input ends in a short message and exit code 2, never a traceback or a leaked secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


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
    assert "error: Cannot use the database" in done.stderr and "hunter2" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_uninitialised_database_says_to_run_init(tmp_path: Path) -> None:
    done = _arena("--db", f"sqlite:///{tmp_path / 'empty.db'}", "ledger", "check", "--json", cwd=tmp_path)
    assert done.returncode == 2 and "arena init" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""  # --json: nothing but JSON on stdout, and no JSON for an error


def _user_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit code 2, exactly one line on stderr, no traceback, the words in it."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    for word in words:
        assert word in done.stderr, (word, done.stderr)


SPEC = str(Path(__file__).resolve().parents[2] / "examples" / "specs" / "btc_golden_cross.json")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--db", "foo://bar", "status"), ("Unsupported database", "sqlite:///")),
        (("--db", "my.db", "status"), ("no database at my.db", "arena init")),
        (("status",), ("no database at arena.db",)),
        (("--db", "sqlite:////nonexistent/dir/x.db", "init"), ("folder /nonexistent/dir does not exist",)),
        (("chat", "--user", "a", "--script", "nofile.txt"), ("Script nofile.txt does not exist",)),
        (("backtest", "nofile.json"), ("error: Spec file nofile.json does not exist",)),
        (("import", "--source", "nofile.jsonl"), ("error: File nofile.jsonl does not exist",)),
        (("backtest", SPEC, "--start", "2024-01-01", "--end", "2023-01-01"), ("2023-01-01",)),
        (("replay", "--start", "2024-01-01", "--end", "2023-01-01"), ("before --start",)),
        (("replay", "--from", "2024-01-01", "--to", "2023-01-01"), ("before --start",)),  # old names
        (("replay", "--start", "not-a-day"), ("not a date",)),
        (("replay", "--start", "1990-01-01", "--end", "1990-02-01"), ("No market data",)),
        (("import",), ("Nothing to import", "--source")),
        (("init", "--bogus"), ("No such option: --bogus", "arena init --help")),
        (("nosuchcommand",), ("No such command",)),
        (("backtest",), ("Missing argument",)),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else "",
)
def test_user_errors_are_one_line_with_exit_code_2(
    tmp_path: Path, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    _user_error(_arena(*args, cwd=tmp_path), *words)
    assert not (tmp_path / "arena.db").exists() and not (tmp_path / "my.db").exists()  # nothing left


def test_a_second_demo_and_json_only_output(tmp_path: Path) -> None:
    import json

    from core.clock import SystemClock
    from core.compliance.identity import get_or_create_user
    from core.db import Database

    db = f"sqlite:///{tmp_path / 'used.db'}"
    done = _arena("--db", db, "init", "--json", cwd=tmp_path)
    assert done.returncode == 0 and json.loads(done.stdout)["ok"] is True  # only JSON on stdout
    assert "created a new database" in done.stderr
    status = _arena("--db", db, "status", "--json", cwd=tmp_path)
    assert status.returncode == 0 and json.loads(status.stdout)["tokens"] == []
    used = Database(db)
    with used.uow() as uow:  # somebody already uses this database
        get_or_create_user(uow.session, "console", 7, "someone", SystemClock())
        uow.commit()
    used.dispose()
    _user_error(_arena("--db", db, "demo", cwd=tmp_path), "already holds data", "--fresh")
    _user_error(_arena("--db", db, "demo", "--fresh", cwd=tmp_path), "was not made by `arena demo`")
