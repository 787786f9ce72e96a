"""`arena distribution` and `arena distribute` as a subprocess on a real SQLite file: a lending token
switched to distributing at NAV 1, one holder of 1,000 units, marked +1 % (performance fee 10 % of
the gain: NAV 1.009 for 1,100 units), then January paid: 0.009 per unit, 9 to the holder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from core import ledger
from core.clock import SimulatedClock
from core.config import get_settings
from core.db import Database
from tests.integration.test_distributions import LEND, lending_token
from tests.support.ledger_world import key, make_org, make_wallet


@pytest.fixture
def no_management_fee(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ARENA_MANAGEMENT_FEE_RATE", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _arena(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENA_")}
    env["ARENA_MANAGEMENT_FEE_RATE"] = "0"  # the payment settles fees up to the wall clock's now
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_policy_and_monthly_payment(
    sqlite_db: Database, clock: SimulatedClock, no_management_fee: None, tmp_path: Path
) -> None:
    lending_token(sqlite_db)
    wallet = make_wallet(sqlite_db, make_org(sqlite_db), cash="5000")
    url = sqlite_db.url
    sqlite_db.dispose()
    set_on = _arena("--db", url, "distribution", LEND, "distribute", cwd=tmp_path)
    assert set_on.returncode == 0 and "distributes" in set_on.stdout and "$1.0000" in set_on.stdout
    bad = _arena("--db", url, "distribution", LEND, "sometimes", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "accumulate or distribute" in bad.stderr
    ledger.buy(sqlite_db.uow(), wallet, LEND, "1000", idempotency_key=key())
    clock.set(datetime(2025, 1, 20, 18, tzinfo=UTC))
    ledger.mark_nav(sqlite_db.uow(), LEND, date(2025, 1, 20), "0.01")
    sqlite_db.dispose()
    done = _arena("--db", url, "distribute", "--month", "2025-01", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    paid = json.loads(done.stdout)
    assert paid["period"] == "2025-01"
    result = paid["tokens"][LEND]
    assert (Decimal(result["per_unit"]), Decimal(result["amount"]), result["holders"]) == (
        Decimal("0.009"),
        Decimal("9.9"),
        2,
    )  # 9 to the holder + 0.9 to the house's seed
    again = _arena("--db", url, "distribute", "--month", "2025-01", cwd=tmp_path)
    assert again.returncode == 0 and "already paid" in again.stdout
