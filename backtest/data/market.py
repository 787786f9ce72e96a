"""``MarketData`` and the validation every price/rate series passes before a backtest sees it.

Conventions (floats: this is simulation input, never a ledger amount):

* Prices: one DataFrame per asset, columns ``open high low close volume`` (quote currency per unit,
  volume in base units), indexed by a tz-aware UTC ``DatetimeIndex`` of calendar days named ``date``.
* Rates: one Series per lending market (``aave_v2:USDC``), the **supply APR as a decimal fraction**
  per UTC day (0.035 = 3.5 %).
* Risk-free: :attr:`MarketData.risk_free` (:mod:`backtest.data.riskfree`), the 3-month T-bill where
  the data has it; ``None`` means none is known and excess returns equal returns (0 %). The cash
  market ``tbill:USD`` reads it as its APR (investment yield, ``y / 365`` a day), so cash parked
  there earns exactly the risk-free rate the metrics subtract.
* A rate becomes a price-like series by accruing daily: ``index[t] = index[t-1] * (1 + apr[t-1] / 365)``
  (the APR seen on a day earns over that day; simple daily compounding, 365-day year).

Validation never passes a problem silently. With ``repair=False`` each problem raises
:class:`DataError`; with ``repair=True`` the documented repairs below are applied and each one is
recorded in ``MarketData.repairs`` (and logged):

* duplicate days: keep the last row (later rows in vendor files are corrections);
* leading NaN rows (asset not yet listed / market not yet live): dropped;
* listing-day glitch (a leading row whose range high/low exceeds ``GLITCH_RANGE`` or whose close is
  off by more than ``GLITCH_RANGE`` from the next close): dropped, at most ``MAX_GLITCH_ROWS`` rows;
* gaps and interior NaN of at most ``MAX_FILL_DAYS`` days: forward-filled (prices flat, volume 0);
* longer gaps, non-positive prices after the listing, OHLC inconsistency: always an error.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.errors import ValidationError
from core.spec.model import TBILL_MARKET

if TYPE_CHECKING:
    from backtest.data.riskfree import RiskFree

log = logging.getLogger(__name__)

OHLCV = ("open", "high", "low", "close", "volume")
MAX_FILL_DAYS = 7
MAX_GLITCH_ROWS = 3
GLITCH_RANGE = 5.0
DAYS_PER_YEAR = 365


class DataError(ValidationError):
    """Market data that cannot be used as is (names the series and the problem)."""

    code = "invalid_data"


@dataclass(frozen=True)
class MarketData:
    """Daily prices and lending rates for a backtest (see the module docstring for units)."""

    prices: dict[str, pd.DataFrame]
    rates: dict[str, pd.Series]
    source: str = "unknown"
    repairs: tuple[str, ...] = field(default=())
    risk_free: RiskFree | None = None

    def riskfree(self) -> RiskFree:
        """The risk-free series to compute excess returns against (0 % when none is known)."""
        from backtest.data.riskfree import zero_risk_free

        if self.risk_free is not None:
            return self.risk_free
        return zero_risk_free(f"none in {self.source}: 0 %")

    def with_risk_free(self, risk_free: RiskFree | None) -> MarketData:
        return MarketData(self.prices, self.rates, self.source, self.repairs, risk_free)

    def subset(self, assets: Sequence[str], markets: Sequence[str]) -> MarketData:
        """Only the named series, the prices of the coins the markets hold (``compound:USDC`` ->
        ``USDC``) and the risk-free rate: what one backtest task needs to carry."""
        coins = [m.partition(":")[2] for m in markets]
        prices = {a: self.prices[a] for a in [*assets, *coins] if a in self.prices}
        rates = {m: self.rates[m] for m in markets if m in self.rates}
        return MarketData(prices, rates, self.source, self.repairs, self.risk_free)

    @property
    def assets(self) -> list[str]:
        return sorted(self.prices)

    @property
    def markets(self) -> list[str]:
        return sorted(self.rates)

    def close(self, asset: str) -> pd.Series:
        return self.ohlcv(asset)["close"]

    def ohlcv(self, asset: str) -> pd.DataFrame:
        try:
            return self.prices[asset]
        except KeyError:
            have = ", ".join(self.assets) or "none"
            raise DataError(f"no price data for {asset} in {self.source} (have: {have})") from None

    def rate(self, market: str) -> pd.Series:
        """A market's APR series; ``tbill:USD`` (the T-bill cash leg) is the risk-free yield series."""
        if market == TBILL_MARKET:
            if self.risk_free is None or self.risk_free.is_zero:
                raise DataError(
                    f"no T-bill (risk-free) series in {self.source} for {TBILL_MARKET}; give the data "
                    "folder a rates/us_tbill_3m_daily_fred_dtb3_*.csv or pass --risk-free FILE"
                )
            return self.risk_free.yields.rename(TBILL_MARKET)
        try:
            return self.rates[market]
        except KeyError:
            have = ", ".join(self.markets) or "none"
            raise DataError(f"no lending rates for {market} in {self.source} (have: {have})") from None

    def span(self, assets: Sequence[str], markets: Sequence[str] = ()) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last day on which every named asset and market has data."""
        indexes = [self.ohlcv(a).index for a in assets] + [self.rate(m).index for m in markets]
        if not indexes:
            raise DataError("nothing to span: no assets and no markets")
        start = max(ix[0] for ix in indexes)
        end = min(ix[-1] for ix in indexes)
        if start > end:
            raise DataError(f"{', '.join([*assets, *markets])} have no days in common")
        return start, end

    def window(self, start: pd.Timestamp | None, end: pd.Timestamp | None) -> MarketData:
        """A copy restricted to ``[start, end]`` (inclusive; None = open)."""
        lo = start if start is not None else pd.Timestamp.min.tz_localize("UTC")
        hi = end if end is not None else pd.Timestamp.max.tz_localize("UTC")
        prices = {a: df.loc[lo:hi] for a, df in self.prices.items()}
        rates = {m: s.loc[lo:hi] for m, s in self.rates.items()}
        return MarketData(
            {a: df for a, df in prices.items() if len(df)},
            {m: s for m, s in rates.items() if len(s)},
            self.source,
            self.repairs,
            self.risk_free.window(start, end) if self.risk_free is not None else None,
        )

    def merged(self, other: MarketData) -> MarketData:
        """Union; series already present here win (so list preferred sources first)."""
        return MarketData(
            {**other.prices, **self.prices},
            {**other.rates, **self.rates},
            f"{self.source}+{other.source}",
            self.repairs + other.repairs,
            self.risk_free if self.risk_free is not None else other.risk_free,
        )


def accrue(apr: pd.Series, start_value: float = 1.0) -> pd.Series:
    """Price-like index of a lending market: value of ``start_value`` supplied on the first day."""
    growth = 1.0 + apr.shift(1, fill_value=0.0).to_numpy(dtype=float) / DAYS_PER_YEAR
    return pd.Series(start_value * np.cumprod(growth), index=apr.index, name=apr.name)


def to_utc_days(values: pd.Series | pd.Index, *, unit: str | None = None) -> pd.DatetimeIndex:
    """Parse dates/timestamps (strings, datetimes or epoch numbers in ``unit``) to UTC midnights."""
    if unit is not None:
        idx = pd.to_datetime(pd.Index(values), unit=unit, utc=True)
    else:
        idx = pd.to_datetime(pd.Index(values), utc=True, format="mixed")
    return pd.DatetimeIndex(idx.floor("D"), name="date")


def clean_prices(frame: pd.DataFrame, name: str, *, repair: bool, repairs: list[str]) -> pd.DataFrame:
    """Validate (and with ``repair`` fix) one asset's daily OHLCV frame. See the module docstring."""
    df = frame.copy()
    missing = [c for c in ("close",) if c not in df]
    if missing:
        raise DataError(f"{name}: missing column close")
    for col in ("open", "high", "low"):
        if col not in df:
            df[col] = df["close"]
    if "volume" not in df:
        df["volume"] = 0.0
    df = df[list(OHLCV)].astype(float)
    if not isinstance(df.index, pd.DatetimeIndex) or df.index.tz is None:
        raise DataError(f"{name}: index must be UTC dates")
    df = df.sort_index()
    df = _dedupe(df, name, repair=repair, repairs=repairs)
    df = _drop_leading_nan(df, name, repairs)
    if df.empty:
        raise DataError(f"{name}: no usable rows")
    df = _drop_listing_glitch(df, name, repair=repair, repairs=repairs)
    df = _fill_gaps(df, name, repair=repair, repairs=repairs)
    prices = df[["open", "high", "low", "close"]]
    if (prices <= 0).to_numpy().any():
        day = df.index[(prices <= 0).any(axis=1)][0].date()
        raise DataError(f"{name}: non-positive price on {day}")
    bad = (df["high"] < prices.max(axis=1) * (1 - 1e-9)) | (df["low"] > prices.min(axis=1) * (1 + 1e-9))
    if bad.any():
        if not repair:
            raise DataError(f"{name}: high/low inconsistent with open/close on {df.index[bad][0].date()}")
        df["high"] = prices.max(axis=1)
        df["low"] = prices.min(axis=1)
        _note(repairs, f"{name}: widened high/low to cover open/close on {int(bad.sum())} day(s)")
    df["volume"] = df["volume"].clip(lower=0.0)
    return df


