"""The ledger's Hypothesis state machine with the exchange: place (which matches), cancel and expire,
against the shadow model extended with an order book computed here from the rules alone.

The shadow keeps each wallet's *free* cash and units (what buys, redeems and withdrawals may spend)
and, separately, what open orders reserve; the database must agree to the last digit: free
accounts = shadow free, reserved accounts and mirror columns = shadow reserved, holdings = free +
reserved. Two organisations: A and C (org 1) and B (org 2), so A/C orders that would meet each other
are refused (no self-trade). Every base rule (deposit, withdraw, tokenize, buy, redeem, marks, fees,
idempotency) still runs and must respect reservations. ``ARENA_DEEP_TESTS=1`` runs longer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, multiple, precondition, rule, run_state_machine_as_test
from sqlalchemy import select

from core import exchange, ledger
from core.clock import SimulatedClock
from core.db import Database
from core.errors import InsufficientCash, InsufficientTokens, InvalidAmount
from core.ledger.postings import (
    wallet_cash_code,
    wallet_cash_reserved_code,
    wallet_tokens_code,
    wallet_tokens_reserved_code,
)
from core.models import AIWallet, StrategyToken, TokenHolding
from tests.conftest import drop_pg_db, make_pg_db, make_sqlite_db
from tests.integration.test_ledger_state_machine import (
    DEEP,
    LedgerMachine,
    Outcome,
    Shadow,
    Used,
    _balance,
    _settings,
)
from tests.support.ledger_world import make_org

pytestmark = pytest.mark.usefixtures("pure_ledger")
CASH_Q, UNIT_Q = Decimal("0.000001"), Decimal("0.000000000000000001")


def floor(x: Decimal, q: Decimal) -> Decimal:
    return x.quantize(q, rounding=ROUND_FLOOR)


def ceil(x: Decimal, q: Decimal) -> Decimal:
    return x.quantize(q, rounding=ROUND_CEILING)


@dataclass
class ShadowOrder:
    id: int
    wallet: int
    org: int
    side: str
    symbol: str
    price: Decimal
    remaining: Decimal
    reserved_cash: Decimal
    expires: datetime
    open: bool = True


@dataclass
class ExShadow(Shadow):
    reserved_cash: dict[int, Decimal] = field(default_factory=dict)
    reserved_units: dict[tuple[int, str], Decimal] = field(default_factory=dict)
    orders: dict[int, ShadowOrder] = field(default_factory=dict)

    def copy(self) -> ExShadow:
        base = super().copy()
        return ExShadow(
            base.cash,
            base.units,
            base.tokens,
            base.fees,
            base.insurance,
            dict(self.reserved_cash),
            dict(self.reserved_units),
            {i: replace(o) for i, o in self.orders.items()},
        )

    def release(self, order: ShadowOrder) -> None:
        if order.side == "bid":
            self.reserved_cash[order.wallet] -= order.reserved_cash
            self.cash[order.wallet] += order.reserved_cash
        else:
            key = (order.wallet, order.symbol)
            self.reserved_units[key] -= order.remaining
            self.units[key] = self.units.get(key, Decimal(0)) + order.remaining
        order.open, order.reserved_cash = False, Decimal(0)


class ExchangeMachine(LedgerMachine):
    def __init__(self) -> None:
        super().__init__()
        self.shadow: ExShadow = ExShadow()
        self.orgs: dict[int, int] = {}

    @initialize()
    def world(self) -> None:
        org1, org2 = make_org(self.db, "Org One"), make_org(self.db, "Org Two")
        for name, org in (("A", org1), ("B", org2), ("C", org1)):
            w = ledger.create_wallet(
                self.db.uow(), organisation_id=org, name=name, idempotency_key=self._key()
            )
            self.wallets.append(w.wallet_id)
            self.orgs[w.wallet_id] = org
            self.shadow.cash[w.wallet_id] = Decimal(0)
            self.shadow.reserved_cash[w.wallet_id] = Decimal(0)
        for wallet in self.wallets:
            ledger.deposit(self.db.uow(), wallet, "5000", idempotency_key=self._key())
            self.shadow.cash[wallet] = Decimal(5000)
        self.tokenize("10000000", distributing=False)  # the base rules keep the shadow right
        for index in (0, 1, 2):
            self.buy(index, 0, 2_000_000_000)  # 2,000 USD of units each

    def units_at_record_date(self, symbol: str) -> dict[int, Decimal]:
        """A holder is paid on every unit it holds, those reserved by its open asks included."""
        units = super().units_at_record_date(symbol)
        for (wallet, sym), quantity in self.shadow.reserved_units.items():
            if sym == symbol:
                units[wallet] = units.get(wallet, Decimal(0)) + quantity
        return units

    @rule(target=LedgerMachine.used, w=st.integers(0, 1), cents=st.integers(1, 5_000_000_000))
    def deposit(self, w: int, cents: int) -> Used:
        """As the base rule, but the reply's balance is the whole cash: free plus reserved."""
        wallet, amount = self.wallets[w], Decimal(cents).scaleb(-2)

        def call(k: str) -> Any:
            return ledger.deposit(self.db.uow(), wallet, amount, idempotency_key=k)

        k, reply = self._run((None, None), call)
        self.shadow.cash[wallet] += amount
        assert reply.cash_balance == self.shadow.cash[wallet] + self.shadow.reserved_cash[wallet]
        return Used(
            k, call, reply, lambda k: ledger.deposit(self.db.uow(), wallet, amount + 1, idempotency_key=k)
        )

    # --- the expected outcome of a placement, from the rules alone ----------------------------------

    def _predict(
        self,
        after: ExShadow,
        wallet: int,
        side: str,
        symbol: str,
        qty: Decimal,
        price: Decimal,
        order_id: int,
    ) -> tuple[Outcome, list[tuple[int, Decimal, Decimal]]]:
        now = self.clock.now()
        token = after.tokens[symbol]
        nav = floor(token.aum / token.circ, UNIT_Q)
        if floor(qty * price, CASH_Q) < 1:
            return (InvalidAmount, None), []
        if abs(price - nav) / nav > Decimal("0.05"):
            return (exchange.OutsidePriceBand, None), []
        other = "ask" if side == "bid" else "bid"
        book = [
            o
            for o in after.orders.values()
            if o.open
            and o.symbol == symbol
            and o.side == other
            and o.expires > now
            and (o.price <= price if side == "bid" else o.price >= price)
        ]
        book.sort(key=lambda o: (o.price if side == "bid" else -o.price, o.id))
        fills: list[tuple[int, Decimal, Decimal]] = []
        remaining = qty
        for maker in book:
            if maker.org == self.orgs[wallet]:
                return (exchange.SelfTrade, None), []
            q = min(remaining, maker.remaining)
            cash = floor(q * maker.price, CASH_Q)
            if cash <= 0:
                break
            fills.append((maker.id, q, cash))
            remaining -= q
            if remaining == 0:
                break
        need = ceil(qty * price, CASH_Q) if side == "bid" else qty
        free = after.cash[wallet] if side == "bid" else after.units.get((wallet, symbol), Decimal(0))
        if free < need:
            return ((InsufficientCash if side == "bid" else InsufficientTokens), None), []
        self._apply(after, wallet, side, symbol, price, fills, remaining, order_id, now)
        return (None, None), fills

    def _apply(
        self,
        after: ExShadow,
        wallet: int,
        side: str,
        symbol: str,
        price: Decimal,
        fills: list[tuple[int, Decimal, Decimal]],
        remaining: Decimal,
        order_id: int,
        now: datetime,
    ) -> None:
        for maker_id, q, cash in fills:
            maker = after.orders[maker_id]
            seller, buyer = (maker.wallet, wallet) if side == "bid" else (wallet, maker.wallet)
            if side == "bid":  # the maker sold from its reserved units; the taker pays from free cash
                after.reserved_units[(seller, symbol)] -= q
                after.cash[buyer] -= cash
            else:  # the maker bought with reserved cash; the taker sells free units
                after.units[(seller, symbol)] -= q
                after.reserved_cash[buyer] -= cash
                maker.reserved_cash -= cash
            after.units[(buyer, symbol)] = after.units.get((buyer, symbol), Decimal(0)) + q
            after.cash[seller] += cash
            maker.remaining -= q
            if maker.remaining == 0 or floor(maker.remaining * maker.price, CASH_Q) <= 0:
                after.release(maker)
        crossing_left = any(
            o.open
            and o.symbol == symbol
            and o.side != side
            and o.expires > now
            and (o.price <= price if side == "bid" else o.price >= price)
            for o in after.orders.values()
        )
        if remaining > 0 and not crossing_left and floor(remaining * price, CASH_Q) > 0:
            reserve = ceil(remaining * price, CASH_Q) if side == "bid" else Decimal(0)
            order = ShadowOrder(
                order_id,
                wallet,
                self.orgs[wallet],
                side,
                symbol,
                price,
                remaining,
                reserve,
                now + timedelta(days=7),
            )
            after.orders[order_id] = order
            if side == "bid":
                after.cash[wallet] -= reserve
                after.reserved_cash[wallet] += reserve
            else:
                after.units[(wallet, symbol)] -= remaining
                key = (wallet, symbol)
                after.reserved_units[key] = after.reserved_units.get(key, Decimal(0)) + remaining

    # --- rules ---------------------------------------------------------------------------------------

    @precondition(lambda self: self.shadow.tokens)
    @rule(
        target=LedgerMachine.used,
        w=st.integers(0, 2),
        side=st.sampled_from(["ask", "bid"]),
        t=st.integers(0, 2),
        qty=st.sampled_from(["3", "10", "33.333333333333333333", "150"]),
        bp=st.sampled_from([-40, 0, 40]),
    )
    def place_in_band(self, w: int, side: str, t: int, qty: str, bp: int) -> Any:
        return self.place(w, side, t, qty, bp)

    @precondition(lambda self: self.shadow.tokens)
    @rule(
        target=LedgerMachine.used,
        w=st.integers(0, 2),
        side=st.sampled_from(["ask", "bid"]),
        t=st.integers(0, 2),
        qty=st.sampled_from(["0.5", "1", "2.5", "10", "33.333333333333333333", "150"]),
        bp=st.sampled_from([-600, -300, -120, -40, 0, 40, 120, 300, 600]),
    )
    def place(self, w: int, side: str, t: int, qty: str, bp: int) -> Any:
        symbol = self._token(t).symbol
        token = self.shadow.tokens[symbol]
        nav = floor(token.aum / token.circ, UNIT_Q)
        price = (nav * (1 + Decimal(bp).scaleb(-4))).quantize(CASH_Q, rounding=ROUND_HALF_EVEN)
        return self._place(w, side, symbol, Decimal(qty), price)

    def _place(self, w: int, side: str, symbol: str, quantity: Decimal, price: Decimal) -> Any:
        wallet = self.wallets[w]
        after = self.shadow.copy()
        order_id = self._next_order_id()
        expected, fills = self._predict(after, wallet, side, symbol, quantity, price, order_id)

        def call(k: str) -> Any:
            return exchange.place_order(
                self.db.uow(), wallet, side, symbol, quantity, price, idempotency_key=k
            )

        outcome = expected[0].__name__ if expected[0] else ("fills" if fills else "rests or dust")
        event(f"place: {outcome}")
        k, reply = self._run(expected, call)
        if expected[0] is not None:
            return multiple()
        assert [
            (f.ask_order_id if side == "bid" else f.bid_order_id, f.quantity, f.cash) for f in reply.fills
        ] == fills
        assert reply.order_id == order_id
        self.shadow = after
        return Used(
            k,
            call,
            reply,
            lambda k: exchange.place_order(
                self.db.uow(), wallet, side, symbol, quantity + UNIT_Q, price, idempotency_key=k
            ),
        )

    @precondition(lambda self: any(o.open for o in self.shadow.orders.values()))
    @rule(
        target=LedgerMachine.used,
        i=st.integers(0, 50),
        qty=st.sampled_from(["3", "10", "40", "150"]),
        who=st.integers(0, 1),
    )
    def match(self, i: int, qty: str, who: int) -> Any:
        """Another organisation's wallet meets an open order at its price (a fill, or a refusal)."""
        resting = [o for o in self.shadow.orders.values() if o.open]
        order = resting[i % len(resting)]
        others = [w for w in self.wallets if self.orgs[w] != order.org] or self.wallets
        wallet = others[who % len(others)]
        side = "bid" if order.side == "ask" else "ask"
        return self._place(self.wallets.index(wallet), side, order.symbol, Decimal(qty), order.price)

    def _next_order_id(self) -> int:
        from core.models.exchange import ExchangeOrder

        with self.db.uow(read_only=True) as uow:
            last = uow.session.scalar(select(ExchangeOrder.id).order_by(ExchangeOrder.id.desc()).limit(1))
        return (last or 0) + 1

    @precondition(lambda self: self.shadow.orders)
    @rule(i=st.integers(0, 50))
    def cancel(self, i: int) -> None:
        order = list(self.shadow.orders.values())[i % len(self.shadow.orders)]
        was_open = order.open
        closed = exchange.cancel_order(
            self.db.uow(), order.id, wallet_ids={order.wallet}, idempotency_key=self._key()
        )
        assert closed.already_closed is (not was_open)
        if was_open:
            released = closed.released_cash if order.side == "bid" else closed.released_units
            assert released == (order.reserved_cash if order.side == "bid" else order.remaining)
            self.shadow.release(order)

    @rule(days=st.sampled_from([0, 3, 8]))
    def expire(self, days: int) -> None:
        self.clock.advance(timedelta(days=days))
        with self.db.uow() as uow:
            report = exchange.sweep_in(uow.session, uow.clock.now())
            uow.commit()
        due = [o for o in self.shadow.orders.values() if o.open and o.expires <= self.clock.now()]
        assert report.expired == len(due)
        for order in due:
            self.shadow.release(order)

    # --- invariants -----------------------------------------------------------------------------------

    @invariant()
    def database_equals_shadow(self) -> None:
        with self.db.uow(read_only=True) as uow:
            s = uow.session
            for wallet, free in self.shadow.cash.items():
                reserved = self.shadow.reserved_cash.get(wallet, Decimal(0))
                assert _balance(s, wallet_cash_code(wallet)) == free
                assert _balance(s, wallet_cash_reserved_code(wallet)) == reserved
                row = s.get(AIWallet, wallet)
                assert row is not None and (row.cash, row.cash_reserved) == (free + reserved, reserved)
            for h, symbol, token_id in s.execute(
                select(TokenHolding, StrategyToken.symbol, StrategyToken.id).join(StrategyToken)
            ):
                if h.wallet_id not in self.shadow.cash:
                    continue
                free = self.shadow.units.get((h.wallet_id, symbol), Decimal(0))
                reserved = self.shadow.reserved_units.get((h.wallet_id, symbol), Decimal(0))
                assert (h.quantity, h.reserved) == (free + reserved, reserved)
                assert _balance(s, wallet_tokens_code(h.wallet_id, token_id)) == free
                assert _balance(s, wallet_tokens_reserved_code(h.wallet_id, token_id)) == reserved
            for token in s.scalars(select(StrategyToken)):
                shadow = self.shadow.tokens[token.symbol]
                assert (token.aum, token.circulating_supply) == (shadow.aum, shadow.circ)


def test_exchange_state_machine_sqlite(_sqlite_template: Path, tmp_path: Path) -> None:
    class OnSQLite(ExchangeMachine):
        @staticmethod
        def factory(clock: SimulatedClock) -> tuple[Database, Callable[[], None]]:
            db = make_sqlite_db(_sqlite_template, tmp_path, clock)
            path = Path(db.engine.url.database or "")

            def cleanup() -> None:
                for leftover in path.parent.glob(path.name + "*"):
                    leftover.unlink(missing_ok=True)

            return db, cleanup

    run_state_machine_as_test(OnSQLite, settings=_settings(300 if DEEP else 40, 60 if DEEP else 30))


@pytest.mark.postgres
def test_exchange_state_machine_postgres(_pg_template: str) -> None:
    class OnPostgres(ExchangeMachine):
        pg_numeric = True

        @staticmethod
        def factory(clock: SimulatedClock) -> tuple[Database, Callable[[], None]]:
            db, name = make_pg_db(_pg_template, clock)
            return db, lambda: drop_pg_db(name)

    run_state_machine_as_test(OnPostgres, settings=_settings(60 if DEEP else 5, 40 if DEEP else 25))
