"""The ``arena`` command line: the composition root that wires every part together.

Global options come first (``arena --db URL status``). Commands that others script accept
``--json``. Sub-commands of other areas (backtest, parse/import, replay, chat/serve) are registered
from their own modules so this file stays small.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bot.cli_support import decimal_json, open_db
from core.config import get_settings

app = typer.Typer(
    name="arena",
    help=(
        "Treasury Arena: tokenized, AI-allocated treasury strategies for churches, run from chat.\n\n"
        "Embedded default: a SQLite file arena.db, the offline parser and a built-in seeded market — "
        "no token, key or network needed. Start with `arena demo`."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
ledger_app = typer.Typer(help="Inspect and verify the double-entry ledger.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
console = Console()


@app.callback()
def main_options(
    db: Annotated[
        str | None,
        typer.Option("--db", envvar="ARENA_DB_URL", help="Database URL (default: sqlite:///arena.db)."),
    ] = None,
) -> None:
    """Global options shared by every command."""
    if db:
        os.environ["ARENA_DB_URL"] = db
        get_settings.cache_clear()


@app.command()
def init(json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Create or upgrade the database schema (Alembic migrations); safe to run twice."""
    from core.migrations import current_revision, head_revision

    db = open_db(ensure_schema=True)
    revision = current_revision(db.engine)
    db.dispose()
    if json_output:
        typer.echo(json.dumps({"ok": True, "revision": revision, "head": head_revision()}))
    else:
        console.print(f"Database ready at revision [bold]{revision}[/] ({get_settings().db_url})")


@app.command()
def status(json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Summarise tokens, wallets, platform AUM and the insurance fund."""
    from bot.service_health import render_services, service_rows
    from core.ledger import queries

    db = open_db()
    with db.uow(read_only=True) as uow:
        tokens = queries.token_summaries(uow.session)
        wallets = queries.wallet_summaries(uow.session)
        aum = queries.platform_aum(uow.session)
        insurance = queries.insurance_fund_balance(uow.session)
        fees = queries.fee_income_balance(uow.session)
        services = service_rows(uow.session)  # what each running `arena serve` reports
    db.dispose()
    if json_output:
        payload = {
            "tokens": [t.__dict__ for t in tokens],
            "wallets": [
                {**w.__dict__, "value": w.value, "positions": [p.__dict__ for p in w.positions]}
                for w in wallets
            ],
            "platform_aum": aum,
            "insurance_fund": insurance,
            "fee_income": fees,
            "services": services,
        }
        typer.echo(json.dumps(payload, default=decimal_json, indent=2))
        return
    render_status(tokens, wallets, aum, insurance, fees)
    render_services(console, services)


def render_status(tokens: list[Any], wallets: list[Any], aum: Any, insurance: Any, fees: Any) -> None:
    table = Table(title="Strategy tokens")
    for column in ("symbol", "status", "NAV", "AUM (USD)", "circulating", "supply cap"):
        table.add_column(column, justify="right" if column not in ("symbol", "status") else "left")
    for t in tokens:
        table.add_row(
            t.symbol,
            t.status,
            f"{t.nav_per_token:.6f}",
            f"{t.aum:,.2f}",
            f"{t.circulating_supply:,.4f}",
            f"{t.total_supply:,.0f}",
        )
    console.print(table)
    wtable = Table(title="AI wallets")
    for column in ("id", "name", "mode", "tier", "cash (USD)", "value (USD)", "positions"):
        wtable.add_column(column)
    for w in wallets:
        positions = ", ".join(f"{p.symbol} {p.quantity:,.4f}" for p in w.positions) or "-"
        wtable.add_row(
            str(w.wallet_id), w.name, w.mode, w.tier, f"{w.cash:,.2f}", f"{w.value:,.2f}", positions
        )
    console.print(wtable)
    console.print(
        f"Platform AUM: [bold]${aum:,.2f}[/]   Insurance fund: ${insurance:,.2f}   Fee income: ${fees:,.2f}"
    )


@ledger_app.command("check")
def ledger_check(json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Verify every ledger invariant; exit 1 when any is violated."""
    from core.ledger import check_invariants

    db = open_db()
    with db.uow(read_only=True) as uow:
        violations = check_invariants(uow.session)
    db.dispose()
    ok = not violations
    if json_output:
        typer.echo(json.dumps({"ok": ok, "violations": violations}))
    elif ok:
        console.print(
            "[green]ledger OK[/]: every transaction balances, balances match postings, supply and AUM agree"
        )
    else:
        for violation in violations:
            console.print(f"[red]violation[/] {violation}")
    raise typer.Exit(0 if ok else 1)


@app.command()
def demo(
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON summary at the end.")] = False,
) -> None:
    """Run the whole product once, offline: database, tokens, trades, NAV marks and the state."""
    from bot.demo import run_demo

    run_demo(console, json_output=json_output)


SUBCOMMAND_MODULES = (
    "backtest.cli",
    "parser.cli",
    "scheduler.replay_cli",
    "bot.chat_cli",
    "bot.backup_cli",
    "bot.serve_cli",
    "bot.exchange_cli",
)


def _register_subcommands() -> None:
    """Attach each area's commands (kept in their own modules)."""
    import importlib

    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:  # a real missing dependency, not a not-yet-built area
                raise
            continue
        module.register(app)


def main() -> None:
    from sqlalchemy.exc import OperationalError

    from bot.logs import configure_logging
    from bot.wiring import install_safety
    from core.errors import ArenaError

    configure_logging(get_settings())
    install_safety()
    _register_subcommands()
    try:
        app()
    except ArenaError as error:
        console.print(f"[red]error:[/] {error.message}")
        sys.exit(2)
    except OperationalError as error:  # unreachable or locked database: say which, never the password
        from sqlalchemy.engine import make_url

        where = make_url(get_settings().db_url).render_as_string(hide_password=True)
        reason = str(error.orig).splitlines()[0] if error.orig else type(error).__name__
        console.print(f"[red]error:[/] cannot use the database {where}: {reason}")
        sys.exit(2)
