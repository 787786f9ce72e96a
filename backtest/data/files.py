"""Loaders for CSV files: the real files in ``../shared/data`` and any CSV with a column map.

Recognised layout of a data folder (the shared-data layout; see ``../shared/data/README.md``)::

    prices/<SYM>USDT_1d.csv          Binance daily klines  -> asset SYM (preferred source)
    prices/yahoo_<SYM>-USD_1d.csv    Yahoo daily (yfinance columns) -> SYM if Binance lacks it
    prices/coingecko_*_daily_close*.csv   CoinGecko wide daily closes -> each column not yet loaded
    prices/<SYM>.csv                 generic: date/timestamp + close (+ open high low volume)
    rates/usdc_compound_aave_v1_v2_hourly_*.csv   hourly -> daily mean: compound/aave_v1/aave_v2:USDC
    rates/usdc_lending_rates_daily_mean_*.csv     used only if the hourly file is absent
    rates/aave_v3_daily_rates_*.csv  Ethereum rows -> aave_v3:<SYMBOL> (instantaneous daily APR)
    rates/risk_free.csv              the risk-free rate (``date,rate`` annual decimal yields), else
    rates/us_tbill_3m_daily_fred_dtb3_*.csv   FRED DTB3 (see :mod:`backtest.data.riskfree`)

Tickers are upper-cased (CoinGecko's ``stETH`` becomes ``STETH``). Units are documented in
:mod:`backtest.data.market`; every series passes its validation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from backtest.data.market import DataError, MarketData, clean_prices, clean_rate, to_utc_days
from backtest.data.riskfree import folder_risk_free, zero_risk_free
from core.files import unreadable

_BINANCE = re.compile(r"^([A-Z0-9]+)USDT_1d\.csv$")
_YAHOO = re.compile(r"^yahoo_([A-Z0-9]+)-USD_1d\.csv$")
_GENERIC = re.compile(r"^([A-Z][A-Z0-9]{1,9})\.csv$")
#: Columns of the hourly USDC rates file -> lending market id.
HOURLY_USDC_MARKETS = {
    "supply_rate_comp": "compound:USDC",
    "supply_rate_aave_v1": "aave_v1:USDC",
    "supply_rate_aave_v2": "aave_v2:USDC",
}
AAVE_V3_NETWORK = "ethereum"


@dataclass(frozen=True)
class ColumnMap:
    """Which CSV columns hold what. ``date`` may be text dates or epoch numbers (``date_unit``)."""

    date: str = "date"
    close: str = "close"
    open: str | None = None
    high: str | None = None
    low: str | None = None
    volume: str | None = None
    date_unit: str | None = None  # "ms" or "s" for epoch timestamps


BINANCE_COLUMNS = ColumnMap("timestamp", "close", "open", "high", "low", "volume")
YAHOO_COLUMNS = ColumnMap("Date", "Close", "Open", "High", "Low", "Volume")


def read_price_csv(
    path: str | Path,
    columns: ColumnMap,
    name: str,
    *,
    repair: bool = True,
    repairs: list[str] | None = None,
) -> pd.DataFrame:
    """Read one asset's daily prices from any CSV, given where its columns are."""
    raw = _read_csv(path)
    mapping = {
        "open": columns.open,
        "high": columns.high,
        "low": columns.low,
        "close": columns.close,
        "volume": columns.volume,
    }
    wanted = [columns.date] + [c for c in mapping.values() if c]
    absent = [c for c in wanted if c not in raw.columns]
    if absent:
        raise DataError(f"{path}: missing column(s) {', '.join(absent)}")
    frame = pd.DataFrame(
        {k: pd.to_numeric(raw[v], errors="coerce") for k, v in mapping.items() if v},
    )
    frame.index = to_utc_days(raw[columns.date], unit=columns.date_unit)
    return clean_prices(frame, name, repair=repair, repairs=[] if repairs is None else repairs)


def read_wide_closes(
    path: str | Path, *, date_column: str = "date", repair: bool = True, repairs: list[str] | None = None
) -> dict[str, pd.DataFrame]:
    """A wide table of daily closes (one column per asset), e.g. the CoinGecko file."""
    raw = _read_csv(path)
    if date_column not in raw.columns:
        raise DataError(f"{path}: missing column {date_column}")
    index = to_utc_days(raw[date_column])
    out: dict[str, pd.DataFrame] = {}
    notes = [] if repairs is None else repairs
    for col in raw.columns:
        if col == date_column:
            continue
        series = pd.to_numeric(raw[col], errors="coerce")
        series.index = index
        ticker = col.upper()
        out[ticker] = clean_prices(series.to_frame("close"), ticker, repair=repair, repairs=notes)
    return out


