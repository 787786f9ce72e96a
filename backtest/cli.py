"""The ``arena backtest`` command (a Typer sub-app; the lead's ``bot/cli.py`` calls :func:`register`).

``arena backtest SPEC.json [--data PATH] [--start D --end D] [--engine backtrader|vector]
[--risk-free FILE] [--json] [--code] [--plot out.png] [--equity-csv FILE] [--trades-csv FILE]``

``--code`` prints the generated TreasuryAgent and stops (no data needed). ``--json`` prints only
JSON (the metric keys, the gate report, the risk-free rate used, the exposure cap and the notes).
The CSV files hold the daily equity curve (with the risk-free return of each day) and every fill,
at full precision, so anyone can recompute the metrics independently.

Exit codes: 0 ok (including "not backtestable", which is an answer, not an error), 2 bad spec
(the message names the field), unusable data or arguments.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from backtest.codegen import generate, is_backtestable
from backtest.data import load_market
from backtest.data.riskfree import read_risk_free_file
from backtest.engine import ENGINES, run_backtest
from backtest.result import BacktestResult
from core.errors import ArenaError, ValidationError
from core.formatting import change, count, drawdown, percent, ratio, sentence
from core.spec import load_spec_file


def register(app: typer.Typer) -> None:
    """Add the ``backtest`` command to ``app``."""
    app.command("backtest", help="Backtest a strategy spec (JSON) and print its metrics and gate report.")(
        backtest
    )


def backtest(
    spec_path: Annotated[Path, typer.Argument(metavar="SPEC.json", help="strategy spec JSON file")],
    data: Annotated[
        str | None, typer.Option("--data", help="data folder (shared-data layout); default synthetic")
    ] = None,
    start: Annotated[str | None, typer.Option("--start", help="first day, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option("--end", help="last day, YYYY-MM-DD")] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="backtrader (the auditable agent) or vector (the fast screen)")
    ] = "backtrader",
    risk_free: Annotated[
        Path | None,
        typer.Option(
            "--risk-free", help="risk-free CSV: a FRED download (DTB3) or date,rate (annual decimal)"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print only JSON")] = False,
    code: Annotated[bool, typer.Option("--code", help="print the generated TreasuryAgent and stop")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="save equity vs buy-and-hold PNG")] = None,
    equity_csv: Annotated[
        Path | None, typer.Option("--equity-csv", help="write the daily equity curve")
    ] = None,
    trades_csv: Annotated[Path | None, typer.Option("--trades-csv", help="write every fill")] = None,
) -> None:
    try:
        spec = load_spec_file(spec_path)
        if code:
            ok, why = is_backtestable(spec)
            typer.echo(generate(spec) if ok else f"# no code: {why}")
            return
        if engine not in ENGINES:
            raise ValidationError(f"--engine must be one of {', '.join(ENGINES)}")
        market = load_market(data)
        if risk_free is not None:
            market = market.with_risk_free(read_risk_free_file(risk_free))
        result = run_backtest(spec, market, start, end, engine=engine)
    except ArenaError as exc:
        typer.echo(f"error: {sentence(' '.join(exc.message.split()))}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    else:
        typer.echo(render_text(result))
    if result.backtestable:
        _write_outputs(result, plot, equity_csv, trades_csv)


def _write_outputs(
    result: BacktestResult, plot: Path | None, equity: Path | None, trades: Path | None
) -> None:
    if plot is not None:
        save_plot(result, plot)
        typer.echo(f"plot saved to {plot}", err=True)
    if equity is not None:
        equity_frame(result).to_csv(equity, float_format="%.17g")
        typer.echo(f"equity curve saved to {equity}", err=True)
    if trades is not None:
        columns = ["date", "asset", "side", "size", "price", "value", "commission"]
        pd.DataFrame(result.trades, columns=columns).to_csv(trades, index=False, float_format="%.17g")
        typer.echo(f"{count(len(result.trades))} fills saved to {trades}", err=True)


def equity_frame(result: BacktestResult) -> pd.DataFrame:
    """Daily equity, benchmark and the day's return, risk-free return and excess return."""
    frame = pd.DataFrame({"equity": result.equity, "benchmark": result.benchmark})
    frame["daily_return"] = result.equity.pct_change()
    excess = result.excess_returns if result.excess_returns is not None else frame["daily_return"]
    frame["excess_return"] = excess
    frame["risk_free_return"] = frame["daily_return"] - frame["excess_return"]
    frame.index = [d.date().isoformat() for d in frame.index]
    frame.index.name = "date"
    return frame


def render_text(result: BacktestResult) -> str:
    m = result.metrics
    if not result.backtestable:
        return f"{result.spec_name}: {'; '.join(result.gate_reasons)}"
    rf = result.risk_free
    mean = rf.get("mean_annual_rate")
    lines = [
        f"{result.spec_name}  {result.start} .. {result.end}  ({result.engine} engine, "
        f"agent sha256 {result.code_hash[:12]})",
        f"  risk-free      {rf.get('name')}"
        + (f", mean {percent(mean)}/yr" if isinstance(mean, int | float) else ""),
        f"                 ({rf.get('convention')})",
    ]
    rows: list[tuple[str, Any]] = [
        ("total return", change(m["total_return"])),
        ("excess return", change(m["excess_return"]) + "  (over the risk-free rate)"),
        ("CAGR", change(m["cagr"])),
        ("volatility", percent(m["volatility"])),
        ("Sharpe", ratio(m["sharpe"]) + "  (excess returns, 365-day year)"),
        ("Sortino", ratio(m["sortino"])),
        ("max drawdown", drawdown(m["max_drawdown"])),
        ("Calmar", ratio(m["calmar"])),
        ("trades", count(m["n_trades"])),
        ("exposure", percent(m["exposure"]) + _cap(result)),
        ("buy and hold", change(m["hodl_return"])),
        ("PSR", ratio(m["psr"], 3)),
        ("DSR", ratio(m["dsr"], 3)),
        ("days", count(m["days"])),
    ]
    lines += [f"  {label:<14} {value}" for label, value in rows]
    lines.append("gate: " + ("PASSED" if result.passed_gate else "FAILED"))
    for check in result.gate.checks if result.gate else ():
        mark = "pass" if check.passed else ("n/a " if not check.applicable else "FAIL")
        lines.append(f"  [{mark}] {check.detail}")
    if result.notes:
        lines.append("notes:")
        lines += [f"  - {note}" for note in result.notes]
    return "\n".join(lines)


def _cap(result: BacktestResult) -> str:
    return "" if result.exposure_cap is None else f"  (cap {percent(result.exposure_cap, 0)})"


def save_plot(result: BacktestResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # headless: never needs a display
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    try:
        ax.plot(result.equity.index, result.equity / result.equity.iloc[0], label="strategy")
        ax.plot(result.benchmark.index, result.benchmark / result.benchmark.iloc[0], label="buy and hold")
        ax.set_yscale("log")
        ax.set_title(result.spec_name)
        ax.set_ylabel("growth of 1 (log)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
