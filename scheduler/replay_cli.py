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
        start: Annotated[str, typer.Option("--start", help="first day (UTC), YYYY-MM-DD")] = "2021-06-01",
        end: Annotated[str, typer.Option("--end", help="last day (UTC), YYYY-MM-DD")] = "2022-12-31",
        old_start: Annotated[str | None, typer.Option("--from", hidden=True)] = None,
        old_end: Annotated[str | None, typer.Option("--to", hidden=True)] = None,
        wallets: Annotated[int, typer.Option("--wallets", min=1, help="wallets per mode")] = 3,
        seed: Annotated[int, typer.Option("--seed", help="seed for deposits, approvals")] = 7,
        gate: Annotated[str, typer.Option("--gate", help="strict (quality gate) or none")] = (
            "strict"),
        as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
        plot: Annotated[Path | None, typer.Option("--plot", help="write a PNG chart")] = None,
        keep_db: Annotated[Path | None, typer.Option("--keep-db", help="keep the replay's SQLite file "
                                                     "at this path")] = None,
        old_db: Annotated[Path | None, typer.Option("--db", hidden=True)] = None,
    ) -> None:
        """Replay the platform over history: AI allocation vs equal weight, drift, risk events."""
        from core.commands.parsing import day_range
        from scheduler.replay import run_replay

        if gate not in ("strict", "none"):
            raise typer.BadParameter("--gate must be strict or none")
        first, last = day_range(old_start or start, old_end or end)
        assert first is not None and last is not None
        _check_data_covers(data, first, last)
        report = run_replay(data, first, last, wallets=wallets, seed=seed, gate=gate, plot_path=plot,
                            db_path=keep_db or old_db)
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


def _check_data_covers(data: Path | None, first: date, last: date) -> None:
    """Refuse a range outside the market data (an empty replay reads like a flat market)."""
    from backtest import load_market
    from core.errors import ValidationError

    market = load_market(str(data) if data else None)
    indexes = [frame.index for frame in market.prices.values() if len(frame.index)]
    if not indexes:
        raise ValidationError("the market data has no prices")
    begins, ends = min(i[0].date() for i in indexes), max(i[-1].date() for i in indexes)
    if last < begins or first > ends:
        raise ValidationError(
            f"no market data between {first} and {last} (the data covers {begins} to {ends})")
