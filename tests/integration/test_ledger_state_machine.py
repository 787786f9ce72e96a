"""A Hypothesis state machine over the ledger against an independent shadow model in Decimal.

Rules: deposit, withdraw, tokenize, buy, redeem, mark NAV (a day passes), time passes + accrue fees,
switch a token to distributing its gains above its base, a month ends and a distributing token pays
(once per token and month: paying the same month again changes nothing),
replay a used idempotency key (same reply, no effect) and reuse one for another request (conflict).
The shadow predicts every outcome from the product rules alone (1 %/yr management fee pro rata by
whole seconds, 10 % performance fee above max(HWM, HWM x benchmark growth), 5 % of fees to
insurance, ERC-4626 rounding) — including which typed error a request must raise. Invariants after
every step: ``check_invariants() == []`` and the database agrees with the shadow to the last digit.

Each example runs on a fresh real SQLite file (template copy); a smaller run uses PostgreSQL.
``ARENA_DEEP_TESTS=1`` runs many more and longer examples.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from core import distributions, ledger
from core.clock import SimulatedClock
from core.db import Database
from core.errors import (
    ArenaError,
    IdempotencyConflict,
    InsufficientCash,
    InsufficientTokens,
    InvalidAmount,
    SoldOut,
)
from core.ledger.postings import token_pool_code, wallet_cash_code
from core.models import StrategyToken, TokenHolding
from tests.conftest import drop_pg_db, make_pg_db, make_sqlite_db
from tests.support.ledger_world import make_org

# Ledger arithmetic in isolation: no platform-risk trade checks (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("pure_ledger")

DEEP = os.environ.get("ARENA_DEEP_TESTS") == "1"
START = datetime(2025, 1, 1, tzinfo=UTC)
CASH_Q = Decimal("0.000001")
MIN_CASH = Decimal("0.01")  # the smallest deposit, withdrawal or buy
UNIT_Q = Decimal("0.000000000000000001")
YEAR_SECONDS = Decimal(365 * 24 * 3600)
SEED = Decimal(100)
MGMT, PERF, INSURANCE = Decimal("0.01"), Decimal("0.10"), Decimal("0.05")


def _floor(x: Decimal, q: Decimal) -> Decimal:
    return x.quantize(q, rounding=ROUND_FLOOR)


def _is_dust(units: Decimal, nav: Decimal) -> bool:
    """Worth more than nothing but less than one cent (value to the micro-dollar, half up)."""
    value = (units * nav).quantize(CASH_Q, rounding=ROUND_HALF_UP)
    return units > 0 and value < Decimal("0.01")


# --- the shadow model ----------------------------------------------------------------------------


@dataclass
class ShadowToken:
    symbol: str
    supply: Decimal
    aum: Decimal = SEED
    circ: Decimal = SEED
    hwm: Decimal = Decimal(1)
    bench: Decimal = Decimal(1)
    hwm_bench: Decimal = Decimal(1)
    accrued_until: datetime = START
    last_mark: date | None = None
    base: Decimal | None = None  # distribution base NAV once the token distributes


@dataclass
class Shadow:
    cash: dict[int, Decimal] = field(default_factory=dict)
    units: dict[tuple[int, str], Decimal] = field(default_factory=dict)
    tokens: dict[str, ShadowToken] = field(default_factory=dict)
    fees: Decimal = Decimal(0)
    insurance: Decimal = Decimal(0)

    def copy(self) -> Shadow:
        return Shadow(
            dict(self.cash),
            dict(self.units),
            {s: replace(t) for s, t in self.tokens.items()},
            self.fees,
            self.insurance,
        )

    def book_fee(self, t: ShadowToken, fee: Decimal) -> None:
        cut = _floor(fee * INSURANCE, CASH_Q)
        t.aum -= fee
        self.insurance += cut
        self.fees += fee - cut

    def settle_management(self, t: ShadowToken, now: datetime) -> Decimal:
        elapsed = Decimal(int((now - t.accrued_until).total_seconds()))
        if elapsed <= 0 or t.aum <= 0:
            if t.aum <= 0 and elapsed > 0:
                t.accrued_until = now
            return Decimal(0)
        fee = _floor(t.aum * MGMT * elapsed / YEAR_SECONDS, CASH_Q)
        if fee > 0:  # below one quantum nothing is booked and the period stays open
            self.book_fee(t, fee)
            t.accrued_until = now
        return fee

    def settle_performance(self, t: ShadowToken) -> None:
        if t.circ <= 0:
            return
        nav = t.aum / t.circ
        hurdle = max(t.hwm * (t.bench / t.hwm_bench), t.hwm)
        if nav <= hurdle:
            return
        fee = _floor((t.aum - hurdle * t.circ) * PERF, CASH_Q)
        if fee > 0:
            self.book_fee(t, fee)
        t.hwm = _floor(t.aum / t.circ, UNIT_Q)
        t.hwm_bench = t.bench


Outcome = tuple[type[ArenaError] | None, Any]


# --- the machine ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Used:
    """A key whose request succeeded: replaying it must return ``reply`` and change nothing."""

    key: str
    call: Callable[[str], Any]
    reply: Any
    other: Callable[[str], Any]  # a different request for the conflict rule


class LedgerMachine(RuleBasedStateMachine):
    #: Set by the test function: builds a fresh database on the given clock; returns (db, cleanup).
    factory: Callable[[SimulatedClock], tuple[Database, Callable[[], None]]]
    pg_numeric: bool = False  # PostgreSQL NUMERIC(38, 18) rounds stored benchmark indices half-up

    used = Bundle("used")

    def __init__(self) -> None:
        super().__init__()
        self.clock = SimulatedClock(START)
        self.db, self._cleanup = type(self).factory(self.clock)
        self.shadow = Shadow()
        self.wallets: list[int] = []
        self._n = 0

    def teardown(self) -> None:
        self.db.dispose()
        self._cleanup()

    def _key(self) -> str:
        self._n += 1
        return f"sm-{self._n}"

    def _run(self, expected: Outcome, call: Callable[[str], Any]) -> tuple[str, Any]:
        """Run ``call(key)``; it must raise exactly the predicted error or succeed."""
        error, _ = expected
        k = self._key()
        if error is None:
            return k, call(k)
        with pytest.raises(error):
            call(k)
        return k, None

    @initialize()
    def world(self) -> None:
        org = make_org(self.db)
        for name in ("A", "B"):
            k = self._key()
            w = ledger.create_wallet(self.db.uow(), organisation_id=org, name=name, idempotency_key=k)
            self.wallets.append(w.wallet_id)
            self.shadow.cash[w.wallet_id] = Decimal(0)

    # --- cash --------------------------------------------------------------------------------------

    @rule(target=used, w=st.integers(0, 1), cents=st.integers(1, 5_000_000_000))
    def deposit(self, w: int, cents: int) -> Used:
        wallet, amount = self.wallets[w], Decimal(cents).scaleb(-2)
        k, reply = self._run(
            (None, None), lambda k: ledger.deposit(self.db.uow(), wallet, amount, idempotency_key=k)
        )
        self.shadow.cash[wallet] += amount
        assert reply.cash_balance == self.shadow.cash[wallet]
        return Used(
            k,
            lambda k: ledger.deposit(self.db.uow(), wallet, amount, idempotency_key=k),
            reply,
            lambda k: ledger.deposit(self.db.uow(), wallet, amount + 1, idempotency_key=k),
        )

    @rule(w=st.integers(0, 1), micros=st.integers(1, 10**13))
    def withdraw(self, w: int, micros: int) -> None:
        wallet, amount = self.wallets[w], Decimal(micros).scaleb(-6)
        ok = MIN_CASH <= amount <= self.shadow.cash[wallet]
        error = InvalidAmount if amount < MIN_CASH else InsufficientCash  # the amount is read first
        self._run(
            (None if ok else error, None),
            lambda k: ledger.withdraw(self.db.uow(), wallet, amount, idempotency_key=k),
        )
        if ok:
            self.shadow.cash[wallet] -= amount

    # --- tokens ------------------------------------------------------------------------------------

    @precondition(lambda self: len(self.shadow.tokens) < 3)
    @rule(supply=st.sampled_from(["200", "1000", "250.5", "10000000"]), distributing=st.booleans())
    def tokenize(self, supply: str, distributing: bool) -> None:
        symbol = f"STRAT-SM-{len(self.shadow.tokens) + 1}"
        ledger.tokenize(
            self.db.uow(),
            agent_id=None,
            symbol=symbol,
            total_supply=supply,
            status="active",
            idempotency_key=self._key(),
        )
        self.shadow.tokens[symbol] = ShadowToken(symbol, Decimal(supply), accrued_until=self.clock.now())
        if distributing:
            self.switch_to_distributing(len(self.shadow.tokens) - 1)

    def _token(self, i: int) -> ShadowToken:
        return list(self.shadow.tokens.values())[i % len(self.shadow.tokens)]

    @precondition(lambda self: self.shadow.tokens)
    @rule(target=used, w=st.integers(0, 1), t=st.integers(0, 2), micros=st.integers(1, 2 * 10**10))
    def buy(self, w: int, t: int, micros: int) -> Any:
        wallet, symbol, cash = self.wallets[w], self._token(t).symbol, Decimal(micros).scaleb(-6)
        after = self.shadow.copy()
        token = after.tokens[symbol]
        expected: Outcome = (None, None)
        if cash < MIN_CASH:  # nobody buys less than a cent
            expected = (InvalidAmount, None)
        elif cash > after.cash[wallet]:
            expected = (InsufficientCash, None)
        else:
            with localcontext() as ctx:
                ctx.prec = 80
                after.settle_management(token, self.clock.now())
                out = _floor(cash * token.circ / token.aum, UNIT_Q)
                held = after.units.get((wallet, symbol), Decimal(0))
                dust = _is_dust(held + out, token.aum / token.circ)
            if out <= 0:
                expected = (InvalidAmount, None)
            elif out > token.supply - token.circ:
                expected = (SoldOut, None)
            elif dust:  # a position worth less than a cent is never left behind
                expected = (InvalidAmount, None)
            else:
                expected = (None, out)
                after.cash[wallet] -= cash
                after.units[(wallet, symbol)] = after.units.get((wallet, symbol), Decimal(0)) + out
                token.circ += out
                token.aum += cash

        def call(k: str) -> Any:
            return ledger.buy(self.db.uow(), wallet, symbol, cash, idempotency_key=k)

        k, reply = self._run(expected, call)
        if expected[0] is not None:
            return multiple()  # a rejected request leaves no used key behind
        assert reply.tokens == expected[1], (reply.tokens, expected[1])
        self.shadow = after
        other = cash + CASH_Q
        return Used(
            k, call, reply, lambda k: ledger.buy(self.db.uow(), wallet, symbol, other, idempotency_key=k)
        )

    @precondition(lambda self: self.shadow.tokens)
    @rule(
        target=used,
        w=st.integers(0, 1),
        t=st.integers(0, 2),
        part=st.sampled_from(["all", "half", "third", "over", "unit"]),
    )
    def redeem(self, w: int, t: int, part: str) -> Any:
        wallet, symbol = self.wallets[w], self._token(t).symbol
        held = self.shadow.units.get((wallet, symbol), Decimal(0))
        qty = {
            "all": held,
            "half": _floor(held / 2, UNIT_Q),
            "third": _floor(held / 3, UNIT_Q),
            "over": held + UNIT_Q,
            "unit": UNIT_Q,
        }[part]
        if qty <= 0:
            return multiple()
        after = self.shadow.copy()
        token = after.tokens[symbol]
        expected: Outcome
        if qty > held:
            expected = (InsufficientTokens, None)
        else:
            with localcontext() as ctx:
                ctx.prec = 80
                after.settle_management(token, self.clock.now())
                cash_out = _floor(qty * token.aum / token.circ, CASH_Q)
                dust = qty < held and _is_dust(held - qty, token.aum / token.circ)
            # Dust is refused; a whole position always redeems, even for nothing.
            if dust or (cash_out <= 0 and qty < held):
                expected = (InvalidAmount, None)
            else:
                expected = (None, cash_out)
                after.cash[wallet] += cash_out
                after.units[(wallet, symbol)] = held - qty
                token.circ -= qty
                token.aum -= cash_out

        def call(k: str) -> Any:
            return ledger.redeem(self.db.uow(), wallet, symbol, qty, idempotency_key=k)

        k, reply = self._run(expected, call)
        if expected[0] is not None:
            return multiple()  # a rejected request leaves no used key behind
        assert reply.cash == expected[1], (reply.cash, expected[1])
        self.shadow = after
        return Used(
            k,
            call,
            reply,
            lambda k: ledger.redeem(self.db.uow(), wallet, symbol, qty + UNIT_Q, idempotency_key=k),
        )

    @precondition(lambda self: self.shadow.tokens)
    @rule(t=st.integers(0, 2), r=st.integers(-300, 400), b=st.sampled_from([0, -100, 50, 200]))
    def mark(self, t: int, r: int, b: int) -> None:
        """A day passes and one token is marked with return r bp (benchmark b bp)."""
        self.clock.advance(timedelta(days=1))
        token = self._token(t)
        daily, bench = Decimal(r).scaleb(-4), Decimal(b).scaleb(-4)
        result = ledger.mark_nav(
            self.db.uow(), token.symbol, self.clock.now().date(), daily, benchmark_return=bench
        )
        with localcontext() as ctx:
            ctx.prec = 60  # the ledger's own context width (benchmark index is not money)
            token.aum += (token.aum * daily).quantize(CASH_Q, rounding=ROUND_HALF_EVEN)
            token.bench = token.bench * (1 + bench)
            if self.pg_numeric:
                token.bench = token.bench.quantize(UNIT_Q, rounding=ROUND_HALF_UP)
        with localcontext() as ctx:
            ctx.prec = 80
            mgmt = self.shadow.settle_management(token, self.clock.now())
            self.shadow.settle_performance(token)
        token.last_mark = self.clock.now().date()
        assert result.aum == token.aum and result.management_fee == mgmt

    @precondition(lambda self: self.shadow.tokens)
    @rule(t=st.integers(0, 2), seconds=st.sampled_from([1, 7, 3600, 86400, 86400 * 45]))
    def time_passes_and_fees_accrue(self, t: int, seconds: int) -> None:
        self.clock.advance(timedelta(seconds=seconds))
        token = self._token(t)
        fee = ledger.accrue_fees(self.db.uow(), token.symbol, idempotency_key=self._key())
        with localcontext() as ctx:
            ctx.prec = 80
            assert fee == self.shadow.settle_management(token, self.clock.now())

    @precondition(lambda self: self.shadow.tokens)
    @rule(t=st.integers(0, 2))
    def switch_to_distributing(self, t: int) -> None:
        """The token starts distributing its gains above its base (= its NAV now); again: no change."""
        token = self._token(t)
        distributions.set_policy(
            self.db.uow(), token.symbol, "distribute", include_gains=True, idempotency_key=self._key()
        )
        if token.base is None:
            token.base = _floor(token.aum / token.circ, UNIT_Q)

    @precondition(lambda self: any(t.base is not None for t in self.shadow.tokens.values()))
    @rule(t=st.integers(0, 2), r=st.integers(-300, 400))
    def month_end_distribution(self, t: int, r: int) -> None:
        """The token's last mark of the month (r bp), then the clock moves to the next month's first
        day (the record date) and the distributing token pays the month just ended: per unit =
        floor(NAV - base), each holder floor(units x per unit), the rest stays in the pool; paying
        the same month again changes nothing."""
        tokens = list(self.shadow.tokens.values())
        i = next(i for i in [t % len(tokens), *range(len(tokens))] if tokens[i].base is not None)
        token = tokens[i]
        self.mark(i, r, 0)  # the month's last mark: a day passes, the token moves r bp
        assert token.base is not None
        now = self.clock.now()
        first = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, 1, tzinfo=UTC)
        self.clock.set(first)
        period = f"{now.year:04d}-{now.month:02d}"
        result = distributions.distribute(self.db.uow(), token.symbol, period)
        assert result is not None and not result.already
        with localcontext() as ctx:
            ctx.prec = 80
            self.shadow.settle_management(token, first)
            nav_before = _floor(token.aum / token.circ, UNIT_Q)
            per_unit = max(Decimal(0), _floor(token.aum / token.circ - token.base, UNIT_Q))
            held = {w: q for w, q in self.units_at_record_date(token.symbol).items() if q > 0}
            house = token.circ - sum(held.values(), Decimal(0))
            paid = {w: _floor(q * per_unit, CASH_Q) for w, q in held.items()}
            total = sum(paid.values(), Decimal(0)) + _floor(house * per_unit, CASH_Q)
            for w, amount in paid.items():
                self.shadow.cash[w] += amount
            token.aum -= total
            nav_after = _floor(token.aum / token.circ, UNIT_Q)
            token.hwm = max(Decimal(0), token.hwm - (nav_before - nav_after))
            token.base = nav_after
        assert (result.amount, result.per_unit) == (total, per_unit)
        again = distributions.distribute(self.db.uow(), token.symbol, period)
        assert again is not None and again.already and again.amount == total

    def units_at_record_date(self, symbol: str) -> dict[int, Decimal]:
        """Each wallet's units of ``symbol`` that a distribution pays on (all it holds)."""
        return {w: q for (w, sym), q in self.shadow.units.items() if sym == symbol}

    # --- idempotency -------------------------------------------------------------------------------

    @rule(used=used)
    def replay(self, used: Used) -> None:
        assert used.call(used.key) == used.reply  # shadow unchanged: the invariants check "no effect"

    @rule(used=consumes(used))
    def reuse_key_for_another_request(self, used: Used) -> None:
        with pytest.raises(IdempotencyConflict):
            used.other(used.key)

    # --- invariants --------------------------------------------------------------------------------

    @invariant()
    def ledger_invariants_hold(self) -> None:
        with self.db.uow(read_only=True) as uow:
            assert ledger.check_invariants(uow.session) == []

    @invariant()
    def database_equals_shadow(self) -> None:
        with self.db.uow(read_only=True) as uow:
            s = uow.session
            for wallet, cash in self.shadow.cash.items():
                assert _balance(s, wallet_cash_code(wallet)) == cash
            units = {
                (h.wallet_id, sym): h.quantity
                for h, sym in s.execute(select(TokenHolding, StrategyToken.symbol).join(StrategyToken))
                if h.quantity != 0 and h.wallet_id in self.shadow.cash
            }
            assert units == {k: v for k, v in self.shadow.units.items() if v != 0}
            for token in s.scalars(select(StrategyToken)):
                st_ = self.shadow.tokens[token.symbol]
                assert (token.aum, token.circulating_supply) == (st_.aum, st_.circ)
                assert token.high_water_mark == st_.hwm
                assert _balance(s, token_pool_code(token.id)) == st_.aum
            assert _balance(s, "platform:insurance") == self.shadow.insurance
            assert _balance(s, "platform:fees") == self.shadow.fees