def read_hourly_rates(
    path: str | Path,
    columns: Mapping[str, str] = HOURLY_USDC_MARKETS,
    *,
    timestamp: str = "timestamp",
    repair: bool = True,
    repairs: list[str] | None = None,
) -> dict[str, pd.Series]:
    """Intraday APR observations -> daily mean APR per UTC day, one Series per market."""
    raw = _read_csv(path)
    stamps = pd.to_datetime(raw[timestamp], utc=True, format="mixed")
    out: dict[str, pd.Series] = {}
    notes = [] if repairs is None else repairs
    for column, market in columns.items():
        if column not in raw.columns:
            raise DataError(f"{path}: missing column {column}")
        values = pd.Series(pd.to_numeric(raw[column], errors="coerce").to_numpy(), index=stamps)
        daily = values.resample("D").mean()
        daily.index = pd.DatetimeIndex(daily.index, name="date")
        out[market] = clean_rate(daily, market, repair=repair, repairs=notes)
    return out


def read_daily_rates(
    path: str | Path,
    columns: Mapping[str, str],
    *,
    date_column: str = "date",
    repair: bool = True,
    repairs: list[str] | None = None,
) -> dict[str, pd.Series]:
    """A table of daily APR columns -> one Series per market (``columns``: column -> market id)."""
    raw = _read_csv(path)
    index = to_utc_days(raw[date_column])
    notes = [] if repairs is None else repairs
    out: dict[str, pd.Series] = {}
    for column, market in columns.items():
        if column not in raw.columns:
            raise DataError(f"{path}: missing column {column}")
        series = pd.Series(pd.to_numeric(raw[column], errors="coerce").to_numpy(), index=index)
        out[market] = clean_rate(series, market, repair=repair, repairs=notes)
    return out


def read_aave_v3(
    path: str | Path, *, network: str = AAVE_V3_NETWORK, repair: bool = True, repairs: list[str] | None = None
) -> dict[str, pd.Series]:
    """The Aave v3 snapshot file: supply APR of each symbol on ``network`` -> ``aave_v3:<SYMBOL>``."""
    raw = _read_csv(path)
    rows = raw[(raw["network"] == network) & ~raw["symbol"].str.contains(r"[^A-Za-z0-9]", regex=True)]
    notes = [] if repairs is None else repairs
    out: dict[str, pd.Series] = {}
    for symbol, group in rows.groupby("symbol", sort=True):
        market = f"aave_v3:{str(symbol).upper()}"
        series = pd.Series(
            pd.to_numeric(group["supply_apr"], errors="coerce").to_numpy(), index=to_utc_days(group["date"])
        )
        out[market] = clean_rate(series, market, repair=repair, repairs=notes)
    return out


def load_folder(path: str | Path, *, repair: bool = True) -> MarketData:
    """Load a data folder in the shared-data layout (module docstring)."""
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"data folder {root} does not exist")
    repairs: list[str] = []
    prices: dict[str, pd.DataFrame] = {}
    price_dir = root / "prices" if (root / "prices").is_dir() else root
    files = sorted(price_dir.glob("*.csv"))
    for f in files:  # Binance first: the preferred, complete OHLCV source
        if m := _BINANCE.match(f.name):
            prices[m.group(1)] = read_price_csv(
                f, BINANCE_COLUMNS, m.group(1), repair=repair, repairs=repairs
            )
    for f in files:
        if (m := _YAHOO.match(f.name)) and m.group(1) not in prices:
            prices[m.group(1)] = read_price_csv(f, YAHOO_COLUMNS, m.group(1), repair=repair, repairs=repairs)
    for f in files:
        if (m := _GENERIC.match(f.name)) and m.group(1) not in prices:
            date = "timestamp" if "timestamp" in _header(f) else "date"
            cols = ColumnMap(
                date, "close", *(c if c in _header(f) else None for c in ("open", "high", "low", "volume"))
            )
            prices[m.group(1)] = read_price_csv(f, cols, m.group(1), repair=repair, repairs=repairs)
    for f in files:
        if f.name.startswith("coingecko_"):
            for ticker, frame in read_wide_closes(f, repair=repair, repairs=repairs).items():
                prices.setdefault(ticker, frame)
    rates: dict[str, pd.Series] = {}
    rate_dir = root / "rates"
    if rate_dir.is_dir():
        for f in sorted(rate_dir.glob("usdc_compound_aave_v1_v2_hourly_*.csv")):
            rates.update(read_hourly_rates(f, repair=repair, repairs=repairs))
        if not rates:
            daily_cols = dict(HOURLY_USDC_MARKETS)
            for f in sorted(rate_dir.glob("usdc_lending_rates_daily_mean_*.csv")):
                rates.update(read_daily_rates(f, daily_cols, repair=repair, repairs=repairs))
        for f in sorted(rate_dir.glob("aave_v3_daily_rates_*.csv")):
            rates.update(read_aave_v3(f, repair=repair, repairs=repairs))
    if not prices and not rates:
        raise DataError(f"no recognised price or rate files in {root}")
    risk_free = folder_risk_free(root) or zero_risk_free(f"none found in {root.name}/rates: 0 %")
    return MarketData(prices, rates, source=str(root), repairs=tuple(repairs), risk_free=risk_free)


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return fh.readline().strip().split(",")


def _read_csv(path: str | Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataError(unreadable(path, exc)) from None
