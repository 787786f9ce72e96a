"""Typed results of exchange services; they round-trip through JSON (decimals as strings) so an
idempotent replay returns exactly the first reply. Units: USD, token units, USD per token."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.ledger.results import _Result


@dataclass(frozen=True)
class FillResult(_Result):
    fill_id: int
    symbol: str
    price: Decimal
    quantity: Decimal
    cash: Decimal  # paid to the seller
    fee: Decimal  # paid by the buyer on top
    ask_order_id: int
    bid_order_id: int
    maker_order_id: int
    seller_wallet_id: int
    buyer_wallet_id: int
    transaction_id: int


@dataclass(frozen=True)
class OrderResult(_Result):
    order_id: int
    wallet_id: int
    side: str
    symbol: str
    price: Decimal
    quantity: Decimal
    remaining: Decimal
    status: str
    cash_reserved: Decimal
    expires_at: str  # ISO 8601 UTC
    close_reason: str | None = None
    fills: list[FillResult] = field(default_factory=list)

    @property
    def filled(self) -> Decimal:
        return sum((f.quantity for f in self.fills), Decimal(0))

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["fills"] = [f.to_dict() for f in self.fills]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrderResult:
        plain = {k: v for k, v in data.items() if k != "fills"}
        base = super().from_dict({**plain, "fills": None})
        fills = [FillResult.from_dict(f) for f in data.get("fills") or []]
        return OrderResult(**{**base.__dict__, "fills": fills})


@dataclass(frozen=True)
class OrderClosed(_Result):
    order_id: int
    wallet_id: int
    symbol: str
    side: str
    status: str  # cancelled / expired (or filled when it was already closed)
    released_cash: Decimal
    released_units: Decimal
    already_closed: bool
