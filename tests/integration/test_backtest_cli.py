"""``arena backtest``: --engine, --equity-csv/--trades-csv (recomputable), --risk-free, --code."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from backtest.cli import register
from backtest.examples import EXAMPLES_DIR
from tests.support.typer_apps import app_with

GOLDEN = str(EXAMPLES_DIR / "btc_golden_cross.json")


@pytest.fixture()
def cli() -> typer.Typer:
    return app_with(register)


def test_csv_outputs_let_anyone_recompute_the_metrics(
    cli: typer.Typer, shared_data_dir: Path, tmp_path: Path
) -> None:
    equity, trades = tmp_path / "equity.csv", tmp_path / "trades.csv"
    window = ["--start", "2021-01-01", "--end", "2023-12-31"]
    args = ["backtest", GOLDEN, "--data", str(shared_data_dir), *window, "--json",
            "--equity-csv", str(equity), "--trades-csv", str(trades)]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    curve = pd.read_csv(equity, index_col="date")
    fills = pd.read_csv(trades)
    # Recomputed from the CSVs alone: total return, excess Sharpe, drawdown, trades, commissions.
    e = curve["equity"].to_numpy()
    assert report["total_return"] == pytest.approx(e[-1] / e[0] - 1, rel=1e-9)
    x = curve["excess_return"].dropna().to_numpy()
    assert report["sharpe"] == pytest.approx(x.mean() / x.std(ddof=1) * math.sqrt(365), rel=1e-8)
    assert report["max_drawdown"] == pytest.approx(float(np.max(1 - e / np.maximum.accumulate(e))), rel=1e-9)
    assert report["n_trades"] == len(fills) and set(fills["side"]) <= {"buy", "sell"}
    np.testing.assert_allclose(fills["commission"], 0.001 * fills["size"] * fills["price"], rtol=1e-9)
    assert curve["risk_free_return"].dropna().gt(0).all()  # T-bills paid something every day of 2021-2023


def test_both_engines_print_the_same_report(cli: typer.Typer, shared_data_dir: Path) -> None:
    runs = {}
    for engine in ("backtrader", "vector"):
        res = CliRunner().invoke(
            cli, ["backtest", GOLDEN, "--data", str(shared_data_dir), "--json", "--engine", engine]
        )
        assert res.exit_code == 0, res.output
        runs[engine] = json.loads(res.stdout)
    assert runs["vector"].pop("engine") == "vector" and runs["backtrader"].pop("engine") == "backtrader"
    assert runs["vector"] == runs["backtrader"]


def test_code_needs_no_data_and_bad_options_are_one_line_errors(cli: typer.Typer, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["backtest", GOLDEN, "--code", "--data", str(tmp_path / "nowhere")])
    assert res.exit_code == 0 and "class TreasuryAgent(AgentBase):" in res.stdout
    res = CliRunner().invoke(cli, ["backtest", GOLDEN, "--engine", "fast"])
    assert res.exit_code == 2 and res.stderr.strip() == "error: --engine must be one of backtrader, vector"


def test_risk_free_file_replaces_the_default(cli: typer.Typer, tmp_path: Path) -> None:
    rates = tmp_path / "rf.csv"
    days = pd.date_range("2019-01-01", "2023-12-31", freq="D")
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "rate": 0.03}).to_csv(rates, index=False)
    args = ["backtest", GOLDEN, "--start", "2020-01-01", "--end", "2021-12-31", "--json"]
    zero = json.loads(CliRunner().invoke(cli, args).stdout)
    three = json.loads(CliRunner().invoke(cli, [*args, "--risk-free", str(rates)]).stdout)
    assert (
        zero["risk_free"]["name"] == "none (synthetic market): 0 %"
        and zero["risk_free"]["mean_annual_rate"] == 0
    )
    assert three["risk_free"]["name"].startswith("rf.csv") and three["risk_free"]["mean_annual_rate"] == 0.03
    assert three["sharpe"] < zero["sharpe"] and three["total_return"] == zero["total_return"]
    expected_excess = zero["total_return"] - ((1 + 0.03 / 365) ** (zero["days"] - 1) - 1)
    assert three["excess_return"] == pytest.approx(expected_excess, rel=1e-9)
