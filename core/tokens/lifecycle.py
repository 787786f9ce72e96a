"""Token lifecycle: candidate -> proving -> active -> retired.

* Proving -> active after ``paper_days`` (30) daily NAV marks of paper trading that *pass*: over
  the latest 30 marks, the maximum drawdown stays below the birth gate (``gate_max_drawdown``, 15 %) and its
  total return is not negative. An explicit verdict in the agent's ``paper_metrics["passed"]`` (from
  the backtest team's paper trader) overrides the mark-based check.
* Newly active tokens need no registration anywhere: every AI wallet's universe is "all active
  tokens" at its next decision (auto-discovery).
* Retire: the token stops taking buys; every holder (the house seed included) is redeemed at NAV as
  a system trade (exempt from the circuit breaker and the redemption limit: it protects holders),
  allocations to it disappear from the next decision, and owners are told through the notifier.

NAVs are USD per token; fractions are decimals (0.15 = 15 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import get_settings
from core.exchange import cancel_token_orders_in, order_wallets
from core.formatting import cash as fmt_cash
from core.ledger.issuance import redeem_in
from core.ledger.locks import lock_token, lock_wallets
from core.ledger.postings import LedgerWriter
from core.ledger.rows import read_position
from core.models import AuditLog, NavMark, StrategyToken, TokenHolding, TokenStatus
from core.models.wallets_ext import RedemptionRequest
from core.notify import Notifier

ZERO = Decimal(0)


@dataclass(frozen=True)
class PaperVerdict:
    days: int
    passed: bool
    reason: str


def paper_verdict(session: Session, token: StrategyToken) -> PaperVerdict:
    settings = get_settings()
    navs = list(
        session.scalars(
            select(NavMark.nav_per_token).where(NavMark.token_id == token.id).order_by(NavMark.as_of)
        )
    )
    days = len(navs)
    if days < settings.paper_days:
        return PaperVerdict(days, False, f"{days} of {settings.paper_days} paper days done")
    metrics = token.agent.paper_metrics if token.agent is not None else None
    if metrics and isinstance(metrics.get("passed"), bool):
        return PaperVerdict(days, bool(metrics["passed"]), "paper trader's verdict")
    # Judge the most recent ``paper_days`` marks: a token that stumbled early keeps proving and
    # passes once a full 30-day window is clean (a rolling window, not a lifetime record).
    navs = navs[-settings.paper_days :]
    peak = navs[0]
    worst = ZERO
    for nav in navs:
        peak = max(peak, nav)
        if peak > 0:
            worst = max(worst, (peak - nav) / peak)
    gate = Decimal(str(settings.gate_max_drawdown))
    if worst >= gate:
        return PaperVerdict(days, False, f"paper drawdown {worst:.1%} breached the {gate:.0%} gate")
    if navs[-1] < navs[0]:
        return PaperVerdict(days, False, "paper trading lost money")
    return PaperVerdict(days, True, f"{days} paper days, drawdown {worst:.1%}")


def promote_ready_tokens(session: Session, now: datetime) -> list[str]:
    """Activate every proving token whose paper period passed; returns their symbols."""
    promoted: list[str] = []
    proving = session.scalars(
        select(StrategyToken).where(StrategyToken.status == TokenStatus.PROVING).order_by(StrategyToken.id)
    ).all()
    for token in proving:
        verdict = paper_verdict(session, token)
        if not verdict.passed:
            continue
        token.status = TokenStatus.ACTIVE
        token.activated_at = now
        session.add(
            AuditLog(
                at=now,
                actor="system",
                action="token.activate",
                subject=token.symbol,
                details={"reason": verdict.reason},
            )
        )
        promoted.append(token.symbol)
    session.flush()
    return promoted


@dataclass(frozen=True)
class WindDown:
    symbol: str
    holders_redeemed: int
    cash_returned: Decimal
    notified: int


def retire_in(
    session: Session,
    now: datetime,
    symbol: str,
    reason: str,
    *,
    notifier: Notifier | None = None,
    actor: str = "system",
    writer: LedgerWriter | None = None,
) -> WindDown:
    """Retire ``symbol`` and wind it down: redeem every holder at NAV, cancel queued redemptions.

    Lock order: the token, then every holder's wallet (by id), then (at the writer's flush) the
    accounts. With a caller's ``writer`` (several wind-downs in one transaction, their tokens and
    holders locked up front by the caller) the balances wait for the caller's flush.
    """
    token = lock_token(session, symbol)
    holder_ids = session.scalars(
        select(TokenHolding.wallet_id).where(TokenHolding.token_id == token.id, TokenHolding.quantity > 0)
    ).all()
    # Owners of open exchange orders too: the orders are cancelled (reservations released) first.
    lock_wallets(session, [*holder_ids, *order_wallets(session, [token.id])])
    if token.status is not TokenStatus.RETIRED:
        token.status = TokenStatus.RETIRED
        token.retired_at = now
        token.retire_reason = reason[:500]
        session.add(
            AuditLog(
                at=now, actor=actor, action="token.retire", subject=token.symbol, details={"reason": reason}
            )
        )
    for request in session.scalars(
        select(RedemptionRequest).where(
            RedemptionRequest.token_id == token.id, RedemptionRequest.status == "queued"
        )
    ):
        request.status = "cancelled"
        request.note = "token retired: the whole position was redeemed at NAV"
    # here, not at the top: core.wallets imports core.risk, which imports this module, so a top-level
    # import made ``import core.tokens`` (or ``backtest.live``) fail unless core.wallets came first
    from core.wallets.notices import tell_owners

    own_writer = writer is None
    writer = writer or LedgerWriter(session, now)
    cancel_token_orders_in(
        session, now, token, f"{token.symbol} was retired ({reason})", notifier=notifier, writer=writer
    )
    redeemed = 0
    cash_total = ZERO
    notified = 0
    for wallet_id in sorted(holder_ids):
        # Read again under the wallet's lock: the holder may have redeemed in between.
        quantity = read_position(session, wallet_id, token.id).quantity
        if quantity <= 0:
            continue
        trade = redeem_in(
            session,
            now,
            wallet_id=wallet_id,
            symbol=token.symbol,
            quantity=quantity,
            system=True,
            writer=writer,
        )
        redeemed += 1
        cash_total += trade.cash
        notified += tell_owners(
            session,
            notifier,
            wallet_id,
            f"{token.symbol} was retired ({reason}). Your {trade.tokens} tokens were redeemed at "
            f"NAV for {fmt_cash(trade.cash)}, now in your wallet's cash; AI wallets will not "
            f"allocate to it again.",
        )
    if own_writer:
        writer.flush()
    session.flush()
    return WindDown(token.symbol, redeemed, cash_total, notified)
