"""Request fingerprints for idempotency keys: equal requests hash equal, different ones never collide
because of decimal formatting or rounding."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import Database
from core.errors import IdempotencyConflict, ValidationError
from core.ledger.idempotency import check_key, request_hash, run_idempotent, stored_response
from core.models import IdempotencyKey

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


def test_the_fingerprint_is_sha256_of_the_sorted_canonical_json() -> None:
    """Stored fingerprints must stay stable across releases (a replay compares against keys written
    by older code), so the exact text hashed is pinned: keys sorted, decimals as plain text without
    trailing zeros, tuples as lists, nested dicts' keys as strings."""
    request = {"wallet": 1, "cash": Decimal("250.500"), "legs": (Decimal("1.0"), "x"), "m": {2: None}}
    text = '{"op": "token.buy", "req": {"cash": "250.5", "legs": ["1", "x"], "m": {"2": null}, "wallet": 1}}'
    assert request_hash("token.buy", request) == hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("bad", [None, 42, "", "\t\n"])
def test_a_missing_key_is_refused_in_one_line(bad: object) -> None:
    with pytest.raises(ValidationError, match=r"^an idempotency key is required for every change$"):
        check_key(bad)  # type: ignore[arg-type]


def test_an_overlong_key_names_the_limit() -> None:
    with pytest.raises(ValidationError, match=r"^idempotency key longer than 200 characters$"):
        check_key("k" * 201)
    assert check_key(" k ") == " k "  # kept as given, not stripped


def _effect(calls: list[int], reply: dict[str, Any]) -> Callable[[Session], dict[str, Any]]:
    def effect(session: Session) -> dict[str, Any]:
        calls.append(1)
        return reply

    return effect


def test_run_idempotent_runs_once_and_replays_the_stored_reply(sqlite_db: Database) -> None:
    calls: list[int] = []
    effect = _effect(calls, {"amount": Decimal("1.50"), "n": 3})
    first = run_idempotent(sqlite_db.uow(), "k-1", "demo.op", {"a": 1}, effect, dict)
    second = run_idempotent(sqlite_db.uow(), "k-1", "demo.op", {"a": 1}, effect, dict)
    assert first == second == {"amount": "1.5", "n": 3}  # the canonical (stored) form both times
    assert calls == [1]
    with sqlite_db.uow(read_only=True) as uow:
        row = uow.session.get(IdempotencyKey, "k-1")
        assert row is not None
        assert (row.operation, row.response) == ("demo.op", {"amount": "1.5", "n": 3})
        assert row.request_sha256 == request_hash("demo.op", {"a": 1})
        # written at the unit of work's clock (the simulated clock starts 2025-01-01 00:00 UTC)
        assert row.created_at.replace(tzinfo=None) == dt.datetime(2025, 1, 1)


def test_stored_response_reads_without_running_anything(sqlite_db: Database) -> None:
    with sqlite_db.uow() as uow:
        assert stored_response(uow.session, "k-2", "demo.op", {"a": 1}) is None
    run_idempotent(sqlite_db.uow(), "k-2", "demo.op", {"a": 1}, _effect([], {"ok": True}), dict)
    with sqlite_db.uow() as uow:
        assert stored_response(uow.session, "k-2", "demo.op", {"a": 1}) == {"ok": True}
        conflict = (
            "idempotency key 'k-2' was already used for a different request (demo.op); use a new key"
        )
        with pytest.raises(IdempotencyConflict, match=f"^{re.escape(conflict)}$"):
            stored_response(uow.session, "k-2", "demo.op", {"a": 2})
        with pytest.raises(IdempotencyConflict):
            stored_response(uow.session, "k-2", "other.op", {"a": 1})
        with pytest.raises(ValidationError):
            stored_response(uow.session, "", "demo.op", {"a": 1})


def test_a_failed_effect_consumes_no_key(sqlite_db: Database) -> None:
    def refuse(session: Session) -> dict[str, Any]:
        raise ValidationError("no")

    with pytest.raises(ValidationError):
        run_idempotent(sqlite_db.uow(), "k-3", "demo.op", {"a": 1}, refuse, dict)
    calls: list[int] = []
    run_idempotent(sqlite_db.uow(), "k-3", "demo.op", {"a": 2}, _effect(calls, {"ok": 1}), dict)
    assert calls == [1]


def _insert_key(
    connection: Any, key: str, operation: str, request: dict[str, Any], reply: dict[str, Any]
) -> None:
    connection.execute(
        insert(IdempotencyKey).values(
            key=key,
            operation=operation,
            request_sha256=request_hash(operation, request),
            response=reply,
            created_at=dt.datetime(2025, 1, 1),
        )
    )


def test_a_key_taken_inside_the_effect_fails_the_request_and_writes_nothing(sqlite_db: Database) -> None:
    """The insert of the key row fails (the key is already there, and no committed winner holds it):
    the whole transaction rolls back and the database error surfaces, not a made-up reply."""

    def takes_the_key(session: Session) -> dict[str, Any]:
        _insert_key(session.connection(), "k-4", "demo.op", {"a": 1}, {"by": "effect"})
        return {"ok": True}

    with pytest.raises(IntegrityError):
        run_idempotent(sqlite_db.uow(), "k-4", "demo.op", {"a": 1}, takes_the_key, dict)
    with sqlite_db.uow(read_only=True) as uow:
        assert uow.session.get(IdempotencyKey, "k-4") is None


def test_the_loser_of_a_race_returns_the_winners_reply(pg_db: Database) -> None:
    """PostgreSQL: another transaction commits the same key (same request) while this one runs its
    effect; this one's insert then fails, it rolls back, and returns the winner's stored reply."""
    calls: list[int] = []

    def effect(session: Session) -> dict[str, Any]:
        calls.append(1)
        with pg_db.engine.begin() as other:  # the winner, committed first
            _insert_key(other, "k-5", "demo.op", {"a": 1}, {"by": "winner"})
        return {"by": "loser"}

    reply = run_idempotent(pg_db.uow(), "k-5", "demo.op", {"a": 1}, effect, dict)
    assert reply == {"by": "winner"} and calls == [1]
    with pytest.raises(IdempotencyConflict):  # the winner's key, another request: a conflict
        run_idempotent(pg_db.uow(), "k-6", "demo.op", {"a": 1}, _race(pg_db, "k-6", {"a": 2}), dict)


def _race(db: Database, key: str, request: dict[str, Any]) -> Callable[[Session], dict[str, Any]]:
    def effect(session: Session) -> dict[str, Any]:
        with db.engine.begin() as other:
            _insert_key(other, key, "demo.op", request, {"by": "winner"})
        return {"by": "loser"}

    return effect
