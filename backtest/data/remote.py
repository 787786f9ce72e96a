"""HTTP market-data sources for when the machine is online, with an on-disk JSON cache.

* Binance klines ``GET {base}/api/v3/klines?symbol=BTCUSDT&interval=1d&startTime&endTime&limit``:
  a list of ``[open_time_ms, open, high, low, close, volume, close_time_ms, ...]`` (strings),
  paginated by ``startTime``.
* CoinGecko ``GET {base}/api/v3/coins/{id}/market_chart?vs_currency=usd&days=N&interval=daily``:
  ``{"prices": [[ms, price], ...], "total_volumes": [[ms, volume], ...]}`` -> daily closes.
* DefiLlama ``GET {base}/chart/{pool_id}``: ``{"status": "success", "data": [{"timestamp": ISO,
  "apy": percent, ...}]}`` -> daily supply APR as a **fraction** (DefiLlama reports percent).

Requests go through the crawler's guarded, retrying client (:class:`parser.sources.http.SafeFetcher`:
address guard against internal hosts, timeouts, tenacity retries with backoff on connection errors,
429 and 5xx honouring ``Retry-After``, a size cap, a per-host interval). robots.txt is not consulted:
these are documented JSON APIs, not pages.

Responses are cached under ``cache_dir`` keyed by sha256 of the URL and query, written atomically;
a cached answer is reused while younger than ``max_age`` seconds (None = forever, fine for closed
historical ranges). This is an application-level cache on purpose: the APIs send short or no-cache
HTTP caching headers for data that, for a closed range, never changes, so an HTTP cache (hishel)
would have to be forced to ignore them anyway. Every series passes the same validation as file data.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pandas as pd

from backtest.data.market import DataError, clean_prices, clean_rate, to_utc_days
from parser.sources.http import FetchError, FetchPolicy, SafeFetcher

BINANCE_URL = "https://api.binance.com"
COINGECKO_URL = "https://api.coingecko.com"
DEFILLAMA_URL = "https://yields.llama.fi"
DAY_MS = 86_400_000


#: API defaults: JSON endpoints (no robots.txt), bigger bodies than pages, a polite interval.
API_POLICY = FetchPolicy(respect_robots=False, max_bytes=50_000_000, min_interval_s=0.25, timeout_s=20.0)


class HttpSource:
    """A JSON-over-HTTP client with an on-disk cache (one instance per cache folder)."""

    def __init__(
        self,
        cache_dir: str | Path,
        *,
        fetcher: SafeFetcher | None = None,
        policy: FetchPolicy = API_POLICY,
        max_age: float | None = None,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.fetcher = fetcher or SafeFetcher(policy)
        self.max_age = max_age

    @property
    def requests_made(self) -> int:
        return self.fetcher.requests_made

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> Any:
        key = hashlib.sha256(json.dumps([url, params or {}], sort_keys=True).encode()).hexdigest()
        path = self.cache_dir / f"{key}.json"
        if path.exists() and (self.max_age is None or time.time() - path.stat().st_mtime < self.max_age):
            return json.loads(path.read_text(encoding="utf-8"))
        full = f"{url}?{urlencode(params)}" if params else url
        try:
            payload = self.fetcher.get(full, accept="application/json").json()
        except FetchError as exc:
            raise DataError(f"cannot fetch {url}: {exc.message}") from None
        except ValueError as exc:
            raise DataError(f"{url} did not answer JSON: {exc}") from None
        fd, tmp = tempfile.mkstemp(dir=self.cache_dir, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh)
        os.replace(tmp, path)  # atomic: concurrent readers never see half a file
        return payload

    def close(self) -> None:
        self.fetcher.close()


def binance_klines(
    source: HttpSource,
    symbol: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    base_url: str = BINANCE_URL,
    repair: bool = True,
) -> pd.DataFrame:
    """Daily OHLCV of e.g. ``BTCUSDT`` from ``start`` to ``end`` (inclusive, UTC days)."""
    rows: list[list[Any]] = []
    cursor = int(start.timestamp() * 1000)
    stop = int(end.timestamp() * 1000)
    while cursor <= stop:
        params = {"symbol": symbol, "interval": "1d", "startTime": cursor, "endTime": stop, "limit": 1000}
        page = source.get_json(f"{base_url}/api/v3/klines", params)
        if not isinstance(page, list):
            raise DataError(f"Binance klines for {symbol}: unexpected answer {str(page)[:200]}")
        if not page:
            break
        rows.extend(page)
        cursor = int(page[-1][0]) + DAY_MS
    if not rows:
        raise DataError(f"Binance returned no klines for {symbol}")
    frame = pd.DataFrame(
        [[float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5])] for r in rows],
        columns=["open", "high", "low", "close", "volume"],
        index=to_utc_days(pd.Index([int(r[0]) for r in rows]), unit="ms"),
    )
    return clean_prices(frame, symbol, repair=repair, repairs=[])


def coingecko_daily(
    source: HttpSource, coin_id: str, days: int, *, base_url: str = COINGECKO_URL, repair: bool = True
) -> pd.DataFrame:
    """Daily closes (last observation of each UTC day) and volumes of a CoinGecko coin id."""
    payload = source.get_json(
        f"{base_url}/api/v3/coins/{coin_id}/market_chart",
        {"vs_currency": "usd", "days": days, "interval": "daily"},
    )
    if not isinstance(payload, dict) or "prices" not in payload:
        raise DataError(f"CoinGecko market_chart for {coin_id}: unexpected answer")
    prices = _last_per_day(payload["prices"])
    volumes = _last_per_day(payload.get("total_volumes", []))
    frame = prices.to_frame("close")
    frame["volume"] = volumes.reindex(frame.index).fillna(0.0)
    return clean_prices(frame, coin_id, repair=repair, repairs=[])


def defillama_apr(
    source: HttpSource, pool_id: str, market: str, *, base_url: str = DEFILLAMA_URL, repair: bool = True
) -> pd.Series:
    """Daily supply APR (fraction) of a DefiLlama yield pool, named as lending ``market``."""
    payload = source.get_json(f"{base_url}/chart/{pool_id}")
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list) or not data:
        raise DataError(f"DefiLlama chart for {pool_id}: unexpected or empty answer")
    stamps = pd.to_datetime([row["timestamp"] for row in data], utc=True, format="mixed")
    apy = pd.Series([_base_apy(row) for row in data], index=stamps, dtype=float) / 100.0
    daily = apy.groupby(stamps.floor("D")).last()
    daily.index = pd.DatetimeIndex(daily.index, name="date")
    return clean_rate(daily, market, repair=repair, repairs=[])


def _base_apy(row: dict[str, Any]) -> float:
    # apyBase is the lending yield proper; apy adds token rewards we do not model.
    value = row.get("apyBase", row.get("apy"))
    return float("nan") if value is None else float(value)


def _last_per_day(pairs: list[list[float]]) -> pd.Series:
    if not pairs:
        return pd.Series(dtype=float)
    stamps = pd.to_datetime([int(p[0]) for p in pairs], unit="ms", utc=True)
    series = pd.Series([float(p[1]) for p in pairs], index=stamps)
    daily = series.groupby(stamps.floor("D")).last()
    daily.index = pd.DatetimeIndex(daily.index, name="date")
    return daily
