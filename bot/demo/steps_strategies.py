"""Demo steps: backtest the example specs (quality gate) and run the import pipeline."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.progress import track
from rich.table import Table
from sqlalchemy import select

from backtest import MarketData, example_specs, run_backtest
from bot.demo.state import DemoState
from core import formatting
from core.models import StrategyToken, TokenStatus


def _history(state: DemoState) -> MarketData:
    """The market as known at the simulated start (nothing after it may be used)."""
    return state.market.window(None, pd.Timestamp(state.db.clock.now().date(), tz="UTC"))


def short_reasons(reasons: list[str]) -> str:
    """'Sharpe, drawdown' from the gate's sentences (the full text is in `arena backtest`)."""
    words = [w for w in ("Sharpe", "drawdown", "days") if any(w in r for r in reasons)]
    return ", ".join(words) or "; ".join(reasons)


def step_backtest(state: DemoState, console: Console) -> None:
    """Backtest the built-in example specs and show which pass the quality gate."""
    market = _history(state)
    specs = example_specs()
    table = Table(title="Example strategies (gate: >= 180 days, Sharpe > 1.5, max drawdown < 15 %)")
    for column in ("strategy", "family", "days", "Sharpe", "max DD", "DSR", "gate"):
        table.add_column(column)
    passed = 0
    for spec in track(specs, description="backtesting", console=console, transient=True):
        result = run_backtest(spec, market, n_trials=len(specs))
        m = result.metrics
        if not result.backtestable:
            family = formatting.family_name(spec.family)
            table.add_row(spec.name, family, "-", "-", "-", "-", "not backtestable")
            continue
        passed += result.passed_gate
        reasons = short_reasons(result.gate_reasons)
        verdict = "[green]pass[/]" if result.passed_gate else f"[red]fail[/] {reasons}"
        table.add_row(spec.name, formatting.family_name(spec.family), formatting.count(int(m["days"])),
                      formatting.ratio(m["sharpe"]), formatting.drawdown(m["max_drawdown"], 1),
                      formatting.ratio(m["dsr"]), verdict)
    console.print(table)
    state.summary["examples"] = {"count": len(specs), "passed_gate": passed}


def step_import(state: DemoState, console: Console) -> None:
    """Import the project's example write-ups: parse, implement, backtest, paper-trade, tokenize."""
    from parser.pipeline import example_documents, run_import

    report = run_import(state.db.uow, example_documents(state.db.clock.now()), _history(state),
                        clock=state.db.clock, progress=state.progress,
                        paper_mode="replay")  # the demo's clock is simulated: prove on held-out history
    console.print(f"  {report.new_documents} new texts ({report.duplicates} already seen), "
                  f"{report.parsed} parsed, {report.rejected} rejected, {report.backtested} backtested, "
                  f"{report.failed_gate} failed the gate, {report.tokenized} tokenized "
                  f"(strategies tried so far: {report.n_trials})")
    with state.db.uow(read_only=True) as uow:
        state.tokens = list(uow.session.scalars(
            select(StrategyToken.symbol).where(StrategyToken.status == TokenStatus.ACTIVE,
                                               StrategyToken.agent_id.is_not(None))
            .order_by(StrategyToken.id)))
    console.print("  active strategy tokens: " + (", ".join(state.tokens) or "none"))
    state.summary["import"] = report.to_json()
