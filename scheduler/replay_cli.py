"""Typer registration of ``arena replay`` (called by the ``arena`` composition root)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("replay")
    def replay(
        data: Annotated[Path | None, typer.Option("--data", help="folder of real CSVs")] = None,
        start: Annotated[str, typer.Option("--from", help="first day (UTC)")] = "2021-06-01",
        end: Annotated[str, typer.Option("--to", help="last day (UTC)")] = "2022-12-31",
        wallets: Annotated[int, typer.Option("--wallets", min=1, help="wallets per mode")] = 3,
        seed: Annotated[int, typer.Option("--seed", help="seed for deposits, approvals")] = 7,
        gate: Annotated[str, typer.Option("--gate", help="strict (quality gate) or none")] = (
            "strict"),
        as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
        plot: Annotated[Path | None, typer.Option("--plot", help="write a PNG chart")] = None,
        db: Annotated[Path | None, typer.Option("--db", help="keep the SQLite file")] = None,
    ) -> None:
        """Replay the platform over history: AI allocation vs equal weight, drift, risk events."""
        from scheduler.replay import run_replay

        if gate not in ("strict", "none"):
            raise typer.BadParameter("--gate must be strict or none")
        report = run_replay(data, date.fromisoformat(start), date.fromisoformat(end),
                            wallets=wallets, seed=seed, gate=gate, plot_path=plot, db_path=db)
        if as_json:
            typer.echo(json.dumps(report, indent=2))
            return
        cmp_ = report["comparison"]
        typer.echo(f"replay {report['from']}..{report['to']} ({report['gate']} gate)")
        for label, stats in (("AI", cmp_["ai"]), ("equal weight", cmp_["equal_weight"])):
            typer.echo(f"  {label:13s} return {stats['annual_return']}/yr  vol "
                       f"{stats['volatility']}  Sharpe {stats['sharpe']}  max DD "
                       f"{stats['max_drawdown']}")
        typer.echo(f"  AI - EW: {cmp_['ai_minus_equal_weight_annual']}/yr; drift at rebalance "
                   f"mean {report['drift_at_rebalance']['mean']} p95 "
                   f"{report['drift_at_rebalance']['p95']}")
        tokens = report["tokens"]
        typer.echo(f"  tokens {tokens['count']}, beating hold {tokens['share_beating_hold']}, "
                   f"avg Sharpe {tokens['average_sharpe']}; kill switches "
                   f"{report['kill_switches']}, circuit breakers {report['circuit_breakers']}")
