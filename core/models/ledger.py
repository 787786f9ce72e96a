"""Double-entry ledger tables.

A :class:`LedgerTransaction` groups :class:`Posting` rows whose amounts sum to zero per asset.
Postings are append-only (a trigger refuses UPDATE and DELETE). ``LedgerAccount.balance`` is a
cached running balance updated in the same database transaction as its postings; ``arena ledger
check`` verifies it against the postings.

Assets: ``"USD"`` for cash (a USD stablecoin, 6 decimals) and a token's symbol for its units
(18 decimals). Signed amounts: positive = debit into the account.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, enum_column

CASH_ASSET = "USD"


class AccountKind(enum.StrEnum):
    WALLET_CASH = "wallet_cash"  # an AI wallet's cash (USD)
    WALLET_TOKENS = "wallet_tokens"  # an AI wallet's units of one token
    TOKEN_POOL = "token_pool"  # a token's AUM (USD) — the money behind its NAV
    TOKEN_UNISSUED = "token_unissued"  # a token's unissued units (starts at total_supply)
    TOKEN_MINT = "token_mint"  # counter-leg of the supply cap minted at tokenization (-total_supply)
    EXTERNAL = "external"  # the outside world: deposits come from here (may go negative)
    STRATEGY_PNL = "strategy_pnl"  # counterparty of NAV marks (may go negative)
    FEE_INCOME = "fee_income"  # platform revenue (USD)
    INSURANCE_FUND = "insurance_fund"  # 5 % of every fee (USD)
    PLATFORM_SEED = "platform_seed"  # platform capital that seeds each token pool
    TRADING_COSTS = "trading_costs"  # commissions charged on rebalances
    WALLET_CASH_RESERVED = "wallet_cash_reserved"  # a wallet's cash locked by open exchange bids
    WALLET_TOKENS_RESERVED = "wallet_tokens_reserved"  # a wallet's units locked by open exchange asks
    BOUNTY_PAYABLE = "bounty_payable"  # import bounty accrued to an organisation, not yet paid (USD)


#: Account kinds that represent the outside world and may legitimately hold negative balances.
NEGATIVE_ALLOWED = frozenset(
    {AccountKind.EXTERNAL, AccountKind.STRATEGY_PNL, AccountKind.PLATFORM_SEED, AccountKind.TOKEN_MINT}
)


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(120), unique=True)  # e.g. "wallet:3:cash"
    kind: Mapped[AccountKind] = mapped_column(
        enum_column(AccountKind, "account_kind", 32)
    )
    asset: Mapped[str] = mapped_column(String(64))
    wallet_id: Mapped[int | None] = mapped_column(ForeignKey("ai_wallets.id"), index=True)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("strategy_tokens.id"), index=True)
    balance: Mapped[Decimal] = mapped_column(default=Decimal(0))
    created_at: Mapped[datetime]


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # deposit, withdraw, buy, redeem, mark, fee, seed...
    created_at: Mapped[datetime] = mapped_column(index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    wallet_id: Mapped[int | None] = mapped_column(ForeignKey("ai_wallets.id"), index=True)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("strategy_tokens.id"), index=True)
    memo: Mapped[str | None] = mapped_column(String(500))
    details: Mapped[dict[str, Any] | None]
    # Hash chain (core.audit.chain): position in the chain and SHA-256 (hex) of the previous hash
    # and this transaction's canonical encoding. Set once, just before the commit that writes it.
    chain_seq: Mapped[int | None]
    hash: Mapped[str | None] = mapped_column(String(64))

    postings: Mapped[list[Posting]] = relationship(back_populates="transaction")


class Posting(Base):
    """One leg of a transaction. Append-only."""

    __tablename__ = "postings"
    __table_args__ = (Index("ix_postings_account_id_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    asset: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal]

    transaction: Mapped[LedgerTransaction] = relationship(back_populates="postings")


class IdempotencyKey(Base):
    """A consumed idempotency key and the reply it produced.

    Written in the same database transaction as the effect, so a rolled-back (rejected) request
    consumes no key.
    """

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    operation: Mapped[str] = mapped_column(String(60))
    request_sha256: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(120))  # "user:12", "system", "scheduler:job"
    action: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str | None] = mapped_column(String(120))
    details: Mapped[dict[str, Any] | None]