def clean_rate(series: pd.Series, name: str, *, repair: bool, repairs: list[str]) -> pd.Series:
    """Validate (and with ``repair`` fix) one market's daily APR series."""
    s = series.astype(float).sort_index()
    frame = _dedupe(s.to_frame("apr"), name, repair=repair, repairs=repairs)
    frame = _drop_leading_nan(frame, name, repairs)
    frame = frame.loc[: frame["apr"].last_valid_index()]
    if frame.empty:
        raise DataError(f"{name}: no usable rates")
    frame = _fill_gaps(frame, name, repair=repair, repairs=repairs)
    out = frame["apr"].rename(name)
    if (out < 0).any() or (out > 5).any():
        raise DataError(f"{name}: APR outside [0, 500 %] on {out.index[(out < 0) | (out > 5)][0].date()}")
    return out


def _dedupe(df: pd.DataFrame, name: str, *, repair: bool, repairs: list[str]) -> pd.DataFrame:
    dup = df.index.duplicated(keep="last")
    if dup.any():
        first = df.index[dup][0].date()
        if not repair:
            raise DataError(f"{name}: {int(dup.sum())} duplicate day(s), first {first}")
        _note(repairs, f"{name}: kept the last of {int(dup.sum())} duplicate day(s), first {first}")
        df = df[~dup]
    return df


