"""The ``arena backtest`` command (a Typer sub-app; the lead's ``bot/cli.py`` calls :func:`register`).

``arena backtest SPEC.json [--data PATH] [--start D --end D] [--json] [--code] [--plot out.png]``

Exit codes: 0 ok (including "not backtestable", which is an answer, not an error), 2 bad spec
(the message names the field) or unusable data/arguments.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from backtest.data import load_market
from backtest.engine import CLI_KEYS, BacktestResult, run_backtest
from core.errors import ArenaError
from core.spec import load_spec_file


def register(app: typer.Typer) -> None:
    """Add the ``backtest`` command to ``app``."""
    app.command("backtest", help="Backtest a strategy spec (JSON) and print its metrics.")(backtest)


def backtest(
    spec_path: Annotated[Path, typer.Argument(metavar="SPEC.json", help="strategy spec JSON file")],
    data: Annotated[
        str | None, typer.Option("--data", help="data folder (shared-data layout); default synthetic")
    ] = None,
    start: Annotated[str | None, typer.Option("--start", help="first day, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option("--end", help="last day, YYYY-MM-DD")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print metrics as JSON")] = False,
    code: Annotated[bool, typer.Option("--code", help="print the generated TreasuryAgent")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="save equity vs buy-and-hold PNG")] = None,
) -> None:
    try:
        spec = load_spec_file(spec_path)
        market = load_market(data)
        result = run_backtest(spec, market, start, end)
    except ArenaError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if code:
        typer.echo(result.code or f"# no code: {'; '.join(result.gate_reasons)}")
    if as_json:
        typer.echo(json.dumps({k: result.metrics[k] for k in CLI_KEYS}, indent=2))
    elif not code:
        typer.echo(render_text(result))
    if plot is not None and result.backtestable:
        save_plot(result, plot)
        typer.echo(f"plot saved to {plot}", err=True)


def render_text(result: BacktestResult) -> str:
    m = result.metrics
    if not result.backtestable:
        return f"{result.spec_name}: {'; '.join(result.gate_reasons)}"
    pct = ("total_return", "cagr", "volatility", "max_drawdown", "exposure", "hodl_return")
    lines = [f"{result.spec_name}  {result.start} .. {result.end}  (agent sha256 {result.code_hash[:12]})"]
    for key in CLI_KEYS[:-2]:
        value: Any = m[key]
        text = f"{value:.2%}" if key in pct else (f"{value:.3f}" if isinstance(value, float) else str(value))
        lines.append(f"  {key:<13} {text}")
    verdict = "PASSED" if result.passed_gate else "failed: " + "; ".join(result.gate_reasons)
    lines.append(f"  gate          {verdict}")
    return "\n".join(lines)


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
