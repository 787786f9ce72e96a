"""Typed results of ledger services. They round-trip through JSON (decimals as strings), which is
how an idempotent replay returns exactly the reply the first call produced."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Self, get_type_hints


class _Result:
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            out[f.name] = format(value, "f") if isinstance(value, Decimal) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        kwargs: dict[str, Any] = {}
        for name, is_decimal in _fields_of(cls):
            value = data.get(name)
            if value is not None and is_decimal:
                value = Decimal(str(value))
            kwargs[name] = value
        return cls(**kwargs)


_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {}


def _fields_of(cls: type) -> tuple[tuple[str, bool], ...]:
    """(field name, is a Decimal) per field, cached: ``get_type_hints`` is too slow per reply."""
    fields = _FIELDS.get(cls)
    if fields is None:
        hints = get_type_hints(cls)
        fields = _FIELDS[cls] = tuple(
            (f.name, "Decimal" in str(hints[f.name])) for f in dataclasses.fields(cls)
        )
    return fields


@dataclass(frozen=True)
class WalletCreated(_Result):
    wallet_id: int
    organisation_id: int | None
    name: str
    mode: str
    tier: str


@dataclass(frozen=True)
class CashMoved(_Result):
    wallet_id: int
    amount: Decimal
    cash_balance: Decimal
    transaction_id: int


@dataclass(frozen=True)
class TokenCreated(_Result):
    token_id: int
    symbol: str
    total_supply: Decimal
    nav_per_token: Decimal
    status: str
    seed_tokens: Decimal
    seed_cash: Decimal


@dataclass(frozen=True)
class Trade(_Result):
    side: str  # "buy" or "redeem"
    wallet_id: int
    symbol: str
    tokens: Decimal
    cash: Decimal
    nav_per_token: Decimal
    fees_settled: Decimal
    cash_balance: Decimal
    token_balance: Decimal
    avg_cost_basis: Decimal
    transaction_id: int


@dataclass(frozen=True)
class NavMarked(_Result):
    symbol: str
    as_of: str
    daily_return: Decimal
    nav_per_token: Decimal
    aum: Decimal
    management_fee: Decimal
    performance_fee: Decimal
    already_marked: bool
