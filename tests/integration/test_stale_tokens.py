"""A token whose data stops is not marked flat: it is wound down and its holders are told."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from backtest.codegen import code_hash, generate
from backtest.live import mark_token_navs
from core import ledger
from core.clock import SimulatedClock
from core.config import Settings
from core.db import Database
from core.models import AuditLog, NavMark, StrategyToken, TokenStatus, TreasuryAgent
from core.notify import CollectingNotifier
from core.spec import load_spec
from tests.support.ledger_world import holding_of, key, make_org, make_user, make_wallet, violations
from tests.support.markets import market

SYM = "STRAT-LENDING-USDC-901"
LENDING = {
    "name": "USDC on Compound",
    "family": "lending",
    "universe": {"lending_markets": ["compound:USDC"]},
}
# Rates exist for 2024-01-01 .. 2024-01-31 only.
DATA = market({}, {"compound:USDC": [0.05] * 31}, start="2024-01-01")
BIRTH = dt.datetime(2024, 1, 10, 9, tzinfo=dt.UTC)


def _token(db: Database) -> int:
    spec = load_spec(LENDING)
    code = generate(spec)
    with db.uow() as uow:
        agent = TreasuryAgent(
            name=spec.name, family="lending", spec_version="1.0", spec=spec.model_dump(mode="json"),
            spec_sha256="x" * 64, code=code, code_sha256=code_hash(code), created_at=uow.clock.now(),
        )  # fmt: skip
        uow.session.add(agent)
        uow.session.flush()
        agent_id = agent.id
        uow.commit()
    ledger.tokenize(db.uow(), agent_id=agent_id, symbol=SYM, total_supply="1000000", status="active",
                    idempotency_key=key("tok"))  # fmt: skip
    org = make_org(db)
    owner = make_user(db, 4242, org)
    wallet = make_wallet(db, org, cash="10000", owner_user_ids=[owner], tier="basic")
    ledger.buy(db.uow(), wallet, SYM, "5000", idempotency_key=key())
    return wallet


def _at(db: Database, day: dt.date) -> None:
    assert isinstance(db.clock, SimulatedClock)
    db.clock.set(dt.datetime.combine(day, dt.time(0, 5), dt.UTC))


def test_stale_token_is_wound_down_not_marked_flat(any_db: Database) -> None:
    assert isinstance(any_db.clock, SimulatedClock)
    any_db.clock.set(BIRTH)
    wallet = _token(any_db)
    settings = Settings(stale_after_days=3)
    notifier = CollectingNotifier()

    # Three days after the data's last day: not yet stale, marked only up to the data's end.
    _at(any_db, dt.date(2024, 2, 3))
    detail = mark_token_navs(any_db, dt.date(2024, 2, 3), DATA, notifier=notifier, settings=settings)
    assert detail[SYM]["marked"] == 21  # 2024-01-11 .. 2024-01-31: never a day without data
    with any_db.uow(read_only=True) as uow:
        token = uow.session.scalars(select(StrategyToken).where(StrategyToken.symbol == SYM)).one()
        assert token.status is TokenStatus.ACTIVE and token.last_mark_date == dt.date(2024, 1, 31)
        assert max(uow.session.scalars(select(NavMark.as_of).where(NavMark.token_id == token.id))) == dt.date(
            2024, 1, 31
        )

    # Four days after: stale -> retired, the holder redeemed at NAV and told.
    _at(any_db, dt.date(2024, 2, 4))
    detail = mark_token_navs(any_db, dt.date(2024, 2, 4), DATA, notifier=notifier, settings=settings)
    assert detail[SYM] == {
        "retired": "stale since 2024-01-31",
        "holders_redeemed": 2,
    }  # the seed and the holder
    with any_db.uow(read_only=True) as uow:
        token = uow.session.scalars(select(StrategyToken).where(StrategyToken.symbol == SYM)).one()
        assert token.status is TokenStatus.RETIRED and "stale" in (token.retire_reason or "")
        audit = uow.session.scalars(select(AuditLog).where(AuditLog.action == "token.retire")).one()
        assert "2024-01-31" in (audit.details or {})["reason"]
    assert holding_of(any_db, wallet, SYM)[0] == 0
    assert len(notifier.messages) == 1 and "stale" in notifier.messages[0].reply.text
    assert notifier.messages[0].chat_id == 4242
    assert violations(any_db) == []
