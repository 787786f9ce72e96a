"""Typer registration of ``arena replay`` (called by the ``arena`` composition root).

Bad dates, a reversed range or a range without market data are one-line errors (exit 2); with
``--plot out.png`` the daily series is written beside it as ``out.csv``.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from core.errors import ValidationError
from core.formatting import change, count, drawdown, percent, ratio


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
        gate: Annotated[str, typer.Option("--gate", help="strict (the birth gate) or none")] = "strict",
        as_json: Annotated[bool, typer.Option("--json", help="print only the report as JSON")] = False,
        plot: Annotated[
            Path | None, typer.Option("--plot", help="write a PNG chart (and the daily CSV beside it)")
        ] = None,
        keep_db: Annotated[Path | None, typer.Option("--keep-db", help="keep the replay's SQLite file "
                                                     "at this path")] = None,
        old_db: Annotated[Path | None, typer.Option("--db", hidden=True)] = None,
    ) -> None:
        """Replay the platform over history: AI allocation vs equal weight, drift, risk events, and a
        verdict against the brief's success metrics."""
        from core.commands.parsing import day_range
        from scheduler.replay import run_replay
        from scheduler.replay_report import render_verdict

        if gate not in ("strict", "none"):
            raise ValidationError("--gate must be strict or none")
        first, last = day_range(old_start or start, old_end or end)
        assert first is not None and last is not None
        _check_data_covers(data, first, last)
        report = run_replay(data, first, last, wallets=wallets, seed=seed, gate=gate, plot_path=plot,
                            db_path=keep_db or old_db, progress=not as_json)
        if as_json:
            typer.echo(json.dumps(report, indent=2))
            return
        for line in _summary(report) + render_verdict(report):
            typer.echo(line)


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


def _summary(report: dict[str, Any]) -> list[str]:
    cmp_ = report["comparison"]
    lines = [
        f"replay {report['from']}..{report['to']} ({report['gate']} gate; "
        f"risk-free: {report['risk_free']['name']})"
    ]
    for label, stats in (("AI", cmp_["ai"]), ("equal weight", cmp_["equal_weight"])):
        if stats["annual_return"] is None:
            lines.append(f"  {label:13s} no returns")
            continue
        sharpe = "n/a (no volatility)" if stats["sharpe"] is None else ratio(stats["sharpe"])
        lines.append(
            f"  {label:13s} return {change(stats['annual_return'])}/yr  vol {percent(stats['volatility'])}  "
            f"excess Sharpe {sharpe}  max drawdown {drawdown(stats['max_drawdown'])}"
        )
    tokens = report["tokens"]
    lines.append(
        f"  tokens {count(tokens['count'])}; kill switches {count(report['kill_switches'])}, "
        f"stale wind-downs {count(report['stale_wind_downs'])}, "
        f"circuit breakers {count(report['circuit_breakers'])}; "
        f"gate looks {count(report['gate_evaluations'])} at "
        f"{count(report['gate_trials'])} strategies (trials)"
    )
    tools = report.get("risk_tools")
    if tools:
        without, with_ = tools["without"], tools["with"]
        lines.append(
            f"  honest gate: {count(without['tokenized'])} of {count(without['strategies'])} strategies "
            f"without the risk tools and {count(with_['tokenized'])} of {count(with_['strategies'])} with "
            "them (volatility target, drawdown stop, T-bill leg) became tokens"
        )
    if report.get("daily_csv"):
        lines.append(f"  daily series: {report['daily_csv']}")
    return lines
