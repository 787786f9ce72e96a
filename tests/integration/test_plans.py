"""Plan limits at every entry point (core.billing.plans), on a real SQLite file and PostgreSQL.

A Free wallet may hold at most 3 distinct tokens and never run the AI: its 4th token is refused via
a buy (ledger and chat quote), an exchange bid, a rebalance and a proposal approval, each refusal
naming the plan that allows it and writing nothing.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from core import exchange, ledger
from core.billing.plans import PlanLimit
from core.clock import SimulatedClock
from core.db import Database
from core.models import AIWallet, StrategyToken, Tier, TokenHolding, WalletMode
from core.models.wallets_ext import RebalanceExecution, RebalanceProposal
from core.wallets import approve_proposal, run_rebalance_cycle, set_mode
from tests.support.ledger_world import key, violations, wallet_cash
from tests.wallet_fixtures import ai_wallet, platform


def _world(db: Database, clock: SimulatedClock) -> tuple[list[str], int, int]:
    world = platform(db, clock)
    symbols = list(world["symbols"])  # type: ignore[call-overload]
    return symbols, int(world["org"]), int(world["owner"])  # type: ignore[call-overload]


def _distinct(db: Database, wallet_id: int) -> int:
    with db.uow(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(TokenHolding).where(
            TokenHolding.wallet_id == wallet_id, TokenHolding.quantity > 0)) or 0)


def _free_with_three(db: Database, org: int, owner: int, symbols: list[str]) -> int:
    wallet = ai_wallet(db, org, owner, "manual", cash="10000", tier="free")
    for symbol, amount in zip(symbols[:3], ("1000", "1000", "5"), strict=True):
        ledger.buy(db.uow(), wallet, symbol, amount, idempotency_key=key("b"))
    return wallet


def _nav(db: Database, symbol: str) -> str:
    """A bid price at the token's NAV (inside the exchange's price band)."""
    with db.uow(read_only=True) as uow:
        nav = uow.session.scalars(select(StrategyToken.nav_per_token).where(
            StrategyToken.symbol == symbol)).one()
    return format(nav.quantize(Decimal("0.0001")), "f")


def _force(db: Database, wallet_id: int, **values: object) -> None:
    """Put a wallet in a state the services would refuse (a plan changed underneath it)."""
    with db.uow() as uow:
        uow.session.execute(update(AIWallet).where(AIWallet.id == wallet_id).values(**values))
        uow.commit()


def test_free_fourth_token_refused_via_buy(any_db: Database, clock: SimulatedClock) -> None:
    symbols, org, owner = _world(any_db, clock)
    wallet = _free_with_three(any_db, org, owner, symbols)
    cash = wallet_cash(any_db, wallet)
    with pytest.raises(PlanLimit, match=r"Free plan holds at most 3 .*Basic \(\$50\.00/month\)"):
        ledger.buy(any_db.uow(), wallet, symbols[3], "1000", idempotency_key=key("b"))
    assert wallet_cash(any_db, wallet) == cash and _distinct(any_db, wallet) == 3
    # Adding to a token already held is fine: the count of distinct tokens does not grow.
    ledger.buy(any_db.uow(), wallet, symbols[0], "500", idempotency_key=key("b"))
    assert wallet_cash(any_db, wallet) == cash - Decimal(500)
    # Sell one whole position and a different 4th token fits again.
    with any_db.uow(read_only=True) as uow:
        units = uow.session.scalars(select(TokenHolding.quantity).join(
            StrategyToken, StrategyToken.id == TokenHolding.token_id).where(
            TokenHolding.wallet_id == wallet, StrategyToken.symbol == symbols[2])).one()
    ledger.redeem(any_db.uow(), wallet, symbols[2], units, idempotency_key=key("r"))
    ledger.buy(any_db.uow(), wallet, symbols[3], "1000", idempotency_key=key("b"))
    assert _distinct(any_db, wallet) == 3
    assert violations(any_db) == []


def test_basic_allows_ten_and_premium_unlimited(any_db: Database, clock: SimulatedClock) -> None:
    symbols, org, owner = _world(any_db, clock)
    basic = ai_wallet(any_db, org, owner, "manual", cash="10000", tier="basic")
    for symbol in symbols[:4]:  # 4 > Free's 3: Basic allows it
        ledger.buy(any_db.uow(), basic, symbol, "100", idempotency_key=key("b"))
    assert _distinct(any_db, basic) == 4


def test_free_fourth_token_refused_via_exchange_bid(any_db: Database, clock: SimulatedClock) -> None:
    symbols, org, owner = _world(any_db, clock)
    wallet = _free_with_three(any_db, org, owner, symbols)
    with pytest.raises(PlanLimit, match="Basic"):
        exchange.place_order(any_db.uow(), wallet, "bid", symbols[3], "100", _nav(any_db, symbols[3]),
                             idempotency_key=key("o"))
    with any_db.uow(read_only=True) as uow:
        assert exchange.list_orders(uow.session, wallet_ids={wallet}, open_only=True) == []
    # A bid on a token it already holds is allowed.
    exchange.place_order(any_db.uow(), wallet, "bid", symbols[0], "100", _nav(any_db, symbols[0]),
                         idempotency_key=key("o"))
    assert violations(any_db) == []


def test_open_bid_counts_toward_the_limit(any_db: Database, clock: SimulatedClock) -> None:
    symbols, org, owner = _world(any_db, clock)
    wallet = ai_wallet(any_db, org, owner, "manual", cash="10000", tier="free")
    for symbol in symbols[:2]:
        ledger.buy(any_db.uow(), wallet, symbol, "1000", idempotency_key=key("b"))
    exchange.place_order(any_db.uow(), wallet, "bid", symbols[2], "100", _nav(any_db, symbols[2]),
                         idempotency_key=key("o"))
    # Two held + one bid for = three committed: a buy of a 4th is refused (the bid may still fill).
    with pytest.raises(PlanLimit, match="already has 3"):
        ledger.buy(any_db.uow(), wallet, symbols[3], "100", idempotency_key=key("b"))


def test_free_wallet_cannot_switch_to_ai_modes(any_db: Database, clock: SimulatedClock) -> None:
    _symbols, org, owner = _world(any_db, clock)
    wallet = ai_wallet(any_db, org, owner, "manual", tier="free")
    for mode in ("hybrid", "full_ai"):
        with pytest.raises(PlanLimit, match=r"manual only.*Basic \(\$50\.00/month\) plan allows it"):
            set_mode(any_db.uow(), wallet, mode, user_id=owner, idempotency_key=key("m"))
    with pytest.raises(PlanLimit, match="Basic"):
        ledger.create_wallet(any_db.uow(), organisation_id=org, name="x", mode="hybrid", tier="free",
                             idempotency_key=key("w"))


def test_free_fourth_token_refused_via_rebalance(any_db: Database, clock: SimulatedClock) -> None:
    """A Free wallet left in full-AI mode (the plan changed underneath it) is never rebalanced: the
    cycle reports the refusal, nothing is traded, its 3 holdings stay."""
    symbols, org, owner = _world(any_db, clock)
    wallet = _free_with_three(any_db, org, owner, symbols)
    _force(any_db, wallet, mode=WalletMode.FULL_AI)
    cash = wallet_cash(any_db, wallet)
    report = run_rebalance_cycle(any_db.uow())
    assert report.executed == 0
    assert "PlanLimit" in report.failed[wallet] and "Basic" in report.failed[wallet]
    assert wallet_cash(any_db, wallet) == cash and _distinct(any_db, wallet) == 3
    assert violations(any_db) == []


def test_free_fourth_token_refused_via_approval(any_db: Database, clock: SimulatedClock) -> None:
    """A hybrid proposal made on Basic is refused at approval once the wallet is on Free."""
    _symbols, org, owner = _world(any_db, clock)
    wallet = ai_wallet(any_db, org, owner, "hybrid", cash="100000", tier="basic")
    report = run_rebalance_cycle(any_db.uow())
    assert report.proposed == 1
    with any_db.uow(read_only=True) as uow:
        proposal = uow.session.scalars(select(RebalanceProposal)).one()
        assert len([t for t in proposal.trades if t.get("side") == "buy"]) >= 4  # 4+ distinct tokens
        proposal_id = proposal.id
    _force(any_db, wallet, tier=Tier.FREE)
    with pytest.raises(PlanLimit, match=r"approving an AI proposal.*Basic"):
        approve_proposal(any_db.uow(), proposal_id, user_id=owner, idempotency_key=key("a"))
    assert _distinct(any_db, wallet) == 0 and wallet_cash(any_db, wallet) == Decimal(100000)
    with any_db.uow(read_only=True) as uow:
        assert uow.session.scalars(select(RebalanceProposal)).one().status == "pending"
    assert violations(any_db) == []


def test_premium_wallets_rebalance_first(any_db: Database, clock: SimulatedClock) -> None:
    """Priority: a Premium wallet is handled before a Basic one with a lower id."""
    _symbols, org, owner = _world(any_db, clock)
    basic = ai_wallet(any_db, org, owner, "full_ai", cash="50000", tier="basic")
    premium = ai_wallet(any_db, org, owner, "full_ai", cash="50000", tier="premium")
    assert basic < premium
    report = run_rebalance_cycle(any_db.uow())
    assert report.executed == 2 and not report.failed
    with any_db.uow(read_only=True) as uow:
        order = list(uow.session.scalars(
            select(RebalanceExecution.wallet_id).order_by(RebalanceExecution.id)))
    assert order == [premium, basic]
