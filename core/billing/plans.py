"""The three plans and what each allows; the one place every entry point asks.

Plans (DESIGN "Plans, agreements, statements"): **Free** — manual mode only, at most 3 distinct
tokens; **Basic** ($50/month) — the AI modes, at most 10; **Premium** ($200/month) — unlimited
tokens, custom risk profiles (``/risk``) and priority in rebalance cycles. A wallet's plan is its
``tier`` column.

Where each limit is enforced (every check raises :class:`PlanLimit`, naming the plan that allows
the action, and writes nothing):

* distinct tokens — :func:`check_new_token`, called by ``core.ledger.issuance.buy_in`` (every buy:
  ``/buy``, rebalances, approved proposals) and by ``core.exchange.orders.place_order_in`` for bids.
  A token counts when the wallet holds units of it or has an open bid for it, so a fill can never
  take a wallet past its limit. Adding to a token already held is always allowed (a wallet moved
  down to Free keeps every holding and may still add to them). A move to a lower cap cancels the
  open bids it leaves no room for (``core.exchange.plan_bids``, called by ``set_tier_in``).
* AI modes — :func:`check_mode` in ``create_wallet_in`` and ``core.wallets.service.set_mode``;
  :func:`check_ai` before a rebalance cycle trades or proposes and before a proposal is approved.
* custom risk profiles — :func:`check_custom_risk` (``/risk``); the optimizer ignores a stored
  profile on a lower plan.
* priority — ``run_rebalance_cycle`` handles Premium wallets in batches before all others.

This module only reads rows; it imports no ledger code (the ledger imports it).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import CompoundSelect, Integer, bindparam, select, union
from sqlalchemy.orm import Session

from core.errors import ArenaError
from core.formatting import cash as fmt_cash
from core.models import AIWallet, StrategyToken, Tier, TokenHolding, WalletMode


class PlanLimit(ArenaError):
    """The wallet's plan does not allow this; the message names the plan that does."""

    code = "plan_limit"


@dataclass(frozen=True, slots=True)
class Plan:
    """One plan. ``price`` is USD per calendar month, charged in advance; ``max_tokens`` is the most
    distinct tokens a wallet may hold (None = unlimited)."""

    tier: Tier
    name: str
    price: Decimal
    max_tokens: int | None
    ai_modes: bool
    custom_risk: bool
    priority: bool

    def label(self) -> str:
        """``Basic ($50.00/month)``, ``Free``."""
        return f"{self.name} ({fmt_cash(self.price)}/month)" if self.price else self.name

    def limits(self) -> str:
        """One line a person reads: what the plan allows."""
        tokens = "unlimited tokens" if self.max_tokens is None else f"up to {self.max_tokens} tokens"
        modes = "AI modes (full AI, hybrid) and manual" if self.ai_modes else "manual mode only"
        extras = [x for x, on in (("custom risk profiles (/risk)", self.custom_risk),
                                  ("priority in rebalance cycles", self.priority)) if on]
        return ", ".join([modes, tokens, *extras])


PLANS: dict[Tier, Plan] = {
    Tier.FREE: Plan(Tier.FREE, "Free", Decimal(0), 3, False, False, False),
    Tier.BASIC: Plan(Tier.BASIC, "Basic", Decimal(50), 10, True, False, False),
    Tier.PREMIUM: Plan(Tier.PREMIUM, "Premium", Decimal(200), None, True, True, True),
}
#: Plans from the cheapest up (upgrades move right).
ORDER: tuple[Tier, ...] = (Tier.FREE, Tier.BASIC, Tier.PREMIUM)


def plan_of(tier: Tier | str) -> Plan:
    return PLANS[Tier(tier)]


def rank(tier: Tier | str) -> int:
    return ORDER.index(Tier(tier))


def parse_tier(text: str) -> Tier:
    """``basic``, ``Basic``, ``premium`` -> the tier; anything else is one clear error line."""
    try:
        return Tier(text.strip().lower())
    except ValueError:
        raise PlanLimit(f"unknown plan {text!r}; choose free, basic or premium") from None


def _upgrade_hint(plan: Plan) -> str:
    return f"the {plan.label()} plan allows it; see /plan to upgrade"


def check_mode(tier: Tier | str, mode: WalletMode | str) -> None:
    """Refuse an AI mode on a plan without AI modes."""
    if WalletMode(mode) is not WalletMode.MANUAL and not plan_of(tier).ai_modes:
        raise PlanLimit(f"the {plan_of(tier).name} plan is manual only: {WalletMode(mode).value} mode "
                        f"needs an AI plan — {_upgrade_hint(PLANS[Tier.BASIC])}")


def check_ai(wallet: AIWallet, action: str) -> None:
    """Refuse an AI action (a rebalance, approving a proposal) on a plan without AI modes."""
    plan = plan_of(wallet.tier)
    if not plan.ai_modes:
        raise PlanLimit(f"the {plan.name} plan is manual only, so {action} is not available — "
                        f"{_upgrade_hint(PLANS[Tier.BASIC])}")


def check_custom_risk(wallet: AIWallet) -> None:
    plan = plan_of(wallet.tier)
    if not plan.custom_risk:
        raise PlanLimit(f"custom risk profiles are not part of the {plan.name} plan — "
                        f"{_upgrade_hint(PLANS[Tier.PREMIUM])}")


def _committed_query() -> CompoundSelect:
    from core.models.exchange import ExchangeOrder, OrderSide, OrderStatus

    wallet = bindparam("wallet_id", type_=Integer)
    held = select(TokenHolding.token_id).where(TokenHolding.wallet_id == wallet, TokenHolding.quantity > 0)
    bids = select(ExchangeOrder.token_id).where(
        ExchangeOrder.wallet_id == wallet, ExchangeOrder.side == OrderSide.BID,
        ExchangeOrder.status == OrderStatus.OPEN)
    return union(held, bids)


def committed_tokens(session: Session, wallet_id: int) -> set[int]:
    """Token ids the wallet holds units of or has an open exchange bid for (one Core statement:
    this runs inside every buy of a token the wallet does not hold yet)."""
    if session.new:  # Core statements do not autoflush
        session.flush()
    rows = session.connection().execute(_committed_query(), {"wallet_id": wallet_id})
    return {int(r[0]) for r in rows}


def check_new_token(session: Session, wallet: AIWallet, token: StrategyToken) -> None:
    """Refuse a buy or bid that would make ``token`` one more distinct token than the plan allows."""
    plan = plan_of(wallet.tier)
    if wallet.is_house or plan.max_tokens is None:
        return
    committed = committed_tokens(session, wallet.id)
    if token.id in committed or len(committed) < plan.max_tokens:
        return
    bigger = next(p for p in (PLANS[t] for t in ORDER)
                  if p.max_tokens is None or p.max_tokens > len(committed))
    raise PlanLimit(f"the {plan.name} plan holds at most {plan.max_tokens} different tokens and "
                    f"this wallet already has {len(committed)}; {token.symbol} would be one more "
                    f"(sell one first, or {_upgrade_hint(bigger)})")
