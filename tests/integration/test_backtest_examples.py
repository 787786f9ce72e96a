"""End to end: every example spec on synthetic and real data, golden real-data backtests,
run_many over a process pool and a local Dask cluster, and the ``arena backtest`` CLI."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from backtest import load_market, run_backtest, run_many
from backtest.cli import register
from backtest.examples import example_paths, example_specs
from tests.support.typer_apps import app_with

FAMILIES = {"ma_crossover", "momentum", "mean_reversion", "breakout", "pair_ratio", "yield_rotation",
            "lending", "index"}  # fmt: skip


def test_examples_cover_every_backtestable_family() -> None:
    assert {s.family.value for s in example_specs(backtestable_only=True)} == FAMILIES
    assert len(example_paths()) == len(example_specs())


@pytest.mark.parametrize("name", [s.name for s in example_specs()])
def test_every_example_runs_on_synthetic(name: str) -> None:
    spec = next(s for s in example_specs() if s.name == name)
    result = run_backtest(spec, load_market(None))
    if spec.backtestable:
        assert result.metrics["days"] >= 365 and result.rejected_orders <= 2
    else:
        assert not result.backtestable and result.gate_reasons


@pytest.mark.parametrize("name", [s.name for s in example_specs()])
def test_every_example_runs_on_real_data(shared_data_dir: Path, name: str) -> None:
    spec = next(s for s in example_specs() if s.name == name)
    result = run_backtest(spec, load_market(shared_data_dir))
    assert result.backtestable == spec.backtestable
    if spec.backtestable:
        assert result.metrics["days"] >= 365


# Expectations on the real shared data, computed here from the raw CSVs with pandas (not by the
# engines): daily mean supply APRs from the hourly QuantLet file, Yahoo's USDC close (par where it has
# none), Binance's BTC candles. Conventions: day t earns apr[t-1] / 365 and is marked at
# usdc[t] / usdc[t-1]; decisions at t's close fill at t+1's open with 5 bp slippage.


def _daily_apr(root: Path, column: str) -> pd.Series:
    raw = pd.read_csv(root / "rates" / "usdc_compound_aave_v1_v2_hourly_2020_2022.csv")
    stamps = pd.to_datetime(raw["timestamp"], utc=True, format="mixed")
    hourly = pd.Series(pd.to_numeric(raw[column], errors="coerce").to_numpy(), index=stamps)
    daily = hourly.resample("D").mean()
    daily = daily.loc[daily.first_valid_index() : daily.last_valid_index()]
    return daily.ffill()  # the loader's documented repair of short gaps


def _usdc(root: Path, index: pd.DatetimeIndex) -> pd.Series:
    raw = pd.read_csv(root / "prices" / "yahoo_USDC-USD_1d.csv")
    close = pd.Series(raw["Close"].to_numpy(), index=pd.to_datetime(raw["Date"], utc=True))
    return close.reindex(index).fillna(1.0)


def _drawdown(curve: np.ndarray) -> float:
    return float(np.max(1 - curve / np.maximum.accumulate(curve)))


def test_lending_on_real_data_matches_the_raw_files(shared_data_dir: Path) -> None:
    apr = _daily_apr(shared_data_dir, "supply_rate_comp")
    marks = _usdc(shared_data_dir, apr.index)
    growth = (1 + apr.shift(1) / 365) * marks / marks.shift(1)
    days = apr.index[1:]  # the first day of data only warms up; the window starts the day after
    curve = np.cumprod(growth.loc[days].to_numpy())
    spec = next(s for s in example_specs() if s.name == "USDC supplied to Compound")
    r = run_backtest(spec, load_market(shared_data_dir))
    assert (r.start, r.end) == (days[0].date(), days[-1].date())
    assert r.metrics["total_return"] == pytest.approx(curve[-1] / curve[0] - 1, rel=1e-8)
    assert r.metrics["max_drawdown"] == pytest.approx(_drawdown(curve), rel=1e-6)
    assert r.metrics["n_trades"] == 0


def test_lending_excess_sharpe_against_dtb3_matches_numpy_from_the_csvs(shared_data_dir: Path) -> None:
    """The issue's check: USDC on Compound over 2020-06-01..2022-03-01, excess Sharpe over DTB3."""
    apr = _daily_apr(shared_data_dir, "supply_rate_comp")
    marks = _usdc(shared_data_dir, apr.index)
    raw = pd.read_csv(shared_data_dir / "rates" / "us_tbill_3m_daily_fred_dtb3_2000_2026.csv").dropna()
    d = pd.Series(raw["DTB3"].to_numpy() / 100, index=pd.to_datetime(raw["observation_date"], utc=True))
    bill = (365 * d / (360 - 91 * d)).reindex(pd.date_range(d.index[0], d.index[-1], tz="UTC")).ffill()
    days = pd.date_range("2020-06-01", "2022-03-01", tz="UTC")
    growth = ((1 + apr.shift(1) / 365) * marks / marks.shift(1)).reindex(days).to_numpy()[1:]
    excess = (growth - 1) - bill.shift(1).reindex(days).to_numpy()[1:] / 365
    expected = excess.mean() / excess.std(ddof=1) * np.sqrt(365)
    spec = next(s for s in example_specs() if s.name == "USDC supplied to Compound")
    r = run_backtest(spec, load_market(shared_data_dir), "2020-06-01", "2022-03-01")
    assert r.metrics["sharpe"] == pytest.approx(expected, rel=1e-6)
    assert r.risk_free["name"] == "3-month US T-bill (FRED DTB3)" and r.risk_free["missing_days"] == 0
    plain = (growth - 1).mean() / (growth - 1).std(ddof=1) * np.sqrt(365)
    assert r.metrics["sharpe"] < plain  # against 0 % the same lending would look better


