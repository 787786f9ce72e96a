"""Circuit breaker: platform loss > 10 % in 24 h halts buys, redeems and rebalances until a
platform admin resumes.

Platform loss is measured on market moves only, so deposits and redemptions do not trip it: the
24-hour return of the platform's holdings, ``sum(supply_now x (NAV_now - NAV_24h_ago)) /
sum(supply_now x NAV_24h_ago)`` over tokens with a mark at or before ``now - 24 h`` (NAV from
``nav_marks``, USD per token). Fractions are decimals (0.10 = 10 %). System trades (kill-switch
wind-downs, queued redemptions released by the platform) are not blocked: they protect holders.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.config import get_settings
from core.errors import TradingHalted
from core.ledger.guards import TradeIntent, register_check
from core.models import AuditLog, NavMark, StrategyToken, TokenStatus
from core.models.wallets_ext import PlatformRiskState
from core.money import div, mul

STATE_ID = 1
ZERO = Decimal(0)


_STATE_TABLE = cast(Table, PlatformRiskState.__table__)
_NEW_STATE = {"id": STATE_ID, "halted": False, "trips": 0}
# Two first writers (a halt beside a resume on a fresh database) would both find no row and both
# insert; the loser died with a unique violation (seen in the PostgreSQL soak). Creating the row
# with ON CONFLICT DO NOTHING makes the first touch race-free on both dialects.
_CREATE_STATE = {
    "postgresql": pg_insert(_STATE_TABLE).values(_NEW_STATE).on_conflict_do_nothing(index_elements=["id"]),
    "sqlite": sqlite_insert(_STATE_TABLE).values(_NEW_STATE).on_conflict_do_nothing(index_elements=["id"]),
}


def risk_state(session: Session, *, lock: bool = False) -> PlatformRiskState:
    """The platform's single risk-state row, created on first use; ``lock`` takes it FOR UPDATE."""
    query = select(PlatformRiskState).where(PlatformRiskState.id == STATE_ID)
    if lock:
        query = query.with_for_update()
    query = query.execution_options(populate_existing=True)
    state = session.scalars(query).one_or_none()
    if state is None:
        session.execute(_CREATE_STATE[session.get_bind().dialect.name])
        state = session.scalars(query).one()
    return state
# Built once and run on the session's connection: this is on every trade's path.
_HALT = select(_STATE_TABLE.c.halted, _STATE_TABLE.c.halt_reason).where(_STATE_TABLE.c.id == STATE_ID)


def _halt_state(session: Session) -> tuple[bool, str | None]:
    loaded = session.identity_map.get(session.identity_key(PlatformRiskState, STATE_ID))
    if isinstance(loaded, PlatformRiskState):  # this transaction's own view, pending changes included
        return bool(loaded.halted), loaded.halt_reason
    row = session.connection().execute(_HALT).first()
    return (bool(row.halted), row.halt_reason) if row is not None else (False, None)


def is_halted(session: Session) -> bool:
    return _halt_state(session)[0]


def platform_loss_24h(session: Session, now: datetime) -> Decimal:
    """Fractional loss (positive = loss) of the platform's holdings over the last 24 hours."""
    today = now.date()
    before = (now - timedelta(hours=24)).date()
    tokens = session.scalars(
        select(StrategyToken).where(StrategyToken.status.in_([TokenStatus.ACTIVE,
                                                              TokenStatus.RETIRED]))
    ).all()
    then_total = ZERO
    now_total = ZERO
    for token in tokens:
        if token.circulating_supply <= 0:
            continue
        then_nav = _nav_on_or_before(session, token.id, before)
        now_nav = _nav_on_or_before(session, token.id, today)
        if then_nav is None or now_nav is None:
            continue
        then_total += mul(token.circulating_supply, then_nav)
        now_total += mul(token.circulating_supply, now_nav)
    if then_total <= 0:
        return ZERO
    return div(then_total - now_total, then_total)


def _nav_on_or_before(session: Session, token_id: int, day: object) -> Decimal | None:
    latest = session.scalar(
        select(func.max(NavMark.as_of)).where(NavMark.token_id == token_id, NavMark.as_of <= day)
    )
    if latest is None:
        return None
    return session.scalar(
        select(NavMark.nav_per_token).where(NavMark.token_id == token_id, NavMark.as_of == latest)
    )


def check_circuit_breaker(session: Session, now: datetime,
                          threshold: Decimal | None = None) -> bool:
    """Trip the breaker when the 24-hour loss exceeds ``threshold``; True when it tripped now."""
    limit = threshold if threshold is not None else get_settings().circuit_breaker_loss
    state = risk_state(session, lock=True)
    if state.halted:
        return False
    loss = platform_loss_24h(session, now)
    if loss <= limit:
        return False
    state.halted = True
    state.halted_at = now
    state.halt_reason = f"platform holdings fell {loss:.1%} in 24 hours (limit {limit:.0%})"
    state.trips += 1
    session.add(AuditLog(at=now, actor="system", action="risk.circuit_breaker.trip",
                         subject="platform", details={"loss": format(loss, "f")}))
    session.flush()
    return True


def halt_trading(session: Session, now: datetime, *, admin: str, reason: str) -> bool:
    """A platform admin halts trading and rebalancing by hand. False if already halted."""
    state = risk_state(session, lock=True)
    if state.halted:
        return False
    state.halted = True
    state.halted_at = now
    state.halt_reason = f"halted by a platform admin: {reason[:200]}"
    state.trips += 1
    session.add(AuditLog(at=now, actor=admin, action="risk.circuit_breaker.manual",
                         subject="platform", details={"reason": reason[:200]}))
    session.flush()
    return True


def resume_trading(session: Session, now: datetime, *, admin: str) -> bool:
    """A platform admin lifts the halt (the caller checks the admin role). False if not halted."""
    state = risk_state(session, lock=True)
    if not state.halted:
        return False
    state.halted = False
    state.resumed_at = now
    state.resumed_by = admin
    session.add(AuditLog(at=now, actor=admin, action="risk.circuit_breaker.resume",
                         subject="platform", details={"reason_was": state.halt_reason}))
    session.flush()
    return True


def _halt_check(session: Session, intent: TradeIntent) -> None:
    if intent.system or intent.wallet.is_house:
        return
    halted, reason = _halt_state(session)
    if halted:
        why = reason or "the circuit breaker tripped"
        raise TradingHalted(
            f"trading is halted: {why}. A platform admin will resume it; nothing was traded."
        )


def install() -> None:
    register_check("risk.circuit_breaker", _halt_check)
