"""The ``arena`` command line: the composition root that wires every part together.

Global options come first (``arena --db URL status``). Commands that others script accept
``--json`` (then only JSON reaches stdout). Sub-commands of other areas (backtest, parse/import,
replay, chat/serve) are registered from their own modules with one line each in
:data:`SUBCOMMAND_MODULES`, so this file stays small. Every command, wherever it is registered, gets
the same database rules (:func:`bot.cli_support.check_database_for`, run by the global callback) and
the same error handling (:func:`bot.cli_errors.run_cli`: user errors are one line, exit code 2).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bot.cli_errors import run_cli
from bot.cli_help import ArenaGroup
from bot.cli_support import check_database_for, decimal_json, open_db, set_database_option
from core import formatting
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
    cls=ArenaGroup,
)
ledger_app = typer.Typer(help="Inspect and verify the double-entry ledger.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
console = Console()


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="ARENA_DB_URL",
            help="Database: a URL (sqlite:///arena.db, postgresql://user@host/db) or a SQLite file "
            "path (default: arena.db in this folder).",
        ),
    ] = None,
) -> None:
    """Global options shared by every command."""
    import sys

    set_database_option(db)
    check_database_for(ctx.invoked_subcommand, sys.argv[1:])


@app.command()
def init(json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Create or upgrade the database schema (Alembic migrations); safe to run twice."""
    from core.migrations import current_revision, head_revision

    db = open_db(create=True)
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
    from core.billing.revenue import revenue_by_plan
    from core.ledger import queries

    db = open_db()
    with db.uow(read_only=True) as uow:
        tokens = queries.token_summaries(uow.session)
        wallets = queries.wallet_summaries(uow.session)
        aum = queries.platform_aum(uow.session)
        insurance = queries.insurance_fund_balance(uow.session)
        fees = queries.fee_income_balance(uow.session)
        plans = revenue_by_plan(uow.session)
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
            "plan_revenue": plans,
            "services": services,
        }
        typer.echo(json.dumps(payload, default=decimal_json, indent=2))
        return
    render_status(tokens, wallets, aum, insurance, fees)
    console.print(plan_revenue_text(plans), highlight=False)
    render_services(console, services)


def plan_revenue_text(plans: dict[str, dict[str, Any]]) -> str:
    """``Plan revenue: Free $0.00 (1 wallet)   Basic $280.64 (2 wallets) ...`` from
    ``revenue_by_plan`` (``charged`` in USD, ``wallets`` a count); used by ``status`` and the demo."""
    return "Plan revenue: " + "   ".join(
        f"{name} {formatting.cash(Decimal(str(p['charged'])))} "
        f"({formatting.counted(int(p['wallets']), 'wallet')})" for name, p in plans.items())


def render_status(tokens: list[Any], wallets: list[Any], aum: Any, insurance: Any, fees: Any,
                  out: Console | None = None) -> None:
    """Tokens and wallets as tables that fit 80 columns (names shortened with an ellipsis)."""
    out = out or console
    table = Table(title="Strategy tokens", width=min(out.width, 100))
    table.add_column("symbol", overflow="fold", ratio=3)
    table.add_column("status")
    for column in ("NAV", "AUM", "issued", "cap"):
        table.add_column(column, justify="right", no_wrap=True)
    for t in tokens:
        table.add_row(
            t.symbol,
            t.status,
            formatting.nav(t.nav_per_token),
            formatting.cash(t.aum),
            formatting.quantity(t.circulating_supply, 0),
            formatting.quantity(t.total_supply, 0),
        )
    out.print(table)
    wtable = Table(title="AI wallets", width=min(out.width, 100))
    wtable.add_column("id", justify="right", no_wrap=True)
    wtable.add_column("name", ratio=2)
    wtable.add_column("mode", no_wrap=True)
    wtable.add_column("cash", justify="right", no_wrap=True)
    wtable.add_column("value", justify="right", no_wrap=True)
    wtable.add_column("positions (tokens)", ratio=3, overflow="fold")
    for w in wallets:
        positions = "\n".join(f"{p.symbol} {formatting.quantity(p.quantity, 2)}" for p in w.positions) or "-"
        wtable.add_row(
            str(w.wallet_id),
            formatting.shorten(w.name, 30),
            w.mode.replace("_", "-"),
            formatting.cash(w.cash),
            formatting.cash(w.value),
            positions,
        )
    out.print(wtable)
    out.print(
        f"Platform AUM: [bold]{formatting.cash(aum)}[/]   Insurance fund: {formatting.cash(insurance)}   "
        f"Fee income: {formatting.cash(fees)}"
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
    json_output: Annotated[
        bool, typer.Option("--json", help="Print only a JSON summary on stdout (progress on stderr).")
    ] = False,
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Delete the SQLite database first (it must have been made by a demo)."),
    ] = False,
) -> None:
    """Run the whole product once, offline: database, tokens, trades, NAV marks and the state.

    It needs a new database: on an existing one it refuses (a second demo would stack onto the
    first) unless --fresh, which starts the SQLite file anew.
    """
    from bot.demo import run_demo

    run_demo(Console(stderr=True) if json_output else console, json_output=json_output, fresh=fresh)


SUBCOMMAND_MODULES = (
    "backtest.cli",
    "parser.cli",
    "scheduler.replay_cli",
    "bot.chat_cli",
    "bot.backup_cli",
    "bot.serve_cli",
    "bot.exchange_cli",
    "bot.plan_cli",
    "bot.statement_cli",
    "bot.money_cli",
    "bot.api_cli",
    "bot.dashboard_cli",
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
    """The ``arena`` entry point: every command's user errors end as one line and exit code 2."""
    from bot.logs import configure_logging
    from bot.wiring import install_safety

    configure_logging(get_settings())
    install_safety()
    _register_subcommands()
    run_cli(app)
