"""The pre-trade check registry (``core.ledger.guards``) as its docstring states it: unconfigured, a
trade is refused; registering a check (or declaring none) configures the process; checks are named,
replaceable, removable, listed in name order, and every one runs with the trade's session and intent.
Each test starts from a fresh-process registry and the fixture restores the real one afterwards."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any, cast

import pytest
from sqlalchemy.orm import Session

from core.errors import TradingHalted
from core.ledger import guards
from core.ledger.guards import ChecksNotInstalled, TradeIntent
from core.models import AIWallet, StrategyToken

pytestmark = pytest.mark.usefixtures("unconfigured_ledger")

SESSION = cast(Session, object())
INTENT = TradeIntent(
    side="buy",
    token=cast(StrategyToken, object()),
    wallet=cast(AIWallet, object()),
    cash=Decimal("250"),
    tokens=Decimal("250"),
    system=False,
    now=dt.datetime(2026, 12, 1, 9, 0),
)
NOT_INSTALLED = (
    "pre-trade checks were never installed: the entry point's composition root must call "
    "core.risk.install() before trading (or configure_without_checks() in a bare-ledger test)"
)


class Recorder:
    """A check that records each call (session, intent) under its name in a shared list."""

    def __init__(self, name: str, calls: list[tuple[str, Any, Any]]) -> None:
        self.name, self.calls = name, calls

    def __call__(self, session: Session, intent: TradeIntent) -> None:
        self.calls.append((self.name, session, intent))


def test_a_fresh_process_refuses_to_trade() -> None:
    assert guards.installed() == []
    with pytest.raises(ChecksNotInstalled) as raised:
        guards.run_checks(SESSION, INTENT)
    assert str(raised.value) == NOT_INSTALLED


def test_registering_a_check_configures_and_runs_it_with_the_trade() -> None:
    calls: list[tuple[str, Any, Any]] = []
    guards.register_check("breaker", Recorder("breaker", calls))
    guards.run_checks(SESSION, INTENT)
    assert calls == [("breaker", SESSION, INTENT)]
    assert guards.installed() == ["breaker"]


def test_every_check_runs_and_installed_lists_them_by_name() -> None:
    calls: list[tuple[str, Any, Any]] = []
    guards.register_check("limit", Recorder("limit", calls))
    guards.register_check("breaker", Recorder("breaker", calls))
    assert guards.installed() == ["breaker", "limit"]
    guards.run_checks(SESSION, INTENT)
    assert sorted(name for name, _, _ in calls) == ["breaker", "limit"]
    assert all(s is SESSION and i is INTENT for _, s, i in calls)


def test_registering_a_name_again_replaces_the_check() -> None:
    calls: list[tuple[str, Any, Any]] = []
    guards.register_check("breaker", Recorder("old", calls))
    guards.register_check("breaker", Recorder("new", calls))
    guards.run_checks(SESSION, INTENT)
    assert [name for name, _, _ in calls] == ["new"]
    assert guards.installed() == ["breaker"]


def test_a_refusing_check_stops_the_trade() -> None:
    def halted(session: Session, intent: TradeIntent) -> None:
        raise TradingHalted(f"trading is halted ({intent.side})")

    guards.register_check("breaker", halted)
    with pytest.raises(TradingHalted, match=r"^trading is halted \(buy\)$"):
        guards.run_checks(SESSION, INTENT)


def test_unregistering_removes_one_check_and_keeps_the_process_configured() -> None:
    calls: list[tuple[str, Any, Any]] = []
    guards.register_check("breaker", Recorder("breaker", calls))
    guards.register_check("limit", Recorder("limit", calls))
    guards.unregister_check("breaker")
    guards.unregister_check("never-registered")  # removing an unknown name is not an error
    assert guards.installed() == ["limit"]
    guards.run_checks(SESSION, INTENT)
    assert [name for name, _, _ in calls] == ["limit"]
    guards.unregister_check("limit")
    guards.run_checks(SESSION, INTENT)  # still configured: no check left, the trade passes
    assert len(calls) == 1


def test_configuring_without_checks_drops_every_check_and_allows_trading() -> None:
    calls: list[tuple[str, Any, Any]] = []
    guards.register_check("breaker", Recorder("breaker", calls))
    guards.configure_without_checks()
    assert guards.installed() == []
    guards.run_checks(SESSION, INTENT)
    assert calls == []


def test_reset_returns_to_a_fresh_process() -> None:
    calls: list[tuple[str, Any, Any]] = []
    guards.register_check("breaker", Recorder("breaker", calls))
    guards.reset()
    assert guards.installed() == []
    with pytest.raises(ChecksNotInstalled):
        guards.run_checks(SESSION, INTENT)
    guards.configure_without_checks()
    guards.run_checks(SESSION, INTENT)
    guards.reset()
    with pytest.raises(ChecksNotInstalled):
        guards.run_checks(SESSION, INTENT)
    assert calls == []


def test_a_trade_intent_cannot_be_changed() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        INTENT.side = "redeem"  # type: ignore[misc]