def _balance(session: Any, code: str) -> Decimal:
    from core.ledger.postings import get_account

    account = get_account(session, code)
    return account.balance if account is not None else Decimal(0)


def _settings(examples: int, steps: int) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def test_ledger_state_machine_sqlite(_sqlite_template: Path, tmp_path: Path) -> None:
    class OnSQLite(LedgerMachine):
        @staticmethod
        def factory(clock: SimulatedClock) -> tuple[Database, Callable[[], None]]:
            db = make_sqlite_db(_sqlite_template, tmp_path, clock)
            path = Path(db.engine.url.database or "")

            def cleanup() -> None:  # the file and its -wal/-shm companions
                for leftover in path.parent.glob(path.name + "*"):
                    leftover.unlink(missing_ok=True)

            return db, cleanup

    run_state_machine_as_test(OnSQLite, settings=_settings(400 if DEEP else 50, 60 if DEEP else 25))


@pytest.mark.postgres
def test_ledger_state_machine_postgres(_pg_template: str) -> None:
    class OnPostgres(LedgerMachine):
        pg_numeric = True

        @staticmethod
        def factory(clock: SimulatedClock) -> tuple[Database, Callable[[], None]]:
            db, name = make_pg_db(_pg_template, clock)
            return db, lambda: drop_pg_db(name)

    run_state_machine_as_test(OnPostgres, settings=_settings(100 if DEEP else 6, 40 if DEEP else 20))
