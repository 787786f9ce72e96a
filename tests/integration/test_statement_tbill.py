"""The statement's T-bill series from real FRED DTB3 data (skips without ../shared/data): the
composition root converts the discount rate into the 91-day bill's investment yield, carries it over
the New Year holiday, and a month's return compounds yield / 365 per day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from bot.statement_cli import rates_for
from core.config import Settings
from core.statements.performance import tbill_return


def test_dtb3_yields_and_a_month(shared_data_dir: Path) -> None:
    rates = rates_for(Settings(data_dir=str(shared_data_dir)))
    assert "DTB3" in rates.name
    # 2025-01-02: 4.22 % discount -> 365 x 0.0422 / (360 - 91 x 0.0422) = 0.043242... a year
    d = Decimal("0.0422")
    expected = 365 * d / (360 - 91 * d)
    assert abs(rates.yields[date(2025, 1, 2)] - expected) < Decimal("1e-12")
    # 2025-01-01 (holiday, no observation) carries 2024-12-31's rate
    assert rates.yields[date(2025, 1, 1)] == rates.yields[date(2024, 12, 31)]
    ret, missing = tbill_return(rates, date(2025, 1, 1), date(2025, 2, 1))
    assert missing == 0 and Decimal("0.0035") < ret < Decimal("0.0038")  # about 4.3 % / 12
