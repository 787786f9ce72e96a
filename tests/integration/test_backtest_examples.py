"""End to end: every example spec on synthetic and real data, golden real-data backtests,
run_many over a process pool and a local Dask cluster, and the ``arena backtest`` CLI."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from backtest import load_market, run_backtest, run_many
from backtest.cli import register
from backtest.examples import example_paths, example_specs

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


# Golden figures on the real shared data (Binance daily BTC/ETH; QuantLet USDC rates). They pin the
# whole chain (loaders, codegen, engine, costs, metrics); update them only for a deliberate change.
GOLDEN = {
    "BTC golden cross with Aave cash parking": ("2018-03-06", "2026-01-06", 3.6988, 0.6470, 18),
    "USDC Aave/Compound yield rotation": ("2020-12-03", "2022-03-07", 0.0574, 0.0006, 26),
    "USDC supplied to Compound": ("2020-05-05", "2022-03-07", 0.0687, 0.0, 0),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_backtests_on_real_data(shared_data_dir: Path, name: str) -> None:
    start, end, total, mdd, trades = GOLDEN[name]
    spec = next(s for s in example_specs() if s.name == name)
    r = run_backtest(spec, load_market(shared_data_dir))
    assert (str(r.start), str(r.end)) == (start, end)
    assert r.metrics["total_return"] == pytest.approx(total, abs=1e-4)
    assert r.metrics["max_drawdown"] == pytest.approx(mdd, abs=1e-4)
    assert r.metrics["n_trades"] == trades


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
    distributed = pytest.importorskip("distributed")
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
    app = typer.Typer()
    register(app)

    @app.command()
    def version() -> None:  # a second command so Typer keeps the sub-command name
        pass

    return app


def test_cli_json_on_synthetic(cli: typer.Typer) -> None:
    spec = str(example_paths()[0].parent / "btc_golden_cross.json")
    res = CliRunner().invoke(
        cli, ["backtest", spec, "--json", "--start", "2020-01-01", "--end", "2021-12-31"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert list(data) == ["total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar",
                          "n_trades", "exposure", "hodl_return", "psr", "dsr", "days", "passed_gate",
                          "gate_reasons"]  # fmt: skip
    assert data["days"] == 731


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
