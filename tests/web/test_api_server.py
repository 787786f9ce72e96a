"""`arena api` as a real process: uvicorn on a loopback port over a real database. One worker over
SQLite (health, public reads, an idempotent buy, SIGTERM exits 0) and two workers over PostgreSQL
doing concurrent buys from two organisations, with replays of the same keys, after which the ledger's
invariants hold and each key moved money exactly once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from core.db import Database
from core.ledger import check_invariants
from core.models import AIWallet, LedgerTransaction
from tests.web.support import OA, SYMBOL, XOA, ApiWorld, build_world

STARTUP_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def arena_api(db_url: str, world: ApiWorld, workers: int = 1) -> Iterator[str]:
    """``arena api --service all`` on a free loopback port; yields its base URL; SIGTERM at the end
    (the process must exit 0 and print no traceback)."""
    port = free_port()
    env = {
        **os.environ,
        "ARENA_DB_URL": db_url,
        "ARENA_PLATFORM_ADMINS": world.chat.settings.platform_admins,
        "ARENA_LOG_LEVEL": "WARNING",
        "ARENA_API_RATE_LIMIT": "100000/minute",
    }
    argv = [
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        "api",
        "--service",
        "all",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with (
        tempfile.TemporaryFile("w+") as log,
        subprocess.Popen(argv, env=env, stdout=log, stderr=log) as process,
    ):
        base = f"http://127.0.0.1:{port}"

        def output() -> str:
            log.seek(0)
            return log.read()

        try:
            deadline = time.monotonic() + STARTUP_S
            while not _healthy(base):
                assert process.poll() is None, output()
                assert time.monotonic() < deadline, "arena api did not start"
                time.sleep(0.3)
            yield base
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
        assert code == 0, output()
        assert "Traceback" not in output(), output()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def buy(base: str, world: ApiWorld, role: str, amount: str, idem: str) -> httpx.Response:
    return httpx.post(
        f"{base}/api/tokens/{SYMBOL}/buy",
        json={"amount": amount},
        timeout=30,
        headers={"Authorization": f"Bearer {world.keys[role]}", "Idempotency-Key": idem},
    )


def buys_in(db: Database) -> int:
    with db.uow(read_only=True) as uow:
        return (
            uow.session.scalar(
                select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.kind == "buy")
            )
            or 0
        )


def cash(db: Database, wallet_id: int) -> Decimal:
    with db.uow(read_only=True) as uow:
        wallet = uow.session.get(AIWallet, wallet_id)
        assert wallet is not None
        return wallet.cash


def test_arena_api_over_sqlite(sqlite_db: Database) -> None:
    world = build_world(sqlite_db)
    with arena_api(str(sqlite_db.engine.url), world) as base:
        assert httpx.get(f"{base}/openapi.json").json()["openapi"] == "3.1.0"
        assert [t["symbol"] for t in httpx.get(f"{base}/api/tokens/list").json()] == [SYMBOL]
        assert httpx.get(f"{base}/api/wallet/{world.wallet_id}/status").status_code == 401
        first, again = buy(base, world, OA, "100", "live-1"), buy(base, world, OA, "100", "live-1")
        assert first.status_code == again.status_code == 200, first.text
        assert first.json()["transaction_id"] == again.json()["transaction_id"]
        assert buy(base, world, OA, "101", "live-1").status_code == 409
    assert cash(sqlite_db, world.wallet_id) == Decimal("9900")


@pytest.mark.postgres
def test_two_workers_over_postgres_buy_concurrently(pg_db: Database) -> None:
    world = build_world(pg_db)
    before = buys_in(pg_db)
    # 2 organisations x 12 buys of 10 USD, each key sent twice at once (to whichever worker).
    jobs = [(role, f"{role}-{i}") for role in (OA, XOA) for i in range(12)]
    with (
        arena_api(pg_db.engine.url.render_as_string(hide_password=False), world, workers=2) as base,
        ThreadPoolExecutor(max_workers=8) as pool,
    ):
        results = list(pool.map(lambda job: buy(base, world, job[0], "10", job[1]), jobs + jobs))
    assert [r.status_code for r in results] == [200] * len(results), [
        r.text for r in results if r.status_code != 200
    ]
    by_key: dict[str, set[int]] = {}
    for (_role, idem), response in zip(jobs + jobs, results, strict=True):
        by_key.setdefault(idem, set()).add(response.json()["transaction_id"])
    assert all(len(ids) == 1 for ids in by_key.values())  # a replay returned the stored trade
    assert buys_in(pg_db) == before + 24
    assert cash(pg_db, world.wallet_id) == cash(pg_db, world.other_wallet_id) == Decimal("9880")
    with pg_db.uow(read_only=True) as uow:
        assert check_invariants(uow.session) == []
