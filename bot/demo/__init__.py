"""``arena demo``: the whole product once, offline, on the configured database.

The demo runs on a simulated clock placed ``SIMULATED_DAYS`` before the end of the market data:
strategies are imported and tokenized "then", and the platform lives through the remaining days —
NAV marks from each token's agent, weekly rebalances, a hybrid approval, lifecycle and risk checks —
ending with a daily digest. Every step calls the same core services chat users reach; the hybrid
wallet's proposals are approved through the chat command layer, as a treasurer pressing Approve.
The demo needs a database of its own: it refuses one that holds data unless ``--fresh``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.console import Console

from bot.cli_support import database_url, decimal_json, open_db, sqlite_path
from bot.demo.clock import demo_end, record_demo_clock
from bot.demo.state import DemoState, demo_start, market_for_demo
from bot.demo.steps_money import step_bounty, step_statement
from bot.demo.steps_setup import step_onboard, step_report
from bot.demo.steps_strategies import step_backtest, step_import
from bot.demo.steps_wallets import step_digest, step_live, step_wallets
from core.clock import SimulatedClock
from core.db import Database, open_database
from core.errors import ConfigError

STEPS = [
    ("Onboarding: attest, register the church, get verified", step_onboard),
    ("Backtests of the example strategies and the quality gate", step_backtest),
    ("Import pipeline: texts -> specs -> agents -> backtest -> paper -> tokens", step_import),
    ("AI wallets in full-AI, hybrid and manual mode", step_wallets),
    ("The platform lives: daily NAV marks, weekly rebalances, approvals, risk checks", step_live),
    ("State of the platform", step_report),
    ("Daily digest", step_digest),
    ("Monthly statement", step_statement),
    ("Import bounty", step_bounty),
]


def run_demo(console: Console, *, json_output: bool = False, fresh: bool = False) -> dict[str, object]:
    """Run every demo step in order on a new database and return a summary.

    With ``json_output`` the summary is the only thing printed on stdout (``console`` should then
    write to stderr)."""
    prepare_database(fresh)
    db = open_db(create=True)
    market = market_for_demo()
    db.clock = SimulatedClock(demo_start(market))
    state = DemoState(run=f"{int(time.time() * 1000) % 0xFFFFFF:06x}", db=db, market=market,
                      progress=not json_output)
    console.print(f"market: [bold]{market.source}[/]; simulated start {db.clock.now():%Y-%m-%d}")
    for title, step in STEPS:
        console.rule(title)
        step(state, console)
    record_demo_clock(db, state.run)
    db.dispose()
    if json_output:
        typer.echo(json.dumps(state.summary, default=decimal_json, indent=2))
    else:
        console.print(
            "Next: [bold]arena chat --user alice[/] to try the chat as a new treasurer (README: "
            "'A chat walkthrough')."
        )
    return state.summary


def prepare_database(fresh: bool) -> None:
    """Refuse a database that already has data (a second demo would stack onto it) unless
    ``fresh``, which deletes a SQLite file made by an earlier demo."""
    from core.config import get_settings

    url = database_url(get_settings().db_url)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return
    db = open_database(url)
    try:
        used, made_by_demo = _has_data(db), demo_end(db) is not None if _has_schema(db) else False
    finally:
        db.dispose()
    if not used:
        return
    where = str(path) if path is not None else "this database"
    if not fresh:
        raise ConfigError(
            f"{where} already holds data; a second demo would stack onto it. Run `arena demo --fresh` "
            "to start it anew, or `arena --db demo2.db demo` for another file."
        )
    if path is None:
        raise ConfigError("--fresh only deletes SQLite files; give the demo an empty PostgreSQL database")
    if not made_by_demo:
        raise ConfigError(f"{where} was not made by `arena demo`; --fresh will not delete it")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    typer.echo(f"deleted the earlier demo database {path}", err=True)


def _has_schema(db: Database) -> bool:
    from sqlalchemy import inspect

    return inspect(db.engine).has_table("ledger_accounts")


def _has_data(db: Database) -> bool:
    from sqlalchemy import func, select

    from core.models import User

    if not _has_schema(db):
        return False
    with db.uow(read_only=True) as uow:
        return bool(uow.session.scalar(select(func.count()).select_from(User)))