def test_yield_rotation_on_real_data_matches_an_independent_simulation(shared_data_dir: Path) -> None:
    spec = next(s for s in example_specs() if s.name == "USDC Aave/Compound yield rotation")
    names = ["compound:USDC", "aave_v2:USDC"]
    columns = {"compound:USDC": "supply_rate_comp", "aave_v2:USDC": "supply_rate_aave_v2"}
    aprs = pd.DataFrame({m: _daily_apr(shared_data_dir, c) for m, c in columns.items()}).dropna()
    marks = _usdc(shared_data_dir, aprs.index).to_numpy()
    rates = aprs.to_numpy()
    cash, market, last_switch, curve, switches = 1_000_000.0, -1, -(10**9), [], 0
    for t in range(len(aprs)):
        added = 0.0
        if market >= 0:
            added = max(cash, 0.0) * ((1 + rates[t - 1, market] / 365) * marks[t] / marks[t - 1] - 1)
        if t >= 1:  # live from the second day
            best = max(range(2), key=lambda m: (rates[t, m], names[m]))
            if market < 0:
                market = best
            elif best != market and t - last_switch >= 3 and rates[t, best] > rates[t, market] + 0.005:
                added -= max(cash + added, 0.0) * 0.0005
                market, last_switch, switches = best, t, switches + 1
            curve.append(cash + added)
        cash += added
    r = run_backtest(spec, load_market(shared_data_dir))
    assert (r.start, r.end) == (aprs.index[1].date(), aprs.index[-1].date())
    assert r.metrics["n_trades"] == switches > 10
    assert r.metrics["total_return"] == pytest.approx(curve[-1] / curve[0] - 1, rel=1e-8)
    assert r.metrics["max_drawdown"] == pytest.approx(_drawdown(np.array(curve)), rel=1e-6)


@pytest.mark.parametrize("engine", ["backtrader", "vector"])
def test_golden_cross_trades_exactly_on_the_raw_files_crosses(shared_data_dir: Path, engine: str) -> None:
    raw = pd.read_csv(shared_data_dir / "prices" / "BTCUSDT_1d.csv", index_col="timestamp")
    above = raw["close"].rolling(50).mean() > raw["close"].rolling(200).mean()
    spec = next(s for s in example_specs() if s.family.value == "ma_crossover")
    r = run_backtest(spec, load_market(shared_data_dir), engine=engine)
    live = above.loc[str(r.start) : str(r.end)]
    expected: list[tuple[str, str, float]] = []
    holding = False
    for i, (_day, signal) in enumerate(live.items()):  # a decision on day t fills at t+1's open
        if signal != holding and i + 1 < len(live):
            fill_day = live.index[i + 1]
            bar = raw.loc[fill_day]
            price = (
                min(bar["open"] * 1.0005, bar["high"]) if signal else max(bar["open"] * 0.9995, bar["low"])
            )
            expected.append((fill_day, "buy" if signal else "sell", price))
            holding = signal
    got = [(f["date"], f["side"], f["price"]) for f in r.trades]
    assert [(d, s) for d, s, _ in got] == [(d, s) for d, s, _ in expected] and len(got) > 10
    np.testing.assert_allclose([p for *_, p in got], [p for *_, p in expected], rtol=1e-12)


