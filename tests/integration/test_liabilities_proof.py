"""Proof of liabilities end to end: the published totals equal the ledger's liabilities to holders
(summed independently here), every organisation's proof verifies offline through the CLI, and a
changed balance or another day's root does not (a real SQLite file and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from core import exchange
from core.audit import merkle
from core.audit.liabilities import proof_for, publish, published_root
from core.clock import SimulatedClock
from core.db import Database
from tests.support.exchange_world import SYM, sold_out_market
from tests.support.ledger_world import key, violations

pytestmark = pytest.mark.usefixtures("pure_ledger")


def _liabilities(db: Database) -> dict[str, Decimal]:
    """Cash of every organisation wallet and units of every holding outside the house wallet."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    with db.engine.connect() as conn:
        for (cash,) in conn.execute(text("SELECT cash FROM ai_wallets WHERE NOT is_house")):
            totals["USD"] += Decimal(str(cash))
        for symbol, qty in conn.execute(
            text(
                "SELECT t.symbol, h.quantity FROM token_holdings h "
                "JOIN strategy_tokens t ON t.id = h.token_id "
                "JOIN ai_wallets w ON w.id = h.wallet_id WHERE NOT w.is_house"
            )
        ):
            totals[symbol] += Decimal(str(qty))
    return dict(totals)


def _arena(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENA_")}
    url = db.engine.url.render_as_string(hide_password=False)
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "--db", url, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_totals_equal_liabilities_and_every_proof_verifies(any_db: Database) -> None:
    m = sold_out_market(any_db)
    exchange.place_order(any_db.uow(), m.a, "ask", SYM, "100", "1.01", idempotency_key=key())
    exchange.place_order(
        any_db.uow(), m.b, "bid", SYM, "150", "1.02", idempotency_key=key()
    )  # 100 fill, 50 rest
    root = publish(any_db)
    expected = _liabilities(any_db)
    assert {a: Decimal(v) for a, v in root.totals.items()} == expected
    assert expected == {
        "USD": Decimal(30000) - 500,
        SYM: Decimal(500),
    }  # 3 x 10,000 - the 500 paid to the pool
    assert root.wallet_count == 3
    with any_db.uow(read_only=True) as uow:
        for wallet in (m.a, m.b, m.c):
            proof = proof_for(uow.session, wallet)
            assert merkle.verify(proof, root.root).ok
        assert published_root(uow.session) == root
    assert publish(any_db) == root  # once per day
    assert violations(any_db) == []


def test_cli_show_and_verify_offline(sqlite_db: Database, tmp_path: Path, clock: SimulatedClock) -> None:
    m = sold_out_market(sqlite_db)
    published = _arena(sqlite_db, "proof", "publish", "--json")
    assert published.returncode == 0, published.stdout + published.stderr
    root = json.loads(published.stdout)["root"]
    shown = _arena(sqlite_db, "proof", "show", "--wallet", str(m.c))
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(shown.stdout)
    good = _arena(sqlite_db, "proof", "verify", str(proof_file), "--root", root)
    assert good.returncode == 0 and "proof holds" in good.stdout, good.stderr
    forged = json.loads(shown.stdout)
    forged["balances"]["USD"] = str(Decimal(forged["balances"]["USD"]) + 1)
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    bad = _arena(sqlite_db, "proof", "verify", str(tmp_path / "forged.json"), "--root", root)
    assert bad.returncode == 1 and "proof does not hold" in bad.stderr
    # The next day's root (same balances: nothing traded) does not accept yesterday's proof.
    clock.advance(timedelta(days=1))
    with sqlite_db.uow(read_only=True) as uow:
        yesterday = proof_for(uow.session, m.c)
    tomorrow = publish(sqlite_db)
    assert tomorrow.totals == json.loads(published.stdout)["totals"]
    assert not merkle.verify(yesterday, tomorrow.root).ok
    other = _arena(sqlite_db, "proof", "verify", str(proof_file), "--root", tomorrow.root)
    assert other.returncode == 1
    orders = _arena(sqlite_db, "orders", "--json")
    assert orders.returncode == 0 and json.loads(orders.stdout) == {"orders": []}
