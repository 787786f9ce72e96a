"""Plan revenue: totals by plan (``arena status``) and the ledger invariant that ties the
``platform:plan_revenue`` account to the plan charges. Amounts in USD."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.billing.plans import ORDER, plan_of
from core.models import AIWallet, Tier
from core.models.billing import PlanCharge

PLAN_REVENUE = "platform:plan_revenue"


def revenue_by_plan(session: Session) -> dict[str, dict[str, object]]:
    """Per plan name: ``wallets`` on it now, ``charged`` (USD, all time) and ``charges`` (count)."""
    out: dict[str, dict[str, object]] = {}
    charged: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    for tier, amount in session.execute(select(PlanCharge.tier, PlanCharge.amount)):
        charged[tier] += amount
        counts[tier] += 1
    wallets: dict[str, int] = defaultdict(int)
    for tier in session.scalars(select(AIWallet.tier).where(AIWallet.is_house.is_(False))):
        wallets[Tier(tier).value] += 1
    for tier in ORDER:
        out[plan_of(tier).name] = {"wallets": wallets[tier.value], "charged": charged[tier.value],
                                   "charges": counts[tier.value]}
    return out


def revenue_violations(session: Session, balance: Callable[[str], Decimal]) -> list[str]:
    """The plan-revenue account holds exactly the sum of the plan charges (each one transaction)."""
    total = sum(session.scalars(select(PlanCharge.amount)), Decimal(0))
    if balance(PLAN_REVENUE) != total:
        return [f"plan revenue {balance(PLAN_REVENUE)} != plan charges {total}"]
    return []
