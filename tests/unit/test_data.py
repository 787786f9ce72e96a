"""Market data: validation and repairs, the real shared files, the synthetic default, CSV maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.data import ColumnMap, DataError, accrue, load_folder, load_market, read_price_csv
from backtest.data.files import HOURLY_USDC_MARKETS, read_daily_rates, read_hourly_rates
from backtest.data.market import clean_prices, clean_rate
from backtest.data.synthetic import synthetic_market


def frame(closes: list[float], start: str = "2022-01-01", **cols: list[float]) -> pd.DataFrame:
    idx = pd.date_range(start, periods=len(closes), freq="D", tz="UTC", name="date")
    data = {"close": closes, **cols}
    return pd.DataFrame(data, index=idx)


def test_clean_frame_passes_and_fills_missing_columns() -> None:
    out = clean_prices(frame([1.0, 2.0, 3.0]), "X", repair=False, repairs=[])
    assert list(out.columns) == ["open", "high", "low", "close", "volume"]
    assert out["volume"].eq(0).all()


def test_duplicates_error_or_keep_last() -> None:
    df = pd.concat([frame([1.0, 2.0]), frame([2.5], start="2022-01-02")])
    with pytest.raises(DataError, match="duplicate"):
        clean_prices(df, "X", repair=False, repairs=[])
    notes: list[str] = []
    out = clean_prices(df, "X", repair=True, repairs=notes)
    assert out["close"].tolist() == [1.0, 2.5]
    assert "duplicate" in notes[0]


def test_short_gap_is_filled_and_noted_long_gap_errors() -> None:
    df = frame([1.0, 2.0, 3.0, 4.0]).drop(pd.Timestamp("2022-01-02", tz="UTC"))
    with pytest.raises(DataError, match="missing"):
        clean_prices(df, "X", repair=False, repairs=[])
    notes: list[str] = []
    out = clean_prices(df, "X", repair=True, repairs=notes)
    assert out.loc["2022-01-02", "close"] == 1.0 and out.loc["2022-01-02", "volume"] == 0.0
    assert "forward-filled 1" in notes[0]
    long = frame([1.0] * 20)
    long.iloc[5:15] = np.nan
    with pytest.raises(DataError, match="longest run 10"):
        clean_prices(long, "X", repair=True, repairs=[])


def test_nan_and_non_positive() -> None:
    with pytest.raises(DataError, match="NaN"):
        clean_prices(frame([1.0, float("nan"), 2.0]), "X", repair=False, repairs=[])
    with pytest.raises(DataError, match="non-positive"):
        clean_prices(frame([1.0, 1.1, 0.0, 1.2, 1.3]), "X", repair=True, repairs=[])


def test_leading_nan_dropped_with_note() -> None:
    notes: list[str] = []
    out = clean_prices(frame([float("nan")] * 3 + [1.0, 1.1]), "X", repair=False, repairs=notes)
    assert len(out) == 2 and "dropped 3 empty leading rows" in notes[0]


def test_listing_day_glitch() -> None:
    df = frame([3.46, 6.9, 5.7, 5.2, 5.3], open=[0.3, 3.46, 6.9, 5.7, 5.2],
               high=[15.0, 8.6, 7.5, 6.1, 5.5], low=[0.3, 3.2, 5.2, 4.6, 5.1])  # fmt: skip
    with pytest.raises(DataError, match="listing-day glitch"):
        clean_prices(df, "UNI", repair=False, repairs=[])
    notes: list[str] = []
    out = clean_prices(df, "UNI", repair=True, repairs=notes)
    assert out.index[0] == pd.Timestamp("2022-01-02", tz="UTC")
    assert "listing-day glitch" in notes[0]


def test_rates_validation() -> None:
    idx = pd.date_range("2022-01-01", periods=5, freq="D", tz="UTC")
    with pytest.raises(DataError, match="APR outside"):
        clean_rate(pd.Series([0.1, -0.2, 0.1, 0.1, 0.1], index=idx), "m", repair=True, repairs=[])


def test_accrue_compounds_daily() -> None:
    idx = pd.date_range("2022-01-01", periods=366, freq="D", tz="UTC")
    index = accrue(pd.Series(0.0365, index=idx))
    assert index.iloc[0] == 1.0
    assert index.iloc[1] == pytest.approx(1.0001)
    assert index.iloc[-1] == pytest.approx(1.0001**365)


def test_generic_csv_with_column_map(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("ts,px,vol\n1640995200000,10,5\n1641081600000,11,6\n1641168000000,12,7\n")
    out = read_price_csv(path, ColumnMap(date="ts", close="px", volume="vol", date_unit="ms"), "X")
    assert out.index[0] == pd.Timestamp("2022-01-01", tz="UTC")
    assert out["close"].tolist() == [10.0, 11.0, 12.0]
    with pytest.raises(DataError, match="missing column"):
        read_price_csv(path, ColumnMap(date="ts", close="price"), "X")


def test_generic_folder(tmp_path: Path) -> None:
    (tmp_path / "prices").mkdir()
    (tmp_path / "prices" / "ABC.csv").write_text("date,close\n2022-01-01,1\n2022-01-02,2\n")
    market = load_folder(tmp_path)
    assert market.assets == ["ABC"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no recognised"):
        load_folder(tmp_path / "empty")
    with pytest.raises(DataError, match="does not exist"):
        load_folder(tmp_path / "missing")


def test_synthetic_is_seeded_and_sane() -> None:
    a, b = synthetic_market(7, days=400), synthetic_market(7, days=400)
    c = synthetic_market(8, days=400)
    pd.testing.assert_frame_equal(a.prices["BTC"], b.prices["BTC"])
    assert not a.prices["BTC"].equals(c.prices["BTC"])
    for df in a.prices.values():
        assert (df[["open", "high", "low", "close"]] > 0).all().all()
        assert (df["high"] >= df[["open", "close"]].max(axis=1)).all()
    for s in a.rates.values():
        assert s.between(0, 0.5).all()
    assert load_market(None) is load_market(None)  # cached per process


def test_shared_data_layout(shared_data_dir: Path) -> None:
    market = load_market(shared_data_dir)
    assert {"BTC", "ETH", "LINK", "SOL", "UNI", "AAVE", "USDC", "UST", "STETH"} <= set(market.assets)
    assert {"compound:USDC", "aave_v1:USDC", "aave_v2:USDC", "aave_v3:USDC"} <= set(market.markets)
    btc = market.ohlcv("BTC")
    assert len(btc) == 3065 and btc.index[0] == pd.Timestamp("2017-08-17", tz="UTC")
    assert market.close("UNI").index[0] == pd.Timestamp("2020-09-18", tz="UTC")  # glitch dropped
    assert market.close("AAVE").iloc[0] > 40  # Yahoo listing glitch dropped
    assert market.rate("aave_v2:USDC").index[0] == pd.Timestamp("2020-12-02", tz="UTC")
    assert any("UNI" in r and "glitch" in r for r in market.repairs)
    # UST collapse is in the CoinGecko table
    assert market.close("UST").loc["2022-05-13"] < 0.2


def test_hourly_rates_match_daily_mean_file(shared_data_dir: Path) -> None:
    rates = shared_data_dir / "rates"
    hourly = read_hourly_rates(next(rates.glob("usdc_compound_aave_v1_v2_hourly_*.csv")))
    daily = read_daily_rates(next(rates.glob("usdc_lending_rates_daily_mean_*.csv")), HOURLY_USDC_MARKETS)
    for market in ("compound:USDC", "aave_v2:USDC"):
        a, b = hourly[market].align(daily[market], join="inner")
        assert len(a) > 400
        np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), atol=1e-5)


def test_binance_cross_checks_yahoo(shared_data_dir: Path) -> None:
    binance = load_market(shared_data_dir).close("BTC")
    yahoo = read_price_csv(
        shared_data_dir / "prices" / "yahoo_BTC-USD_1d.csv",
        ColumnMap("Date", "Close", "Open", "High", "Low", "Volume"),
        "BTC",
    )["close"]
    a, b = binance.align(yahoo, join="inner")
    assert len(a) > 1500
    assert float(np.median(np.abs(a / b - 1))) < 0.01  # USDT vs USD closes agree within 1 %
