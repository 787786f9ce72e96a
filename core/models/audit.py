"""Audit tables: the head of the ledger's hash chain and the published proofs of liabilities.

* :class:`LedgerChainHead` — one row (id 1): the last chained transaction's position and hash.
  Writers lock it last, just before commit (see ``core.audit.chain``).
* :class:`LiabilityPublication` — one per day: the Merkle-sum-tree root over every organisation
  wallet's balances, the totals per asset (decimal strings: USD and token units) and the chain head
  it was taken at. :class:`LiabilityLeaf` keeps each wallet's leaf so its inclusion proof can be
  rebuilt later; :class:`WalletAuditSalt` is each wallet's secret salt (hex), given only to it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base


class LedgerChainHead(Base):
    __tablename__ = "ledger_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
    transaction_id: Mapped[int | None]
    updated_at: Mapped[datetime]


class LiabilityPublication(Base):
    __tablename__ = "liability_publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, unique=True)
    published_at: Mapped[datetime]
    root_hash: Mapped[str] = mapped_column(String(64))
    assets: Mapped[list[Any]]  # asset names in leaf order: "USD", then token symbols sorted
    totals: Mapped[dict[str, Any]]  # asset -> decimal string (the root's sums)
    wallet_count: Mapped[int]
    chain_seq: Mapped[int]  # the ledger chain head the balances were read at
    chain_hash: Mapped[str] = mapped_column(String(64))


class LiabilityLeaf(Base):
    __tablename__ = "liability_leaves"
    __table_args__ = (UniqueConstraint("publication_id", "wallet_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("liability_publications.id"), index=True)
    position: Mapped[int]
    wallet_id: Mapped[int] = mapped_column(ForeignKey("ai_wallets.id"))
    amounts: Mapped[list[Any]]  # integer minor units per asset (as strings), in ``assets`` order
    leaf_hash: Mapped[str] = mapped_column(String(64))


class WalletAuditSalt(Base):
    __tablename__ = "wallet_audit_salts"

    wallet_id: Mapped[int] = mapped_column(ForeignKey("ai_wallets.id"), primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
