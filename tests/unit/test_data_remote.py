"""HTTP sources against a real local http.server replaying recorded-format responses."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from backtest.data import DataError
from backtest.data.remote import API_POLICY, HttpSource, binance_klines, coingecko_daily, defillama_apr

#: The API policy, allowed to reach the loopback test server, without waits.
LOCAL = dataclasses.replace(API_POLICY, allowed_networks=("127.0.0.0/8",), min_interval_s=0.0, backoff_s=0.01)

DAY_MS = 86_400_000
T0 = 1_640_995_200_000  # 2022-01-01T00:00:00Z


def kline(i: int) -> list[Any]:
    # Binance /api/v3/klines row format (strings for prices), recorded shape.
    price = 100.0 + i
    return [T0 + i * DAY_MS, f"{price:.8f}", f"{price + 2:.8f}", f"{price - 2:.8f}", f"{price + 1:.8f}",
            "1234.5", T0 + (i + 1) * DAY_MS - 1, "0", 10, "0", "0", "0"]  # fmt: skip


class Replay(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        Replay.hits.append(url.path)
        if url.path == "/flaky" and Replay.hits.count("/flaky") < 3:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if url.path == "/flaky":
            body: Any = {"ok": True}
        elif url.path == "/api/v3/klines":
            start = (int(query["startTime"]) - T0) // DAY_MS
            rows = [kline(i) for i in range(start, min(start + int(query["limit"]), 5))]
            body = [r for r in rows if r[0] <= int(query["endTime"])]
        elif url.path == "/api/v3/coins/ethereum/market_chart":
            body = {
                "prices": [[T0, 3700.0], [T0 + DAY_MS, 3800.0], [T0 + DAY_MS + 3600_000, 3810.0]],
                "market_caps": [],
                "total_volumes": [[T0, 1e9], [T0 + DAY_MS, 2e9]],
            }
        elif url.path == "/chart/pool-1":
            body = {"status": "success", "data": [
                {"timestamp": "2022-01-01T23:01:05.000Z", "tvlUsd": 1e8, "apy": 3.5, "apyBase": 2.5},
                {"timestamp": "2022-01-02T23:01:05.000Z", "tvlUsd": 1e8, "apy": 4.0, "apyBase": 3.0},
            ]}  # fmt: skip
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Replay.hits = []
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_binance_klines_paginate_and_cache(server: str, tmp_path: Path) -> None:
    source = HttpSource(tmp_path, policy=LOCAL)
    start, end = pd.Timestamp("2022-01-01", tz="UTC"), pd.Timestamp("2022-01-05", tz="UTC")
    frame = binance_klines(source, "BTCUSDT", start, end, base_url=server)
    source.close()
    assert len(frame) == 5 and frame["close"].iloc[0] == 101.0
    assert frame.index[-1] == end
    again = HttpSource(tmp_path, policy=LOCAL)
    frame2 = binance_klines(again, "BTCUSDT", start, end, base_url=server)
    again.close()
    assert again.requests_made == 0  # served from the on-disk cache
    pd.testing.assert_frame_equal(frame, frame2)


def test_coingecko_last_price_per_day(server: str, tmp_path: Path) -> None:
    source = HttpSource(tmp_path, policy=LOCAL)
    frame = coingecko_daily(source, "ethereum", 2, base_url=server)
    source.close()
    assert frame["close"].tolist() == [3700.0, 3810.0]
    assert frame["volume"].tolist() == [1e9, 2e9]


def test_defillama_percent_to_fraction(server: str, tmp_path: Path) -> None:
    source = HttpSource(tmp_path, policy=LOCAL)
    apr = defillama_apr(source, "pool-1", "aave_v3:USDC", base_url=server)
    source.close()
    assert apr.tolist() == pytest.approx([0.025, 0.03])
    assert apr.name == "aave_v3:USDC"


def test_http_errors_are_data_errors(server: str, tmp_path: Path) -> None:
    source = HttpSource(tmp_path, policy=LOCAL)
    with pytest.raises(DataError, match="HTTP 404"):
        defillama_apr(source, "nope", "aave_v3:USDC", base_url=server)
    with pytest.raises(DataError, match="cannot fetch"):
        source.get_json("http://127.0.0.1:9/unreachable")
    source.close()


def test_shares_the_crawlers_guarded_retrying_client(server: str, tmp_path: Path) -> None:
    source = HttpSource(tmp_path / "local", policy=LOCAL)
    assert source.get_json(server + "/flaky") == {"ok": True}  # two 503s, then an answer
    assert Replay.hits.count("/flaky") == 3
    source.close()
    guarded = HttpSource(tmp_path / "default")  # the production policy refuses internal addresses
    with pytest.raises(DataError, match="internal"):
        guarded.get_json(server + "/chart/pool-1")
    guarded.close()
