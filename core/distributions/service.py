"""Token distributions: accumulate (the default) or pay realised yield to holders in cash each month.

Policy. A token without a :class:`DistributionPolicy` row, or with ``accumulate``, keeps its yield in
NAV (as before). A ``distribute`` token pays, at a monthly record date, what its NAV gained above its
distribution base (``base_nav``, a high-water mark set to the NAV when the policy is switched on and
to the NAV after each distribution). The ledger does not split a NAV mark into interest and price,
so *what counts as realised yield* follows the strategy's family: an income strategy
(:data:`INCOME_FAMILIES`: lending, yield rotation, leveraged lending, staking) earns only interest,
so its gain above the base is realised yield and is paid; any other token pays only with
``include_gains`` (its gains above the base, i.e. above the high-water mark).

Arithmetic (USD, ``Decimal``): the management fee is settled first (as before any trade); then
``per_unit = round_down(pool / circulating - base_nav, NAV_QUANTUM)``; each holding wallet (free +
reserved units, the house wallet's seed units included) gets ``round_down(units x per_unit,
CASH_QUANTUM)`` into its free cash; the pool pays exactly the sum, so the token's AUM (and NAV x
circulating) falls by exactly the amount paid, and the rounding dust stays in the pool. The
performance-fee high-water mark and the kill switch's peak NAV fall by the NAV drop, so a payout is
neither a loss nor a drawdown. One distribution per token and month (``period`` ``YYYY-MM``, unique):
a second run for the same month returns the first one and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.bounty.service import accrue_token_in, lower_hwm_in
from core.db import UnitOfWork
from core.errors import TokenNotTradable, ValidationError
from core.formatting import cash, nav, quantity
from core.ledger.cash import wallet_cash_account
from core.ledger.fees import nav_of, pool_account, refresh_nav, settle_management_fee
from core.ledger.idempotency import run_idempotent
from core.ledger.locks import lock_token, lock_wallets, normalise_symbol
from core.ledger.postings import LedgerWriter, Leg
from core.models import AIWallet, AuditLog, StrategyToken, TokenHolding, TokenStatus
from core.models.money import Distribution, DistributionPayment, DistributionPolicy, PayoutPolicy
from core.money import CASH_QUANTUM, NAV_QUANTUM, ZERO, mul, round_down
from core.notify import Notifier
from core.statements.builder import parse_month

INCOME_FAMILIES = frozenset({"lending", "yield_rotation", "leveraged_lending", "staking"})


@dataclass(frozen=True, slots=True)
class DistributionResult:
    symbol: str
    period: str
    per_unit: Decimal
    amount: Decimal
    dust: Decimal
    nav_before: Decimal
    nav_after: Decimal
    holders: int
    already: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "period": self.period,
            "per_unit": format(self.per_unit, "f"),
            "amount": format(self.amount, "f"),
            "dust": format(self.dust, "f"),
            "nav_before": format(self.nav_before, "f"),
            "nav_after": format(self.nav_after, "f"),
            "holders": self.holders,
            "already": self.already,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DistributionResult:
        return cls(
            d["symbol"],
            d["period"],
            Decimal(d["per_unit"]),
            Decimal(d["amount"]),
            Decimal(d["dust"]),
            Decimal(d["nav_before"]),
            Decimal(d["nav_after"]),
            int(d["holders"]),
            bool(d["already"]),
        )


def _stored(dist: Distribution, symbol: str) -> DistributionResult:
    return DistributionResult(
        symbol,
        dist.period,
        dist.per_unit,
        dist.amount,
        dist.dust,
        dist.nav_before,
        dist.nav_after,
        dist.holders,
        True,
    )


# --- policy --------------------------------------------------------------------------------------


def set_policy_in(
    session: Session, now: datetime, symbol: str, policy: str, *, include_gains: bool = False
) -> DistributionPolicy:
    """Switch a token to ``accumulate`` or ``distribute``. Switching on sets the distribution base
    to the current NAV (gains made before are not paid); a token already distributing keeps its base."""
    try:
        wanted = PayoutPolicy(policy)
    except ValueError:
        raise ValidationError(
            f"distribution policy must be accumulate or distribute, got {policy!r}"
        ) from None
    token = lock_token(session, symbol)
    row = session.get(DistributionPolicy, token.id)
    if row is None:
        row = DistributionPolicy(
            token_id=token.id,
            policy=wanted,
            include_gains=include_gains,
            base_nav=token.nav_per_token,
            updated_at=now,
        )
        session.add(row)
    else:
        if wanted is PayoutPolicy.DISTRIBUTE and row.policy is not PayoutPolicy.DISTRIBUTE:
            row.base_nav = token.nav_per_token
        row.policy, row.include_gains, row.updated_at = wanted, include_gains, now
    session.add(
        AuditLog(
            at=now,
            actor="system",
            action="token.distribution_policy",
            subject=token.symbol,
            details={
                "policy": wanted.value,
                "include_gains": include_gains,
                "base_nav": format(row.base_nav, "f"),
            },
        )
    )
    session.flush()
    return row


def set_policy(
    uow: UnitOfWork, symbol: str, policy: str, *, include_gains: bool = False, idempotency_key: str
) -> dict[str, Any]:
    clean = normalise_symbol(symbol)

    def effect(session: Session) -> dict[str, Any]:
        row = set_policy_in(session, uow.clock.now(), clean, policy, include_gains=include_gains)
        return {
            "symbol": clean,
            "policy": row.policy.value,
            "include_gains": row.include_gains,
            "base_nav": format(row.base_nav, "f"),
        }

    request = {"symbol": clean, "policy": policy, "include_gains": include_gains}
    return run_idempotent(uow, idempotency_key, "token.distribution_policy", request, effect, dict)


def pays_out(token: StrategyToken, policy: DistributionPolicy | None) -> bool:
    """Whether the token distributes (policy) and has realised yield to pay (family or gains)."""
    if policy is None or policy.policy is not PayoutPolicy.DISTRIBUTE:
        return False
    family = token.agent.family if token.agent is not None else None
    return policy.include_gains or family in INCOME_FAMILIES


# --- paying --------------------------------------------------------------------------------------


def distribute_in(
    session: Session, now: datetime, symbol: str, period: str, notifier: Notifier | None = None
) -> DistributionResult | None:
    """Pay the token's distribution for ``period`` to its holders now (the record date); ``None``
    when the token accumulates. Idempotent per token and period."""
    parse_month(period)
    token = lock_token(session, symbol)
    done = session.scalars(
        select(Distribution).where(Distribution.token_id == token.id, Distribution.period == period)
    ).one_or_none()
    if done is not None:
        return _stored(done, token.symbol)
    policy = session.get(DistributionPolicy, token.id)
    if policy is None or not pays_out(token, policy):
        return None
    if token.status is TokenStatus.RETIRED:
        raise TokenNotTradable(f"{token.symbol} is retired; it no longer distributes")
    holdings = session.execute(
        select(TokenHolding.wallet_id, TokenHolding.quantity)
        .where(TokenHolding.token_id == token.id, TokenHolding.quantity > 0)
        .order_by(TokenHolding.wallet_id)
    ).all()
    wallets = lock_wallets(session, [w for w, _ in holdings])  # the lock order: token, wallets, accounts
    writer = LedgerWriter(session, now)
    accrue_token_in(session, now, token, writer)  # the bounty measures the marks before the payout
    settle_management_fee(session, writer, token, now)
    nav_before = round_down(nav_of(token), NAV_QUANTUM)
    per_unit = max(ZERO, round_down(nav_of(token) - policy.base_nav, NAV_QUANTUM))
    payments = [(w, q, round_down(mul(q, per_unit), CASH_QUANTUM)) for w, q in holdings]
    payments = [p for p in payments if p[2] > 0]
    txn_id = _post_payments(session, writer, token, wallets, payments, period, per_unit)
    writer.flush()
    total = _apply_payments(session, token, wallets, payments, nav_before)
    policy.base_nav, policy.updated_at = token.nav_per_token, now
    dist = _record(session, now, token, period, nav_before, per_unit, payments, txn_id)
    if notifier is not None:
        _tell_holders(session, notifier, token, dist, payments)
    return DistributionResult(
        token.symbol, period, per_unit, total, dist.dust, nav_before, token.nav_per_token, len(payments)
    )


Payments = list[tuple[int, Decimal, Decimal]]  # (wallet id, units, USD paid)


def _post_payments(
    session: Session,
    writer: LedgerWriter,
    token: StrategyToken,
    wallets: dict[int, AIWallet],
    payments: Payments,
    period: str,
    per_unit: Decimal,
) -> int | None:
    """One ledger transaction: the pool pays exactly the sum of the holders' payments."""
    total = sum((amount for _, _, amount in payments), ZERO)
    if total <= 0:
        return None
    now = writer.now
    legs = [Leg(pool_account(session, token, now), -total)] + [
        Leg(wallet_cash_account(session, wallets[w], now), amount) for w, _, amount in payments
    ]
    details = {"period": period, "per_unit": format(per_unit, "f")}
    return writer.post("distribution.pay", legs, token_id=token.id, details=details).id