def test_golden_btc_buy_and_hold_matches_raw_file(shared_data_dir: Path) -> None:
    import pandas as pd

    raw = pd.read_csv(shared_data_dir / "prices" / "BTCUSDT_1d.csv", index_col="timestamp")
    r = run_backtest(next(s for s in example_specs() if s.family.value == "ma_crossover"),
                     load_market(shared_data_dir), "2021-01-01", "2022-12-31")  # fmt: skip
    expected = raw.loc["2022-12-31", "close"] / raw.loc["2021-01-01", "close"] - 1
    assert r.metrics["hodl_return"] == pytest.approx(expected, rel=1e-9)


def test_run_many_process_pool_matches_serial() -> None:
    specs = example_specs()[:4]
    market = load_market(None)
    pooled = run_many(specs, market, start="2020-01-01", end="2021-12-31", max_workers=2)
    serial = [run_backtest(s, market, "2020-01-01", "2021-12-31", n_trials=4) for s in specs]
    assert [p.metrics for p in pooled] == [s.metrics for s in serial]
    threaded = run_many(specs, None, ThreadPoolExecutor(2), start="2020-01-01", end="2021-12-31")
    assert [t.metrics for t in threaded] == [s.metrics for s in serial]


def test_run_many_reports_bad_specs_without_failing_batch() -> None:
    good = example_specs()[1]
    bad = good.model_copy(update={"universe": good.universe.model_copy(update={"assets": ["DOGE"]})})
    results = run_many([good, bad], load_market(None), ThreadPoolExecutor(1))
    assert results[0].backtestable and not results[1].backtestable
    assert "DOGE" in results[1].gate_reasons[0]


def test_run_many_on_dask_cluster() -> None:
    import distributed  # a declared test dependency (dask[distributed]): never skipped

    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        specs = example_specs()[:3]
        results = run_many(
            specs, load_market(None), client.get_executor(), start="2020-01-01", end="2021-12-31"
        )
    serial = [run_backtest(s, load_market(None), "2020-01-01", "2021-12-31", n_trials=3) for s in specs]
    assert [r.metrics for r in results] == [s.metrics for s in serial]


@pytest.fixture()
def cli() -> typer.Typer:
    return app_with(register)


def test_cli_json_on_synthetic(cli: typer.Typer) -> None:
    spec = str(example_paths()[0].parent / "btc_golden_cross.json")
    res = CliRunner().invoke(
        cli, ["backtest", spec, "--json", "--start", "2020-01-01", "--end", "2021-12-31"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert list(data)[:16] == ["total_return", "excess_return", "cagr", "volatility", "sharpe", "sortino",
                               "max_drawdown", "calmar", "n_trades", "exposure", "hodl_return", "psr", "dsr",
                               "days", "passed_gate", "gate_reasons"]  # fmt: skip
    assert data["days"] == 731
    assert data["risk_free"]["name"] == "none (synthetic market): 0 %"
    assert data["excess_return"] == data["total_return"]  # 0 % risk-free on the synthetic market
    assert data["exposure_cap"] == 0.97 and data["engine"] == "backtrader"
    assert [c["name"] for c in data["gate"]["checks"]][:3] == ["history", "excess_sharpe", "max_drawdown"]


def test_cli_real_data_code_and_plot(cli: typer.Typer, shared_data_dir: Path, tmp_path: Path) -> None:
    spec = str(example_paths()[0].parent / "usdc_yield_rotation.json")
    out = tmp_path / "eq.png"
    res = CliRunner().invoke(cli, ["backtest", spec, "--data", str(shared_data_dir), "--plot", str(out)])
    assert res.exit_code == 0, res.output
    assert "gate" in res.output and out.stat().st_size > 1000
    res = CliRunner().invoke(cli, ["backtest", spec, "--code"])
    assert "class TreasuryAgent(AgentBase):" in res.output


def test_cli_bad_spec_names_field(cli: typer.Typer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "family": "ma_crossover", "universe": {"assets": ["BTC"]},
                               "entry_rule": "sma(close, 50) > 1", "risk": {"stop_loss": 2}}))  # fmt: skip
    res = CliRunner().invoke(cli, ["backtest", str(bad)])
    assert res.exit_code == 2
    assert "risk.stop_loss" in res.output
