"""Ledger replies round-trip through JSON exactly (``core.ledger.results``): decimals become plain
text with every digit and no exponent, other fields pass unchanged, and ``from_dict`` turns that text
back into equal decimals (a missing field becomes ``None``). That is how an idempotent replay returns
the first call's reply."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal as D

from core.ledger.results import CashMoved, NavMarked, Trade, WalletCreated, _Result

TRADE = Trade(
    side="buy",
    wallet_id=7,
    symbol="STRAT-YIELD-USDC-001",
    tokens=D("249.750249750249750250"),
    cash=D("250.000000"),
    nav_per_token=D("1.001"),
    fees_settled=D("0"),
    cash_balance=D("1E+3"),  # an exponent in, plain text out
    token_balance=D("249.750249750249750250"),
    avg_cost_basis=D("1.001000000000000000"),
    transaction_id=42,
)


def test_decimals_become_plain_text_with_every_digit() -> None:
    assert TRADE.to_dict() == {
        "side": "buy",
        "wallet_id": 7,
        "symbol": "STRAT-YIELD-USDC-001",
        "tokens": "249.750249750249750250",
        "cash": "250.000000",
        "nav_per_token": "1.001",
        "fees_settled": "0",
        "cash_balance": "1000",
        "token_balance": "249.750249750249750250",
        "avg_cost_basis": "1.001000000000000000",
        "transaction_id": 42,
    }


def test_a_reply_survives_json_and_back() -> None:
    stored = json.loads(json.dumps(TRADE.to_dict()))
    again = Trade.from_dict(stored)
    assert again == TRADE
    assert isinstance(again.tokens, D) and isinstance(again.wallet_id, int)
    assert again.tokens.as_tuple() == D("249.750249750249750250").as_tuple()  # digits kept


def test_non_decimal_fields_pass_unchanged() -> None:
    created = WalletCreated(
        wallet_id=3, organisation_id=None, name="Grace Chapel", mode="manual", tier="free"
    )
    assert created.to_dict() == {
        "wallet_id": 3,
        "organisation_id": None,
        "name": "Grace Chapel",
        "mode": "manual",
        "tier": "free",
    }
    assert WalletCreated.from_dict(created.to_dict()) == created
    marked = NavMarked("STRAT-A-X-001", "2026-12-01", D("0.012"), D("1.012"), D("101.2"), D(0), D(0), True)
    back = NavMarked.from_dict(json.loads(json.dumps(marked.to_dict())))
    assert back == marked and back.already_marked is True and back.as_of == "2026-12-01"


def test_a_missing_field_comes_back_as_none_and_numbers_as_decimals() -> None:
    moved = CashMoved.from_dict({"wallet_id": 5, "amount": "12.5", "cash_balance": 100})
    assert moved == CashMoved(5, D("12.5"), D("100"), None)  # type: ignore[arg-type]
    assert isinstance(moved.cash_balance, D)
    # A float reply (never stored by the ledger) is read through its text, not its binary value.
    assert CashMoved.from_dict({"amount": 0.1}).amount == D("0.1")


def test_a_new_result_type_learns_which_fields_are_decimals() -> None:
    """A class defined here, so its field table is built by this call (not cached by earlier replies):
    only the Decimal-typed fields are read back as decimals, optional ones included."""

    @dataclass(frozen=True)
    class Quote(_Result):
        symbol: str
        count: int
        price: D
        limit: D | None

    quote = Quote.from_dict({"symbol": "1.5", "count": 2, "price": "0.10", "limit": "7"})
    assert quote == Quote("1.5", 2, D("0.10"), D(7))
    assert isinstance(quote.symbol, str) and isinstance(quote.count, int)
    assert Quote.from_dict({"symbol": "S", "count": 1, "price": "1"}).limit is None
