"""``arena demo``: the whole product once, offline, on the configured database.

Each step is a small function that calls the same core services chat users reach. Keys and
symbols carry a run id so the demo can run again on the same database without colliding.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from rich.console import Console

from bot.cli_support import decimal_json, open_db
from core import ledger
from core.clock import SimulatedClock
from core.compliance import attestations, disclosures, identity, organisations
from core.db import Database
from core.models import OrgKind


@dataclass
class DemoState:
    run: str
    db: Database
    org_id: int = 0
    user_id: int = 0
    admin_id: int = 0
    wallet_id: int = 0
    symbols: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def key(self, name: str) -> str:
        return f"demo:{self.run}:{name}"


def step_onboard(state: DemoState, console: Console) -> None:
    """A church treasurer attests, registers the church; a platform admin verifies it."""
    db = state.db
    with db.uow() as uow:
        s, clock = uow.session, uow.clock
        base = int(state.run, 16) % 1_000_000_000
        user = identity.get_or_create_user(s, "console", base, f"Treasurer {state.run}", clock)
        admin = identity.get_or_create_user(s, "console", base + 1, "Platform admin", clock)
        version = disclosures.current().version
        for kind in attestations.missing(s, user):
            attestations.attest(s, user, kind, version, clock)
        org = organisations.register(s, user, OrgKind.CHURCH, f"Grace Chapel {state.run}", clock)
        organisations.verify(s, admin, org.id, clock)
        state.user_id, state.admin_id, state.org_id = user.id, admin.id, org.id
        uow.commit()
    console.print(f"  organisation #{state.org_id} registered and verified; treasurer user #{state.user_id}")


def step_trade(state: DemoState, console: Console) -> None:
    """Open a wallet, fund it, tokenize a demo agent, buy, mark NAV for a week, redeem half."""
    db = state.db
    wallet = ledger.create_wallet(
        db.uow(),
        organisation_id=state.org_id,
        name="General fund",
        owner_user_ids=[state.user_id],
        idempotency_key=state.key("wallet"),
    )
    state.wallet_id = wallet.wallet_id
    ledger.deposit(db.uow(), wallet.wallet_id, "250000", idempotency_key=state.key("deposit"))
    symbol = f"STRAT-DEMO-USDC-{state.run.upper()}"
    ledger.tokenize(
        db.uow(),
        agent_id=None,
        symbol=symbol,
        total_supply="10000000",
        status="active",
        name="Demo USDC lending",
        idempotency_key=state.key("token"),
    )
    state.symbols.append(symbol)
    bought = ledger.buy(db.uow(), wallet.wallet_id, symbol, "50000", idempotency_key=state.key("buy"))
    console.print(
        f"  bought {bought.tokens:.6f} {symbol} for ${bought.cash:,.2f} at NAV {bought.nav_per_token:.6f}"
    )
    clock = db.clock
    assert isinstance(clock, SimulatedClock)
    for day in range(7):
        clock.advance(timedelta(days=1))
        ledger.mark_nav(db.uow(), symbol, clock.now().date(), "0.00012")  # ~4.5 %/yr lending yield
    half = (bought.tokens / 2).quantize(Decimal("0.000000000000000001"))
    redeemed = ledger.redeem(db.uow(), wallet.wallet_id, symbol, half, idempotency_key=state.key("redeem"))
    console.print(
        f"  after 7 daily marks redeemed {redeemed.tokens:.6f} for ${redeemed.cash:,.2f} "
        f"(NAV {redeemed.nav_per_token:.6f}, net of fees)"
    )


def market_for_demo() -> Any:
    """The built-in seeded market, or the real data folder when ARENA_DATA_DIR is set."""
    from backtest import load_market
    from core.config import get_settings

    return load_market(get_settings().data_dir)


def step_backtest(state: DemoState, console: Console) -> None:
    """Backtest the built-in example specs and show which pass the quality gate."""
    from rich.progress import track
    from rich.table import Table

    from backtest import example_specs, run_backtest

    market = market_for_demo()
    specs = example_specs()
    table = Table(title=f"Example strategies on the {'real' if market_is_real() else 'seeded'} market")
    for column in ("strategy", "family", "days", "Sharpe", "max DD", "DSR", "gate"):
        table.add_column(column)
    passed = 0
    for spec in track(specs, description="backtesting", console=console, transient=True):
        result = run_backtest(spec, market, n_trials=len(specs))
        m = result.metrics
        if not result.backtestable:
            table.add_row(spec.name, spec.family.value, "-", "-", "-", "-", "not backtestable")
            continue
        passed += result.passed_gate
        verdict = (
            "[green]pass[/]" if result.passed_gate else "[red]fail[/] " + short_reasons(result.gate_reasons)
        )
        table.add_row(
            spec.name,
            spec.family.value,
            str(m["days"]),
            f"{m['sharpe']:.2f}",
            f"{m['max_drawdown']:.1%}",
            f"{m['dsr']:.2f}",
            verdict,
        )
    console.print(table)
    state.summary["examples_passed_gate"] = passed
    state.summary["examples"] = len(specs)


def short_reasons(reasons: list[str]) -> str:
    """'Sharpe, drawdown' from the gate's full sentences (the full text is in `arena backtest`)."""
    words = [w for w in ("Sharpe", "drawdown", "days") if any(w in r for r in reasons)]
    return ", ".join(words) or "; ".join(reasons)


