"""Read-only summaries of tokens, wallets and platform AUM (for `arena status`, chat, digests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.ledger.fees import nav_of
from core.ledger.postings import get_account
from core.models import AIWallet, StrategyToken, TokenHolding
from core.money import CASH_QUANTUM, mul, round_down

ZERO = Decimal(0)


@dataclass(frozen=True)
class TokenSummary:
    symbol: str
    name: str
    status: str
    nav_per_token: Decimal
    aum: Decimal
    circulating_supply: Decimal
    total_supply: Decimal
    peak_nav: Decimal


@dataclass(frozen=True)
class PositionSummary:
    symbol: str
    quantity: Decimal
    value: Decimal
    avg_cost_basis: Decimal
    unrealized_pnl: Decimal


@dataclass(frozen=True)
class WalletSummary:
    wallet_id: int
    name: str
    organisation_id: int | None
    mode: str
    tier: str
    cash: Decimal
    positions: list[PositionSummary] = field(default_factory=list)

    @property
    def value(self) -> Decimal:
        return self.cash + sum((p.value for p in self.positions), ZERO)


def token_summaries(session: Session) -> list[TokenSummary]:
    return [
        TokenSummary(
            t.symbol,
            t.name,
            t.status.value,
            t.nav_per_token,
            t.aum,
            t.circulating_supply,
            t.total_supply,
            t.peak_nav,
        )
        for t in session.scalars(select(StrategyToken).order_by(StrategyToken.symbol))
    ]


def wallet_summary(session: Session, wallet: AIWallet) -> WalletSummary:
    positions = []
    rows = session.execute(
        select(TokenHolding, StrategyToken)
        .join(StrategyToken, StrategyToken.id == TokenHolding.token_id)
        .where(TokenHolding.wallet_id == wallet.id, TokenHolding.quantity > 0)
        .order_by(StrategyToken.symbol)
    )
    for holding, token in rows:
        value = round_down(mul(holding.quantity, nav_of(token)), CASH_QUANTUM)
        cost = mul(holding.quantity, holding.avg_cost_basis)
        positions.append(
            PositionSummary(
                token.symbol,
                holding.quantity,
                value,
                holding.avg_cost_basis,
                round_down(value - cost, CASH_QUANTUM),
            )
        )
    return WalletSummary(
        wallet.id,
        wallet.name,
        wallet.organisation_id,
        wallet.mode.value,
        wallet.tier.value,
        wallet.cash,
        positions,
    )


def wallet_summaries(session: Session, *, include_house: bool = False) -> list[WalletSummary]:
    query = select(AIWallet).order_by(AIWallet.id)
    if not include_house:
        query = query.where(AIWallet.is_house.is_(False))
    return [wallet_summary(session, w) for w in session.scalars(query)]


def platform_aum(session: Session) -> Decimal:
    """Sum of every token pool (the money invested in strategies), in USD."""
    return sum((t.aum for t in session.scalars(select(StrategyToken))), ZERO)


def insurance_fund_balance(session: Session) -> Decimal:
    account = get_account(session, "platform:insurance")
    return account.balance if account is not None else ZERO


def fee_income_balance(session: Session) -> Decimal:
    account = get_account(session, "platform:fees")
    return account.balance if account is not None else ZERO
