"""The risk-free rate: what a treasurer earns without taking risk (the 3-month US T-bill).

Sharpe, Sortino, PSR and DSR (:mod:`backtest.metrics`) are computed on returns in excess of this
rate, so a strategy that only matches T-bills scores zero.

Sources, in order of preference:

* ``--risk-free FILE`` (:func:`read_risk_free_file`): either a FRED download (``observation_date``
  plus one column of percent-per-year discount rates, like DTB3) or a generic ``date,rate`` CSV
  whose ``rate`` is an **annual decimal yield** (0.035 = 3.5 %), the unit every other rate in this
  project uses.
* A data folder's ``rates/risk_free.csv`` (generic layout), else its
  ``rates/us_tbill_3m_daily_fred_dtb3_*.csv`` (FRED DTB3).
* The synthetic market has no risk-free rate: :func:`zero_risk_free` (0 %, and every report says so).

Conventions (stated in every backtest's output as :attr:`RiskFree.convention`):

* DTB3 is the 3-month bill's **discount rate** in percent per year, US business days only. It is
  converted to the bill's **investment yield** (bond-equivalent yield of a 91-day bill),
  ``y = 365 * d / (360 - 91 * d)`` with ``d`` the decimal discount rate, because a discount rate
  understates what the holder earns.
* Each value holds from its day until the next observation (weekends and holidays carry the last
  business day's rate), and **never past the series' last observation**: later days have no rate.
* A calendar day earns ``y / 365`` (simple daily accrual with a 365-day year), the same convention
  as the lending markets (:func:`backtest.data.market.accrue`). The return from day t-1 to day t is
  compared with the rate known on day t-1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.data.market import DAYS_PER_YEAR, DataError, to_utc_days
from core.files import unreadable

#: Maturity of the 3-month bill in days, for the discount-to-yield conversion.
BILL_DAYS = 91
DTB3_NAME = "3-month US T-bill (FRED DTB3)"
DTB3_CONVENTION = (
    "DTB3 discount rate converted to the 91-day bill's investment yield 365*d/(360-91*d); "
    "each day earns yield/365; rates carried over weekends and holidays, never past the last observation"
)
YIELD_CONVENTION = (
    "annual decimal yield; each day earns yield/365; rates carried over gaps, never past the last observation"
)


@dataclass(frozen=True)
class RiskFree:
    """A risk-free yield per UTC calendar day (annual decimal), defined only inside its own span."""

    name: str
    yields: pd.Series = field(repr=False)
    convention: str = YIELD_CONVENTION

    @property
    def is_zero(self) -> bool:
        return self.yields.empty

    @property
    def last_day(self) -> pd.Timestamp | None:
        return None if self.yields.empty else self.yields.index[-1]

    def window(self, start: pd.Timestamp | None, end: pd.Timestamp | None) -> RiskFree:
        return RiskFree(self.name, self.yields.loc[start:end], self.convention)

    def per_day(self, days: pd.DatetimeIndex) -> tuple[np.ndarray, int]:
        """Risk-free return of each step ``days[k-1] -> days[k]`` and how many steps had no rate.

        Step k earns ``yield(days[k-1]) * elapsed_days / 365``. A step whose start lies outside
        the series' span has no rate: it counts 0 and is counted in the second value, so the caller
        can say so (the series is never extended).
        """
        if len(days) < 2:
            return np.zeros(0), 0
        if self.is_zero:
            return np.zeros(len(days) - 1), 0
        start = self.yields.reindex(days[:-1]).to_numpy(dtype=float)
        elapsed = np.asarray((days[1:] - days[:-1]) / pd.Timedelta(days=1), dtype=float)
        missing = ~np.isfinite(start)
        rates = np.where(missing, 0.0, start) * elapsed / DAYS_PER_YEAR
        return rates, int(missing.sum())

    def mean_annual(self, days: pd.DatetimeIndex) -> float | None:
        """Mean yield over the days of ``days`` that have a rate (None if none has)."""
        if self.is_zero:
            return 0.0
        values = self.yields.reindex(days).dropna()
        return float(values.mean()) if len(values) else None


def zero_risk_free(reason: str = "none (synthetic market): 0 %") -> RiskFree:
    """No risk-free rate: excess returns equal returns. The name says why."""
    empty = pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC", name="date"))
    return RiskFree(reason, empty, "0 % on every day")


def discount_to_yield(discount_percent: pd.Series) -> pd.Series:
    """DTB3 percent-per-year discount rates -> 91-day bill investment yields (annual decimal)."""
    d = discount_percent.astype(float) / 100.0
    return 365.0 * d / (360.0 - BILL_DAYS * d)


def daily_calendar(observed: pd.Series) -> pd.Series:
    """Business-day observations -> one value per calendar day, carried forward only between
    observations (never past the last one). Empty observations (holidays) carry the previous value."""
    values = observed.dropna().sort_index()
    values = values[~values.index.duplicated(keep="last")]
    if values.empty:
        raise DataError("risk-free series has no values")
    days = pd.date_range(values.index[0], values.index[-1], freq="D", tz="UTC", name="date")
    return values.reindex(days).ffill().rename("risk_free")


def read_dtb3(path: str | Path) -> RiskFree:
    """A FRED DTB3 CSV (``observation_date,DTB3``; percent per year, discount basis)."""
    raw = _read(path)
    columns = [c for c in raw.columns if c.lower() != "observation_date"]
    if "observation_date" not in raw.columns or len(columns) != 1:
        raise DataError(f"{path}: expected columns observation_date and one FRED series")
    percent = pd.Series(
        pd.to_numeric(raw[columns[0]], errors="coerce").to_numpy(), index=to_utc_days(raw["observation_date"])
    )
    if (percent.dropna().abs() > 50).any():
        raise DataError(f"{path}: discount rates above 50 % per year; is this percent per year?")
    name = DTB3_NAME if columns[0].upper() == "DTB3" else f"FRED {columns[0]} ({Path(path).name})"
    return RiskFree(name, daily_calendar(discount_to_yield(percent)), DTB3_CONVENTION)


def read_yield_csv(path: str | Path) -> RiskFree:
    """A generic ``date,rate`` CSV of annual decimal yields (0.035 = 3.5 %)."""
    raw = _read(path)
    if not {"date", "rate"} <= set(raw.columns):
        raise DataError(f"{path}: expected columns date and rate (annual decimal yield)")
    rates = pd.Series(pd.to_numeric(raw["rate"], errors="coerce").to_numpy(), index=to_utc_days(raw["date"]))
    if (rates.dropna().abs() > 1).any():
        raise DataError(f"{path}: rates above 100 % per year; give decimal fractions (0.035 = 3.5 %)")
    return RiskFree(f"{Path(path).name} (annual decimal yields)", daily_calendar(rates), YIELD_CONVENTION)


def read_risk_free_file(path: str | Path) -> RiskFree:
    """``--risk-free FILE``: a FRED download or a generic ``date,rate`` file (see module docstring)."""
    header = _read(path, nrows=0).columns
    return read_dtb3(path) if "observation_date" in header else read_yield_csv(path)


def folder_risk_free(root: Path) -> RiskFree | None:
    """The data folder's risk-free series (``rates/risk_free.csv`` wins over DTB3), if any."""
    rates = root / "rates"
    own = rates / "risk_free.csv"
    if own.is_file():
        return read_risk_free_file(own)
    fred = sorted(rates.glob("us_tbill_3m_daily_fred_dtb3_*.csv")) if rates.is_dir() else []
    return read_dtb3(fred[-1]) if fred else None


def _read(path: str | Path, nrows: int | None = None) -> pd.DataFrame:
    try:
        return pd.read_csv(path, nrows=nrows)
    except (OSError, ValueError) as exc:
        raise DataError(unreadable(path, exc, "risk-free file")) from None
