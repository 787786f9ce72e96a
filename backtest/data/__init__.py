"""Market data for backtests: loaders, validation, the synthetic default and HTTP sources.

``load_market(None)`` -> the seeded synthetic market; ``load_market(folder)`` -> the shared-data
layout (see :mod:`backtest.data.files`). Units and repair rules: :mod:`backtest.data.market`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from backtest.data.files import ColumnMap, load_folder, read_price_csv
from backtest.data.market import DataError, MarketData, accrue
from backtest.data.synthetic import DEFAULT_SEED, synthetic_market

__all__ = [
    "DEFAULT_SEED",
    "ColumnMap",
    "DataError",
    "MarketData",
    "accrue",
    "load_folder",
    "load_market",
    "read_price_csv",
    "synthetic_market",
]


def load_market(path: str | Path | None = None, *, seed: int = DEFAULT_SEED) -> MarketData:
    """The market to backtest on: synthetic (``path`` None) or a data folder (cached per process)."""
    if path is None:
        return _synthetic(seed)
    return _folder(str(Path(path).resolve()))


@lru_cache(maxsize=4)
def _synthetic(seed: int) -> MarketData:
    return synthetic_market(seed)


@lru_cache(maxsize=4)
def _folder(path: str) -> MarketData:
    return load_folder(path)
