"""Demo steps: wallets in each mode, the platform living through weeks of history, the digest."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from sqlalchemy import select

from backtest.live import mark_token_navs
from bot.demo.state import SIMULATED_DAYS, DemoState
from core import formatting, ledger, wallets
from core.billing.charges import change_plan_in
from core.clock import SimulatedClock
from core.commands.dispatcher import CommandLayer
from core.commands.handlers.platform_services import pending_proposal_lines
from core.commands.types import ChatType, Identity
from core.config import get_settings
from core.db import Database
from core.digest.content import digest_for_wallet
from core.models import AIWallet, User
from core.models.wallets_ext import RebalanceProposal
from core.notify import CollectingNotifier
from scheduler.jobs import (
    JobContext,
    JobHooks,
    lifecycle_checks,
    nav_marks_and_fees,
    plan_billing,
    proposal_expiry,
    rebalance_and_drift,
)

WALLETS = (  # name, mode, tier, deposit (USD)
    ("Building fund", "full_ai", "basic", "120000"),
    ("Mission fund", "hybrid", "basic", "60000"),
    ("Benevolence fund", "manual", "free", "40000"),
)


def step_wallets(state: DemoState, console: Console) -> None:
    """Open one wallet per mode on the Free plan, fund them, move the AI wallets to Basic (billed
    from their cash, prorated) and switch their mode; the manual wallet buys a token by hand."""
    db = state.db
    for name, mode, tier, amount in WALLETS:
        created = ledger.create_wallet(
            db.uow(), organisation_id=state.org_id, name=name, mode="manual", tier="free",
            owner_user_ids=[state.user_id], idempotency_key=state.key(f"w:{name}"),
        )
        ledger.deposit(db.uow(), created.wallet_id, amount, idempotency_key=state.key(f"d:{name}"))
        state.wallets[mode] = created.wallet_id
        plan = "Free plan"
        if tier != "free":
            with db.uow() as uow:
                plan = change_plan_in(uow.session, uow.clock.now(), created.wallet_id, tier,
                                      actor=f"user:{state.user_id}").split(":", 1)[0]
                uow.commit()
            wallets.set_mode(db.uow(), created.wallet_id, mode, user_id=state.user_id,
                             idempotency_key=state.key(f"m:{name}"))
        console.print(f"  wallet #{created.wallet_id} {name!r}: {formatting.mode_name(mode)}, deposited "
                      f"{formatting.cash(Decimal(amount))}; {plan}", highlight=False)
    if state.tokens:
        trade = ledger.buy(db.uow(), state.wallets["manual"], state.tokens[0], "15000",
                           idempotency_key=state.key("manual-buy"))
        console.print(f"  manual wallet bought {formatting.quantity(trade.tokens)} {trade.symbol} for "
                      f"{formatting.cash(trade.cash)} at NAV {formatting.nav(trade.nav_per_token)}")


def _approve_pending(db: Database, state: DemoState, console: Console, week: int) -> int:
    """The treasurer presses Approve on each pending proposal, through the chat command layer."""
    layer = CommandLayer(db, get_settings())
    with db.uow(read_only=True) as uow:
        pending = list(uow.session.scalars(
            select(RebalanceProposal.id).where(RebalanceProposal.wallet_id == state.wallets["hybrid"],
                                               RebalanceProposal.status == "pending")))
        treasurer = uow.session.get(User, state.user_id)
        assert treasurer is not None
        who = Identity(treasurer.platform.value, treasurer.platform_user_id,
                       treasurer.platform_user_id, ChatType.PRIVATE, treasurer.display_name or "")
    for proposal_id in pending:
        reply = layer.handle_line(who, f"/proposal approve {proposal_id}",
                                  state.key(f"approve:{proposal_id}"), via_button=True)
        traded = re.search(r"\b\d[\d,]* trades? executed", reply.text) is not None
        first_trades = traded and not state.summary.get("approval_traded")
        state.summary["approval_traded"] = state.summary.get("approval_traded") or traded
        if week < 1 or first_trades or not reply.text.startswith("Approved"):
            text = reply.text.replace("\n", "\n    ")
            console.print(f"  week {week + 1}: treasurer pressed Approve on proposal "
                          f"#{proposal_id}\n    {text}", highlight=False)
    return len(pending)


def step_live(state: DemoState, console: Console) -> None:
    """Weeks pass: NAVs marked from each agent, fees, lifecycle and risk checks, rebalances."""
    db = state.db
    clock = db.clock
    assert isinstance(clock, SimulatedClock)
    notifier = CollectingNotifier()
    hooks = JobHooks(mark_navs=lambda d, day: mark_token_navs(d, day, state.market))
    jc = JobContext(db=db, notifier=notifier, hooks=hooks)
    start = clock.now()
    totals = {"executed": 0, "proposed": 0, "approved": 0, "retired": 0, "plan_charges": 0}
    for week in range(SIMULATED_DAYS // 7):
        slot = dt.datetime.combine(start.date() + dt.timedelta(days=7 * (week + 1)), dt.time(23), dt.UTC)
        clock.set(slot)
        nav_marks_and_fees(jc, slot)
        totals["retired"] += len(lifecycle_checks(jc, slot)["retired"])
        cycle = rebalance_and_drift(jc, slot)
        totals["executed"] += cycle["executed"]
        totals["proposed"] += cycle["proposed"]
        totals["approved"] += _approve_pending(db, state, console, week)
        proposal_expiry(jc, slot)
        totals["plan_charges"] += len(plan_billing(jc, slot)["charged"])
    console.print(f"  {SIMULATED_DAYS} days to {formatting.date_text(clock.now())}: "
                  f"{totals['executed']} full-AI rebalances, "
                  f"{totals['proposed']} hybrid proposals ({totals['approved']} approved), "
                  f"{totals['retired']} kill switches, {totals['plan_charges']} monthly plan charges, "
                  f"{len(notifier.messages)} chat notifications queued")
    suggestion = wallets.suggest_for_wallet(db.uow(), state.wallets["manual"], user_id=state.user_id)
    console.print(f"  manual wallet asked for a suggestion (never executed): {suggestion.summary}")
    state.summary["live"] = totals


def step_digest(state: DemoState, console: Console) -> None:
    """Render the hybrid wallet's daily digest (text + 30-day chart vs equal weight)."""
    with state.db.uow(read_only=True) as uow:
        wallet = uow.session.get(AIWallet, state.wallets["hybrid"])
        assert wallet is not None
        reply = digest_for_wallet(uow.session, wallet, uow.clock.now(),
                                  pending=pending_proposal_lines(uow.session, wallet.id))
    console.print(reply.text)
    for attachment in reply.attachments:
        path = Path(f"arena-demo-{attachment.filename}")
        path.write_bytes(attachment.data)
        console.print(f"  chart saved to {path.resolve()}")
        state.summary["digest_chart"] = str(path.resolve())
