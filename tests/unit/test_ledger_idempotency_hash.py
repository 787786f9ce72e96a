"""Request fingerprints for idempotency keys: equal requests hash equal, different ones never collide
because of decimal formatting or rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import ValidationError
from core.ledger.idempotency import check_key, request_hash

# Ledger arithmetic in isolation: no platform-risk trade checks (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("pure_ledger")


def test_equal_amounts_in_any_spelling_hash_equal() -> None:
    a = request_hash("token.buy", {"wallet": 1, "symbol": "S", "cash": Decimal("250.5")})
    b = request_hash("token.buy", {"symbol": "S", "cash": Decimal("250.500000"), "wallet": 1})
    assert a == b


def test_digits_beyond_28_still_distinguish_requests() -> None:
    """Two redeems differing in the 31st significant digit are different requests (before the fix,
    Decimal.normalize() rounded both to 28 digits and the second was replayed as the first)."""
    one = request_hash("token.redeem", {"quantity": Decimal("1000000000000.000000000000000001")})
    two = request_hash("token.redeem", {"quantity": Decimal("1000000000000.000000000000000002")})
    assert one != two


@pytest.mark.parametrize(
    ("field", "other"),
    [("op", "token.redeem"), ("wallet", 2), ("cash", Decimal("250.500001")), ("symbol", "T")],
)
def test_any_difference_changes_the_hash(field: str, other: object) -> None:
    base = {"wallet": 1, "symbol": "S", "cash": Decimal("250.5")}
    op = "token.buy"
    changed = dict(base)
    if field == "op":
        op = str(other)
    else:
        changed[field] = other
    assert request_hash("token.buy", base) != request_hash(op, changed)


@pytest.mark.parametrize("bad", ["", "   ", "x" * 201])
def test_keys_are_required_and_bounded(bad: str) -> None:
    with pytest.raises(ValidationError):
        check_key(bad)
    assert check_key("x" * 200) == "x" * 200
