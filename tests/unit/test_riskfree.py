"""The risk-free series: DTB3 loading, the discount-to-yield conversion, carry rules, other files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from backtest.data import load_market
from backtest.data.market import DataError
from backtest.data.riskfree import (
    discount_to_yield,
    folder_risk_free,
    read_dtb3,
    read_risk_free_file,
    read_yield_csv,
)

DTB3 = """observation_date,DTB3
2024-01-04,5.00
2024-01-05,5.10
2024-01-08,
2024-01-09,5.20
"""


def test_discount_rate_becomes_the_bills_investment_yield() -> None:
    # 91-day bill at a 5.27 % discount: price 1 - 0.0527 * 91 / 360; yield 365 d / (360 - 91 d).
    y = discount_to_yield(pd.Series([5.27]))[0]
    assert y == pytest.approx(365 * 0.0527 / (360 - 91 * 0.0527), rel=1e-15)
    assert y == pytest.approx(0.054153, abs=1e-6) and y > 0.0527  # a discount rate understates the yield


def test_dtb3_is_carried_over_weekends_and_holidays_but_never_past_its_end(tmp_path: Path) -> None:
    path = tmp_path / "DTB3.csv"
    path.write_text(DTB3)
    rf = read_dtb3(path)
    assert rf.name == "3-month US T-bill (FRED DTB3)"
    y = rf.yields
    assert [str(d.date()) for d in y.index] == [f"2024-01-{d:02d}" for d in range(4, 10)]  # ends on the 9th
    fri, sat, sun, holiday = (y.loc[f"2024-01-{d:02d}"] for d in (5, 6, 7, 8))
    assert fri == sat == sun == holiday == pytest.approx(365 * 0.051 / (360 - 91 * 0.051))
    days = pd.date_range("2024-01-08", periods=4, tz="UTC")  # steps starting 8th, 9th, 10th
    rates, missing = rf.per_day(days)
    assert rates[0] == pytest.approx(holiday / 365) and rates[1] == pytest.approx(y.iloc[-1] / 365)
    assert rates[2] == 0.0 and missing == 1  # the 10th has no rate: counted, never invented


def test_generic_files_and_the_folder_convention(tmp_path: Path) -> None:
    own = tmp_path / "rates" / "risk_free.csv"
    own.parent.mkdir()
    own.write_text("date,rate\n2024-01-01,0.04\n2024-01-03,0.05\n")
    (tmp_path / "rates" / "us_tbill_3m_daily_fred_dtb3_2000_2026.csv").write_text(DTB3)
    rf = folder_risk_free(tmp_path)
    assert rf is not None and rf.name.startswith("risk_free.csv")  # the folder's own file wins
    assert list(rf.yields) == [0.04, 0.04, 0.05]
    assert read_risk_free_file(own).yields.iloc[-1] == 0.05
    assert read_risk_free_file(
        tmp_path / "rates" / "us_tbill_3m_daily_fred_dtb3_2000_2026.csv"
    ).name.endswith("DTB3)")
    bad = tmp_path / "percent.csv"
    bad.write_text("date,rate\n2024-01-01,4.5\n")
    with pytest.raises(DataError, match="decimal fractions"):
        read_yield_csv(bad)
    with pytest.raises(DataError) as missing:
        read_risk_free_file(tmp_path / "missing.csv")
    assert str(missing.value) == f"risk-free file {tmp_path / 'missing.csv'} does not exist"


def test_synthetic_market_has_no_risk_free_rate_and_says_so() -> None:
    rf = load_market(None).riskfree()
    assert rf.is_zero and rf.name == "none (synthetic market): 0 %"


def test_real_dtb3_matches_the_raw_file(shared_data_dir: Path) -> None:
    raw = pd.read_csv(shared_data_dir / "rates" / "us_tbill_3m_daily_fred_dtb3_2000_2026.csv")
    rf = load_market(shared_data_dir).riskfree()
    last = raw.dropna().iloc[-1]
    assert str(rf.last_day.date()) == last["observation_date"]  # type: ignore[union-attr]
    d = raw.set_index("observation_date")["DTB3"]
    assert rf.yields.loc["2023-07-03"] == pytest.approx(
        365 * d["2023-07-03"] / 100 / (360 - 91 * d["2023-07-03"] / 100)
    )
    assert rf.yields.loc["2023-07-01"] == rf.yields.loc["2023-06-30"]  # a Saturday carries Friday
