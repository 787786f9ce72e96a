"""Distributions over hand-computed ledgers, on SQLite and PostgreSQL.

Management fee 0 (so every figure is exact by hand); performance fee 10 % above the high-water mark
(benchmark flat); tokens seeded with 100 USD / 100 units at NAV 1 held by the house wallet.

An income token (agent family ``lending``) set to distribute on 2025-01-01 at NAV 1 (its base):
wallet A buys 1,000 units, wallet B 500 -> 1,600 circulating, pool 1,600.

* Jan 15, +1 %: pool 1,616; performance fee 10 % of 16 = 1.6 -> pool 1,614.4, NAV 1.009 (HWM 1.009).
* Jan 20, -0.5 %: -8.072 -> pool 1,606.328, NAV 1.003955 (under the HWM: no fee).
* Feb 1, distribution for 2025-01: 0.003955 per unit -> A 3.955, B 1.9775, house 0.3955 = 6.328;
  pool 1,600, NAV 1; HWM and peak 1.009 - 0.003955 = 1.005045; base 1.
* Feb 10, +0.3 %: +4.8 -> pool 1,604.8, NAV 1.003 (under the HWM 1.005045: no fee).
* Mar 1, distribution for 2025-02: 0.003 per unit -> A 3, B 1.5, house 0.3 = 4.8; pool 1,600; HWM 1.002045.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import distributions, ledger
from core.clock import SimulatedClock
from core.config import get_settings
from core.db import Database
from core.ledger.postings import token_pool_code
from core.models import TreasuryAgent
from core.models.money import Distribution, DistributionPayment
from core.notify import CollectingNotifier
from scheduler.jobs import JobContext, monthly_distributions
from tests.support.ledger_world import (
    account_balance,
    key,
    make_org,
    make_token,
    make_user,
    make_wallet,
    token_state,
    violations,
    wallet_cash,
)

pytestmark = pytest.mark.usefixtures("pure_ledger")

LEND, OTHER = "STRAT-LENDING-USDC-001", "STRAT-MOMENTUM-BTC-001"


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@pytest.fixture
def no_management_fee(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ARENA_MANAGEMENT_FEE_RATE", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def lending_token(db: Database, symbol: str = LEND) -> None:
    with db.uow() as uow:
        agent = TreasuryAgent(
            name="Aave USDC lending",
            family="lending",
            spec_version="1",
            spec={},
            spec_sha256="0" * 64,
            code="",
            code_sha256="0" * 64,
            created_at=uow.clock.now(),
        )
        uow.session.add(agent)
        uow.session.flush()
        agent_id = agent.id
        uow.commit()
    ledger.tokenize(
        db.uow(),
        agent_id=agent_id,
        symbol=symbol,
        total_supply="1000000",
        status="active",
        idempotency_key=key("t"),
    )


@pytest.fixture
def world(any_db: Database, clock: SimulatedClock, no_management_fee: None) -> tuple[Database, int, int]:
    db = any_db
    lending_token(db)
    a_org, b_org = make_org(db, "Grace Chapel"), make_org(db, "Hope Trust")
    a = make_wallet(db, a_org, cash="10000", owner_user_ids=[make_user(db, 501, a_org)])
    b = make_wallet(db, b_org, cash="5000", owner_user_ids=[make_user(db, 502, b_org)])
    distributions.set_policy(db.uow(), LEND, "distribute", idempotency_key=key("p"))
    ledger.buy(db.uow(), a, LEND, "1000", idempotency_key=key())
    ledger.buy(db.uow(), b, LEND, "500", idempotency_key=key())
    for day, r in (("2025-01-15", "0.01"), ("2025-01-20", "-0.005")):
        clock.set(at(day + "T18:00"))
        ledger.mark_nav(db.uow(), LEND, date.fromisoformat(day), r)
    return db, a, b


def _payments(db: Database, period: str) -> dict[int, Decimal]:
    with db.uow(read_only=True) as uow:
        dist = uow.session.scalars(select(Distribution).where(Distribution.period == period)).one()
        return {
            p.wallet_id: p.amount
            for p in uow.session.scalars(
                select(DistributionPayment).where(DistributionPayment.distribution_id == dist.id)
            )
        }


def test_two_months_by_hand(world: tuple[Database, int, int], clock: SimulatedClock) -> None:
    db, a, b = world
    assert token_state(db, LEND)["nav"] == Decimal("1.003955")
    clock.set(at("2025-02-01T01:00"))
    notifier = CollectingNotifier()
    jan = distributions.distribute(db.uow(), LEND, "2025-01", notifier=notifier)
    assert jan is not None
    assert (jan.per_unit, jan.amount, jan.dust, jan.holders) == (Decimal("0.003955"), Decimal("6.328"), 0, 3)
    assert (jan.nav_before, jan.nav_after) == (Decimal("1.003955"), Decimal(1))
    paid = _payments(db, "2025-01")
    assert (paid[a], paid[b]) == (Decimal("3.955"), Decimal("1.9775"))
    assert sorted(paid.values()) == [Decimal("0.3955"), Decimal("1.9775"), Decimal("3.955")]  # house 0.3955
    state = token_state(db, LEND)
    assert (state["aum"], state["nav"], state["hwm"], state["peak"]) == (
        Decimal(1600),
        Decimal(1),
        Decimal("1.005045"),
        Decimal("1.005045"),
    )
    assert account_balance(db, token_pool_code(1)) == Decimal(1600)
    told = {m.chat_id: m.reply.text for m in notifier.messages}
    assert set(told) == {501, 502} and "$3.96" in told[501] and "$1.98" in told[502]  # cents, half up
    assert "from $1.0040 to $1.0000" in told[501]

    clock.set(at("2025-02-10T18:00"))
    ledger.mark_nav(db.uow(), LEND, date(2025, 2, 10), "0.003")
    assert token_state(db, LEND)["hwm"] == Decimal("1.005045")  # under the HWM: no performance fee
    clock.set(at("2025-03-01T01:00"))
    feb = distributions.distribute(db.uow(), LEND, "2025-02")
    assert feb is not None and (feb.per_unit, feb.amount) == (Decimal("0.003"), Decimal("4.8"))
    assert wallet_cash(db, a) == Decimal("9006.955") and wallet_cash(db, b) == Decimal("4503.4775")
    assert token_state(db, LEND)["hwm"] == Decimal("1.002045")
    assert violations(db) == []


def test_idempotent_per_token_and_month(world: tuple[Database, int, int], clock: SimulatedClock) -> None:
    db, a, _ = world
    clock.set(at("2025-02-01T01:00"))
    jc = JobContext(db, CollectingNotifier())
    first = monthly_distributions(jc, clock.now())
    assert first["paid"] == {LEND: "6.328"} and first["period"] == "2025-01"
    clock.set(at("2025-02-01T05:00"))
    ledger.mark_nav(db.uow(), LEND, date(2025, 1, 31), "0.002")  # a late mark: still January's record
    again = monthly_distributions(jc, at("2025-02-01T01:00"))  # the same slot run twice
    assert again["paid"] == {LEND: "6.328"}
    direct = distributions.distribute_in  # and the service itself, outside the job's key
    with db.uow() as uow:
        result = direct(uow.session, uow.clock.now(), LEND, "2025-01")
        uow.commit()
    assert result is not None and result.already and result.amount == Decimal("6.328")
    assert wallet_cash(db, a) == Decimal("9003.955")
    assert len(_payments(db, "2025-01")) == 3 and violations(db) == []


def test_accumulating_and_non_income_tokens_pay_nothing(
    world: tuple[Database, int, int], clock: SimulatedClock
) -> None:
    db, a, _ = world
    make_token(db, OTHER)  # no agent: not an income strategy
    ledger.buy(db.uow(), a, OTHER, "1000", idempotency_key=key())
    clock.set(at("2025-01-25T18:00"))
    ledger.mark_nav(db.uow(), OTHER, date(2025, 1, 25), "0.02")
    clock.set(at("2025-02-01T01:00"))
    assert distributions.distribute(db.uow(), OTHER, "2025-01") is None  # accumulates (no policy)
    distributions.set_policy(db.uow(), OTHER, "distribute", idempotency_key=key("p"))
    assert distributions.distribute(db.uow(), OTHER, "2025-02") is None  # gains not configured
    before = wallet_cash(db, a)
    distributions.set_policy(db.uow(), OTHER, "distribute", include_gains=True, idempotency_key=key("p"))
    clock.set(at("2025-02-05T18:00"))
    ledger.mark_nav(db.uow(), OTHER, date(2025, 2, 5), "0.01")
    nav = token_state(db, OTHER)["nav"]
    clock.set(at("2025-03-01T01:00"))
    paid = distributions.distribute(db.uow(), OTHER, "2025-02")
    # base = NAV when the policy switched on (1.018, gains before are not paid); +1 % then 10 % fee
    assert paid is not None and paid.per_unit == nav - Decimal("1.018") == Decimal("0.009162")
    assert wallet_cash(db, a) == before + Decimal("1000") * Decimal("0.009162")
    assert violations(db) == []


def test_rounding_dust_stays_in_the_pool(
    any_db: Database, clock: SimulatedClock, no_management_fee: None
) -> None:
    """333 units and a per-unit amount with many decimals: each payment rounds down, the pool keeps
    the rest. Mark +0.00123 %: P&L 1,433 x 0.0000123 = 0.0176259 -> 0.017626; fee 0.0017626 ->
    0.001762; pool 1,433.015864; per unit 0.015864 / 1,433 = 0.0000110704815...; A (1,000 units)
    0.011070, B (333) 0.003686, house (100) 0.001107: paid 0.015863, 0.000001 stays."""
    db = any_db
    lending_token(db)
    org = make_org(db)
    a, b = make_wallet(db, org, cash="1000"), make_wallet(db, org, cash="333", name="Second")
    distributions.set_policy(db.uow(), LEND, "distribute", idempotency_key=key("p"))
    ledger.buy(db.uow(), a, LEND, "1000", idempotency_key=key())
    ledger.buy(db.uow(), b, LEND, "333", idempotency_key=key())
    clock.set(at("2025-01-02T18:00"))
    ledger.mark_nav(db.uow(), LEND, date(2025, 1, 2), "0.0000123")
    assert token_state(db, LEND)["aum"] == Decimal("1433.015864")
    clock.set(at("2025-02-01T01:00"))
    result = distributions.distribute(db.uow(), LEND, "2025-01")
    assert result is not None and result.amount == Decimal("0.015863")
    paid = _payments(db, "2025-01")
    assert (paid[a], paid[b]) == (Decimal("0.011070"), Decimal("0.003686"))
    assert token_state(db, LEND)["aum"] == Decimal("1433.000001")  # the dust stayed in the pool
    assert Decimal("0") < result.dust < Decimal("0.000003")
    assert violations(db) == []


def test_bad_policy_is_refused(world: tuple[Database, int, int]) -> None:
    from core.errors import ValidationError

    db, _, _ = world
    with pytest.raises(ValidationError, match="accumulate or distribute"):
        distributions.set_policy(db.uow(), LEND, "reinvest", idempotency_key=key("p"))


def test_the_token_card_says_how_yield_is_paid(
    world: tuple[Database, int, int], clock: SimulatedClock
) -> None:
    from tests.e2e.chat_support import ChatWorld

    db, _, _ = world
    chat = ChatWorld(db)
    make_token(db, OTHER)
    assert "Yield: accumulated in NAV" in chat.say(900, f"/token {OTHER}").text
    assert "Yield: distributed in cash on the 1st of each month" in chat.say(900, f"/token {LEND}").text
    clock.set(at("2025-02-01T01:00"))
    distributions.distribute(db.uow(), LEND, "2025-01")
    assert "last: 2025-01, $0.0040 per unit" in chat.say(900, f"/token {LEND}").text
