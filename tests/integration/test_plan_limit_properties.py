"""The plan's token limit as an invariant (Hypothesis, real SQLite file): under random buys, whole
redemptions, exchange bids and plan changes, a step never takes a wallet's committed tokens (held or
bid for) above its plan's limit — unless the wallet was already above it (a downgrade keeps every
holding), and then never higher than before. ``ARENA_DEEP_TESTS=1`` runs more examples."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from core import exchange, ledger
from core.billing.plans import PLANS, committed_tokens
from core.clock import SimulatedClock
from core.errors import ArenaError
from core.models import AIWallet, StrategyToken, Tier, TokenHolding
from tests.conftest import make_sqlite_db
from tests.support.ledger_world import key, make_org, make_token, make_user, make_wallet, violations

DEEP = os.environ.get("ARENA_DEEP_TESTS") == "1"
SYMBOLS = [f"STRAT-LIMIT-T{i}-001" for i in range(5)]
ACTION = st.tuples(st.sampled_from(["buy", "buy", "sell", "bid", "plan"]), st.integers(0, 4),
                   st.sampled_from([Tier.FREE, Tier.BASIC]))


@settings(max_examples=40 if DEEP else 6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(actions=st.lists(ACTION, min_size=4, max_size=18))
def test_committed_tokens_stay_within_the_plan(_sqlite_template: Path, tmp_path: Path,
                                               actions: list[tuple[str, int, Tier]]) -> None:
    db = make_sqlite_db(_sqlite_template, tmp_path, SimulatedClock(datetime(2025, 1, 1, tzinfo=UTC)))
    try:
        for symbol in SYMBOLS:
            make_token(db, symbol, supply="100000000")
        org = make_org(db)
        wallet = make_wallet(db, org, cash="100000", tier="basic", owner_user_ids=[make_user(db, 7, org)])

        def committed() -> int:
            with db.uow(read_only=True) as uow:
                return len(committed_tokens(uow.session, wallet))

        def tier() -> Tier:
            with db.uow(read_only=True) as uow:
                w = uow.session.get(AIWallet, wallet)
                assert w is not None
                return w.tier

        for action, i, new_tier in actions:
            before, symbol = committed(), SYMBOLS[i]
            try:
                if action == "buy":
                    ledger.buy(db.uow(), wallet, symbol, "5", idempotency_key=key("b"))
                elif action == "bid":
                    exchange.place_order(db.uow(), wallet, "bid", symbol, "10", "1.00",
                                         idempotency_key=key("o"))
                elif action == "sell":
                    with db.uow(read_only=True) as uow:
                        units = uow.session.scalar(select(TokenHolding.quantity).join(
                            StrategyToken, StrategyToken.id == TokenHolding.token_id).where(
                            TokenHolding.wallet_id == wallet, StrategyToken.symbol == symbol))
                    if units:
                        ledger.redeem(db.uow(), wallet, symbol, units, idempotency_key=key("r"))
                else:  # a plan change (a downgrade keeps holdings: the wallet may be above the limit)
                    with db.uow() as uow:
                        uow.session.execute(
                            update(AIWallet).where(AIWallet.id == wallet).values(tier=new_tier))
                        uow.commit()
                    continue
            except ArenaError:
                pass  # refused: nothing written
            limit = PLANS[tier()].max_tokens
            assert limit is not None
            after = committed()
            assert after <= max(limit, before), (action, symbol, before, after, limit)
        assert violations(db) == []
    finally:
        db.dispose()