def _apply_payments(
    session: Session,
    token: StrategyToken,
    wallets: dict[int, AIWallet],
    payments: Payments,
    nav_before: Decimal,
) -> Decimal:
    """Rows follow the ledger: AUM and cash move by the payments; the performance-fee HWM, the kill
    switch's peak and the bounty's HWM fall by the NAV drop. Returns the total paid."""
    total = sum((amount for _, _, amount in payments), ZERO)
    token.aum -= total
    for w, _, amount in payments:
        wallets[w].cash += amount
    refresh_nav(token)
    drop = nav_before - token.nav_per_token
    token.high_water_mark = max(ZERO, token.high_water_mark - drop)
    token.peak_nav = max(ZERO, token.peak_nav - drop)
    lower_hwm_in(session, token, drop)
    return total


def _record(
    session: Session,
    now: datetime,
    token: StrategyToken,
    period: str,
    nav_before: Decimal,
    per_unit: Decimal,
    payments: Payments,
    txn_id: int | None,
) -> Distribution:
    total = sum((amount for _, _, amount in payments), ZERO)
    dist = Distribution(
        token_id=token.id,
        period=period,
        record_at=now,
        nav_before=nav_before,
        base_nav=token.nav_per_token,
        per_unit=per_unit,
        circulating=token.circulating_supply,
        amount=total,
        dust=mul(per_unit, token.circulating_supply) - total,
        nav_after=token.nav_per_token,
        holders=len(payments),
        transaction_id=txn_id,
        created_at=now,
    )
    session.add(dist)
    session.flush()
    session.add_all(
        DistributionPayment(distribution_id=dist.id, wallet_id=w, units=q, amount=amount)
        for w, q, amount in payments
    )
    session.flush()
    return dist


