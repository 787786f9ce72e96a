"""``arena backup`` / ``arena restore`` round trips (real SQLite files, real PostgreSQL with
pg_dump/pg_restore), run as a person would, through the CLI in a child process.

A restored database passes ``arena ledger check`` with totals identical to the original's
(``arena status --json``: every token's supply, AUM and NAV, every wallet, platform AUM, insurance
fund, fee income). Restoring over a database that holds data is refused without ``--force``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core import ledger
from core.db import Database, normalise_url
from tests.conftest import PG_URL, _admin_url
from tests.support.ledger_world import key, make_org, make_token, make_wallet

SYM = "STRAT-MOMENTUM-BTC-001"


def _arena(db_url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENA_")}
    return subprocess.run([sys.executable, "-c", "from bot.cli import main; main()", "--db", db_url, *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _populate(db: Database) -> None:
    wallet = make_wallet(db, make_org(db), cash="25000")
    make_token(db, SYM, supply="5000000")
    ledger.buy(db.uow(), wallet, SYM, "12000", idempotency_key=key())
    ledger.mark_nav(db.uow(), SYM, date(2025, 1, 1), "0.0125")
    ledger.redeem(db.uow(), wallet, SYM, "100", idempotency_key=key())


def _url(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


def _state(db_url: str, cwd: Path) -> dict[str, object]:
    check = _arena(db_url, "ledger", "check", "--json", cwd=cwd)
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout) == {"ok": True, "violations": []}
    status = _arena(db_url, "status", "--json", cwd=cwd)
    assert status.returncode == 0, status.stderr
    state: dict[str, object] = json.loads(status.stdout)
    return state


def test_sqlite_backup_restores_into_a_fresh_file(sqlite_db: Database, tmp_path: Path) -> None:
    _populate(sqlite_db)
    source = _url(sqlite_db)
    before = _state(source, tmp_path)
    done = _arena(source, "backup", str(tmp_path / "arena.backup"), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["dialect"] == "sqlite"
    fresh = f"sqlite:///{tmp_path / 'restored.db'}"
    restored = _arena(fresh, "restore", str(tmp_path / "arena.backup"), cwd=tmp_path)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    after = _state(fresh, tmp_path)
    assert after == before and before["tokens"]  # identical totals, and there were some
    # A database that holds data is not replaced without --force.
    again = _arena(fresh, "restore", str(tmp_path / "arena.backup"), cwd=tmp_path)
    assert again.returncode == 2 and "not empty" in again.stdout and "--force" in again.stdout
    forced = _arena(fresh, "restore", str(tmp_path / "arena.backup"), "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stdout
    assert _state(fresh, tmp_path) == before


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    done = _arena(f"sqlite:///{tmp_path / 'x.db'}", "restore", str(junk), cwd=tmp_path)
    assert done.returncode == 2 and "not an arena backup" in done.stdout
    assert not (tmp_path / "x.db").exists()


@pytest.mark.postgres
def test_postgres_backup_restores_into_a_fresh_database(pg_db: Database, tmp_path: Path) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump / pg_restore are not installed")
    assert PG_URL
    _populate(pg_db)
    source = _url(pg_db)
    before = _state(source, tmp_path)
    dump = tmp_path / "arena.dump"
    done = _arena(source, "backup", str(dump), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    name = f"arena_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(_admin_url(PG_URL)), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        from sqlalchemy.engine import make_url

        fresh = make_url(normalise_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
        # A SQLite backup does not go into PostgreSQL.
        wrong = tmp_path / "wrong.db"
        shutil.copyfile(_sqlite_file(tmp_path), wrong)
        refused = _arena(fresh, "restore", str(wrong), cwd=tmp_path)
        assert refused.returncode == 2 and "sqlite backup" in refused.stdout
        restored = _arena(fresh, "restore", str(dump), cwd=tmp_path)
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert _state(fresh, tmp_path) == before
        again = _arena(fresh, "restore", str(dump), cwd=tmp_path)
        assert again.returncode == 2 and "not empty" in again.stdout
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _sqlite_file(tmp_path: Path) -> str:
    import sqlite3

    path = tmp_path / "tiny.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    return str(path)
