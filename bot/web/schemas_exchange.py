"""Request and response bodies of the internal exchange and the proof of liabilities. Money (cash,
fees, reservations, prices in USD per token) is a decimal string with 6 decimals; token quantities
carry 18."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bot.web.schemas import DECIMAL, Body
from core.exchange.orders import MAX_DAYS


class OrderBody(Body):
    wallet_id: int = Field(ge=1, le=2**31 - 1, description="Your organisation's wallet id")
    quantity: str = Field(pattern=DECIMAL, description="Token units, a decimal string", examples=["100"])
    price: str = Field(pattern=DECIMAL, description="USD per token, a decimal string", examples=["1.01"])
    days: int | None = Field(
        None, ge=1, le=MAX_DAYS, description="Days the rest waits on the book (default 7)"
    )


class LevelOut(BaseModel):
    price: str
    quantity: str
    orders: int


class BookTrade(BaseModel):
    at: str | None
    price: str
    quantity: str


class BookOut(BaseModel):
    symbol: str
    status: str
    nav_per_token: str
    total_supply: str
    unissued: str
    asks: list[LevelOut] = Field(description="Best (lowest) price first")
    bids: list[LevelOut] = Field(description="Best (highest) price first")
    trades: list[BookTrade] = Field(description="Last trades, newest first")


class FillOut(BaseModel):
    fill_id: int
    price: str
    quantity: str
    cash: str = Field(description="Paid to the seller")
    fee: str = Field(description="Paid by the buyer on top")
    maker_order_id: int


class PlacedOut(BaseModel):
    order_id: int
    wallet_id: int
    side: str
    symbol: str
    price: str
    quantity: str
    filled: str
    remaining: str
    status: str
    cash_reserved: str
    expires_at: str
    fills: list[FillOut]


class OpenOrderOut(BaseModel):
    order_id: int
    side: str
    symbol: str
    price: str
    quantity: str
    remaining: str
    cash_reserved: str
    created_at: str | None
    expires_at: str | None


class CancelledOut(BaseModel):
    order_id: int
    symbol: str
    side: str
    status: str
    already_closed: bool
    released_cash: str
    released_units: str


class ChainHead(BaseModel):
    position: int
    hash: str


class ProofRootOut(BaseModel):
    as_of: str
    published_at: str
    root: str = Field(description="Merkle-sum root, hex")
    assets: list[str]
    totals: dict[str, str] = Field(description="Asset -> total liabilities (decimal strings)")
    wallet_count: int = Field(description="Leaves: organisation wallets covered")
    chain_head: ChainHead


class WalletProofOut(BaseModel):
    format: str
    as_of: str
    assets: list[str]
    decimals: dict[str, int]
    wallet_id: int
    salt: str = Field(description="Your wallet's secret salt: keep the proof private")
    balances: dict[str, str]
    path: list[dict[str, Any]]
    root: str
    totals: dict[str, str]
    chain_head: ChainHead