def _drop_leading_nan(df: pd.DataFrame, name: str, repairs: list[str]) -> pd.DataFrame:
    valid = df.notna().all(axis=1) if "close" not in df else df["close"].notna()
    if valid.any() and not valid.iloc[0]:
        first = valid.idxmax()
        _note(
            repairs,
            f"{name}: starts {first.date()} (dropped {int((df.index < first).sum())} empty leading rows)",
        )
        df = df.loc[first:]
    return df


def _drop_listing_glitch(df: pd.DataFrame, name: str, *, repair: bool, repairs: list[str]) -> pd.DataFrame:
    drop = 0
    for i in range(min(MAX_GLITCH_ROWS, len(df) - 1)):
        row, nxt = df.iloc[i], df.iloc[i + 1]
        wide = row["low"] <= 0 or row["high"] / row["low"] > GLITCH_RANGE
        jump = (
            row["close"] <= 0 or max(row["close"] / nxt["close"], nxt["close"] / row["close"]) > GLITCH_RANGE
        )
        if not (wide or jump):
            break
        drop = i + 1
    if drop:
        first = df.index[0].date()
        if not repair:
            raise DataError(f"{name}: listing-day glitch on {first} (extreme range or jump)")
        _note(repairs, f"{name}: dropped {drop} listing-day glitch row(s) from {first}")
        df = df.iloc[drop:]
    return df


def _fill_gaps(df: pd.DataFrame, name: str, *, repair: bool, repairs: list[str]) -> pd.DataFrame:
    full = pd.date_range(df.index[0], df.index[-1], freq="D", tz="UTC", name="date")
    out = df.reindex(full)
    holes = out.isna().any(axis=1)
    if not holes.any():
        return out
    runs = (holes != holes.shift()).cumsum()[holes]
    longest = int(runs.value_counts().max())
    first = out.index[holes][0].date()
    if not repair or longest > MAX_FILL_DAYS:
        raise DataError(
            f"{name}: {int(holes.sum())} missing/NaN day(s) from {first} (longest run {longest} days"
            f"; at most {MAX_FILL_DAYS} can be forward-filled)"
        )
    if "close" in out:
        close = out["close"].ffill()
        for col in ("open", "high", "low"):
            out[col] = out[col].where(~holes, close)
        out["close"] = close
        out["volume"] = out["volume"].where(~holes, 0.0)
    out = out.ffill()
    _note(repairs, f"{name}: forward-filled {int(holes.sum())} missing/NaN day(s), first {first}")
    return out


def _note(repairs: list[str], message: str) -> None:
    log.info("data repair: %s", message)
    repairs.append(message)