def _tell_holders(
    session: Session, notifier: Notifier, token: StrategyToken, dist: Distribution, payments: Payments
) -> None:
    from core.wallets.notices import tell_owners  # core.wallets builds on the ledger, not vice versa

    for wallet_id, units, amount in payments:
        wallet = session.get(AIWallet, wallet_id)
        if wallet is None or wallet.is_house:
            continue
        tell_owners(
            session,
            notifier,
            wallet_id,
            (
                f"{token.symbol} paid its {dist.period} distribution: {cash(amount)} into your wallet for "
                f"{quantity(units)} units ({nav(dist.per_unit)} per unit). Its NAV fell by the amount paid, "
                f"from {nav(dist.nav_before)} to {nav(dist.nav_after)}; /wallet shows your cash."
            ),
        )


def distribute(
    uow: UnitOfWork, symbol: str, period: str, *, notifier: Notifier | None = None
) -> DistributionResult | None:
    """One token's distribution for ``period``, in its own transaction. Idempotent through the
    unique (token, period) row, not a request key: a month in which the token did not pay yet
    (accumulating, or not configured) can still pay later in that month."""
    clean = normalise_symbol(symbol)
    with uow:
        result = distribute_in(uow.session, uow.clock.now(), clean, period, notifier)
        uow.commit()
    return result


def distributing_symbols(session: Session) -> list[str]:
    """Tokens set to distribute that are not retired, by symbol."""
    return list(
        session.scalars(
            select(StrategyToken.symbol)
            .join(DistributionPolicy, DistributionPolicy.token_id == StrategyToken.id)
            .where(
                DistributionPolicy.policy == PayoutPolicy.DISTRIBUTE,
                StrategyToken.status != TokenStatus.RETIRED,
            )
            .order_by(StrategyToken.symbol)
        )
    )


def policy_line(session: Session, token: StrategyToken) -> str:
    """What the token card says about its yield: accumulated, or distributed (and the last payment)."""
    policy = session.get(DistributionPolicy, token.id)
    if not pays_out(token, policy):
        return "Yield: accumulated in NAV (not distributed)"
    last = session.scalars(
        select(Distribution).where(Distribution.token_id == token.id).order_by(Distribution.period.desc())
    ).first()
    gains = " including gains above its high-water mark" if policy and policy.include_gains else ""
    paid = f"; last: {last.period}, {nav(last.per_unit)} per unit" if last is not None else ""
    return f"Yield: distributed in cash on the 1st of each month{gains}{paid}"
