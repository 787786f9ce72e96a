"""Safety by construction: every entry point trades only with the pre-trade checks (circuit breaker,
redemption limit) active, because its own composition root installs them — not an import.

* A process whose root never installed them refuses to trade at all (``ChecksNotInstalled``).
* ``arena chat`` (the CLI's root, a fresh child process): a platform admin halts trading, then a
  confirmed buy is refused as halted and nothing is bought.
* ``arena serve`` (the root of the chat adapters and the scheduler), started in a process state with
  no checks: once it runs, a trade on the halted platform is refused by the circuit breaker and an
  over-limit redemption by the redemption limit.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import ledger
from core.db import Database
from core.errors import LimitExceeded, TradingHalted
from core.ledger import guards
from core.ledger.guards import ChecksNotInstalled
from core.risk import halt_trading, resume_trading
from tests.e2e.chat_support import make_settings
from tests.support.ledger_world import holding_of, key, make_org, make_token, make_wallet

ARENA = str(Path(sys.executable).with_name("arena"))
SYM = "STRAT-YIELD-USDC-001"

SCRIPT = """\
/start
press 1
press 2
press 3
press 4
press 5
Grace Chapel
/agreement
press 8
@admin /verify 1
/deposit 1000
press 9
@admin /halt
/buy STRAT-YIELD-USDC-001 250
/wallet
"""


@pytest.mark.usefixtures("unconfigured_ledger")
def test_without_a_root_nothing_trades(sqlite_db: Database) -> None:
    wallet = make_wallet(sqlite_db, make_org(sqlite_db), cash="1000")
    make_token(sqlite_db, SYM)
    with pytest.raises(ChecksNotInstalled, match="composition root"):
        ledger.buy(sqlite_db.uow(), wallet, SYM, "10", idempotency_key=key())
    assert holding_of(sqlite_db, wallet, SYM)[0] == 0


def test_arena_chat_trades_with_the_checks(sqlite_db: Database, tmp_path: Path) -> None:
    make_token(sqlite_db, SYM)
    script = tmp_path / "halted.txt"
    script.write_text(SCRIPT)
    env = {**os.environ, "ARENA_DB_URL": sqlite_db.url, "ARENA_PLATFORM_ADMINS": ""}
    done = subprocess.run([ARENA, "chat", "--user", "grace", "--admin", "admin", "--script", str(script),
                           "--files", str(tmp_path)], capture_output=True, text=True, env=env, timeout=180,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "trading is halted" in done.stdout.lower(), done.stdout[-2000:]
    assert "Bought " not in done.stdout
    assert "Deposited $1,000.00" in done.stdout and "Total: $1,000.00" in done.stdout


@pytest.mark.usefixtures("unconfigured_ledger")
async def test_arena_serve_installs_the_checks_for_chat_and_scheduler(sqlite_db: Database) -> None:
    from bot.serve import serve

    wallet = make_wallet(sqlite_db, make_org(sqlite_db), cash="100000")
    make_token(sqlite_db, SYM)
    assert guards.installed() == []
    stop = asyncio.Event()
    said: list[str] = []
    task = asyncio.create_task(serve(sqlite_db, make_settings(), scheduler=True, stop=stop, say=said.append))
    try:
        for _ in range(500):  # until serve has started its scheduler (a condition, not a fixed wait)
            if any("scheduler running" in line for line in said) or task.done():
                break
            await asyncio.sleep(0.02)
        assert not task.done(), task.exception() if task.done() else None
        assert guards.installed() == ["risk.circuit_breaker", "risk.redemption_limit"]
        await asyncio.to_thread(_trade_checks, sqlite_db, wallet)
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 60) == 0


def _trade_checks(db: Database, wallet: int) -> None:
    bought = ledger.buy(db.uow(), wallet, SYM, "50000", idempotency_key=key())
    # The redemption limit: at most 10 % of the token's AUM per day leaves by direct redeem.
    with pytest.raises(LimitExceeded):
        ledger.redeem(db.uow(), wallet, SYM, bought.tokens, idempotency_key=key())
    with db.uow() as uow:
        halt_trading(uow.session, uow.clock.now(), admin="test", reason="drill")
        uow.commit()
    with pytest.raises(TradingHalted):
        ledger.buy(db.uow(), wallet, SYM, "10", idempotency_key=key())
    with db.uow() as uow:
        resume_trading(uow.session, uow.clock.now(), admin="test")
        uow.commit()