def step_import(state: DemoState, console: Console) -> None:
    """Run the import pipeline on the project's example write-ups: parse, backtest, prove, tokenize."""
    from parser.pipeline import example_documents, run_import

    market = market_for_demo()
    report = run_import(state.db.uow, example_documents(state.db.clock.now()), market,
                        clock=state.db.clock, progress=True)
    console.print(f"  {report.new_documents} new texts ({report.duplicates} already seen), "
                  f"{report.parsed} parsed, {report.rejected} rejected, {report.backtested} backtested, "
                  f"{report.failed_gate} failed the gate, {report.tokenized} tokenized "
                  f"(trials so far: {report.n_trials})")
    with state.db.uow(read_only=True) as uow:
        from sqlalchemy import select

        from core.models import StrategyToken, TokenStatus

        active = uow.session.scalars(
            select(StrategyToken.symbol).where(StrategyToken.status == TokenStatus.ACTIVE)
        ).all()
    console.print("  active strategy tokens: " + (", ".join(active) or "none"))
    state.summary["import"] = report.to_json()


def market_is_real() -> bool:
    from core.config import get_settings

    return get_settings().data_dir is not None


def step_report(state: DemoState, console: Console) -> None:
    """Print wallets, tokens and the ledger check."""
    from bot.cli import render_status
    from core.ledger import queries

    with state.db.uow(read_only=True) as uow:
        tokens = queries.token_summaries(uow.session)
        wallets = queries.wallet_summaries(uow.session)
        aum = queries.platform_aum(uow.session)
        insurance = queries.insurance_fund_balance(uow.session)
        fees = queries.fee_income_balance(uow.session)
        violations = ledger.check_invariants(uow.session)
    render_status(tokens, wallets, aum, insurance, fees)
    console.print("ledger check: " + ("[green]OK[/]" if not violations else f"[red]{violations}[/]"))
    state.summary.update(
        {
            "platform_aum": aum,
            "insurance_fund": insurance,
            "ledger_ok": not violations,
            "tokens": [t.symbol for t in tokens],
            "wallets": len(wallets),
        }
    )


STEPS = [
    ("Onboarding and verification", step_onboard),
    ("Backtests and the quality gate", step_backtest),
    ("Import pipeline: texts -> specs -> agents -> tokens", step_import),
    ("Wallet, token, trades and NAV marks", step_trade),
    ("State", step_report),
]


def run_demo(console: Console, *, json_output: bool = False) -> dict[str, Any]:
    """Run every demo step in order and return a summary."""
    db = open_db(ensure_schema=True)
    db.clock = SimulatedClock(db.clock.now())
    state = DemoState(run=f"{int(time.time() * 1000) % 0xFFFFFF:06x}", db=db)
    for title, step in STEPS:
        console.rule(title)
        step(state, console)
    db.dispose()
    if json_output:
        console.print_json(json.dumps(state.summary, default=decimal_json))
    return state.summary
