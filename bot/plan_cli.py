"""``arena plan show|set|bill`` (registered by ``bot.cli``): plans from the command line.

``show`` lists every organisation wallet's plan (or one, ``--wallet``); ``set --wallet ID PLAN`` changes
a plan as an operator (same rules as /plan: an upgrade charges the prorated month at once, a
downgrade waits for the next month); ``bill`` runs the daily billing job's body once now.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from core.formatting import cash, mode_name

plan_app = typer.Typer(help="Subscription plans: show, change, bill.", no_args_is_help=True)


def _rows(session: Any, wallet: int | None) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from core.billing.plans import PLANS, committed_tokens
    from core.errors import NotFound
    from core.models import AIWallet, Tier
    from core.models.billing import WalletBilling

    query = select(AIWallet).where(AIWallet.is_house.is_(False)).order_by(AIWallet.id)
    if wallet is not None:
        query = query.where(AIWallet.id == wallet)
    rows = []
    for w in session.scalars(query):
        plan, billing = PLANS[Tier(w.tier)], session.get(WalletBilling, w.id)
        rows.append({"wallet": w.id, "name": w.name, "plan": plan.name, "price": plan.price,
                     "mode": w.mode.value, "tokens": len(committed_tokens(session, w.id)),
                     "max_tokens": plan.max_tokens,
                     "next_plan": billing.next_tier if billing else None,
                     "next_plan_on": (billing.next_tier_on.isoformat()
                                      if billing and billing.next_tier_on else None),
                     "unpaid_period": billing.grace_period if billing else None})
    if wallet is not None and not rows:
        raise NotFound(f"wallet {wallet} does not exist")
    return rows


def _plan_name(tier: str) -> str:
    """``basic`` -> ``Basic``: the plan's name as chat and ``--help`` show it."""
    from core.billing.plans import PLANS
    from core.models import Tier

    return PLANS[Tier(tier)].name


def register(app: typer.Typer) -> None:
    app.add_typer(plan_app, name="plan")


@plan_app.command("show")
def show(wallet: Annotated[int | None, typer.Option("--wallet", help="Only this wallet.")] = None,
         json_output: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False) -> None:
    """Each wallet's plan, price, tokens used and any scheduled change or unpaid month."""
    from bot.cli_support import decimal_json, open_db

    db = open_db()
    with db.uow(read_only=True) as uow:
        rows = _rows(uow.session, wallet)
    db.dispose()
    if json_output:
        typer.echo(json.dumps({"wallets": rows}, default=decimal_json))
        return
    for r in rows:
        cap = "unlimited" if r["max_tokens"] is None else r["max_tokens"]
        extra = f", becomes {_plan_name(r['next_plan'])} on {r['next_plan_on']}" if r["next_plan"] else ""
        extra += f", {r['unpaid_period']} unpaid (grace period)" if r["unpaid_period"] else ""
        typer.echo(f"wallet {r['wallet']} {r['name']}: {r['plan']} ({cash(r['price'])}/month), "
                   f"{mode_name(r['mode'])}, {r['tokens']} of {cap} tokens{extra}")


@plan_app.command("set")
def set_plan(plan: Annotated[str, typer.Argument(help="free, basic or premium")],
             wallet: Annotated[int, typer.Option("--wallet", help="The wallet to change.")],
             json_output: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False) -> None:
    """Change a wallet's plan as an operator (upgrade now and prorated, downgrade next month)."""
    from bot.cli_support import open_db
    from core.billing.charges import change_plan_in

    db = open_db()
    with db.uow() as uow:
        text = change_plan_in(uow.session, uow.clock.now(), wallet, plan, actor="cli")
        uow.commit()
    db.dispose()
    typer.echo(json.dumps({"ok": True, "message": text}) if json_output else text)


@plan_app.command("bill")
def bill(json_output: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False) -> None:
    """Run the billing job once now: scheduled changes, monthly charges, grace periods."""
    from bot.cli_support import open_db
    from core.billing.cycle import run_billing

    db = open_db()
    report = run_billing(db.uow())
    db.dispose()
    data = {"charged": report.charged, "grace_started": report.grace_started,
            "reminded": report.reminded, "downgraded": report.downgraded, "changed": report.changed,
            "failed": report.failed}
    typer.echo(json.dumps(data) if json_output else
               f"charged {len(report.charged)}, grace started {len(report.grace_started)}, reminded "
               f"{len(report.reminded)}, moved to Free {len(report.downgraded)}, scheduled changes "
               f"{len(report.changed)}, failed {len(report.failed)}")
