"""Token pages: the table with performance, and one token's NAV history against its benchmark and
the T-bill, its stored backtest and paper metrics, gate report, lifecycle and agent code.

Series are (day, USD per token). The benchmark line starts at the token's first marked NAV and
compounds each later mark's ``benchmark_return`` (the token's benchmark asset held). The T-bill
line exists only when the gate report recorded a risk-free rate: it compounds that report's mean
annual investment yield ``y`` by ``y / 365`` per calendar day (the gate's own convention), so it is
the hurdle the token was admitted against, not a day-by-day bill series.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from core import formatting
from core.errors import UnknownToken
from core.ledger.fees import nav_of
from core.models import NavMark, StrategyToken, TokenStatus
from core.models.ledger import AuditLog
from core.money import div, mul
from core.risk.kill_switch import drawdown

ZERO = Decimal(0)
PUBLIC_STATUSES = (TokenStatus.ACTIVE, TokenStatus.PROVING, TokenStatus.RETIRED)

Series = list[tuple[date, Decimal]]
NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


@dataclass(frozen=True, slots=True)
class TokenRow:
    """One line of the token table. ``since_first_mark`` is NAV now / NAV at the first mark - 1
    (None before two marks); ``drawdown`` is the fall below the peak NAV (0.05 = 5 % below)."""

    symbol: str
    name: str
    status: str
    nav: Decimal
    aum: Decimal
    circulating: Decimal
    total_supply: Decimal
    drawdown: Decimal
    since_first_mark: Decimal | None
    first_mark: date | None
    marks: int


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    at: datetime
    action: str
    actor: str
    detail: str


@dataclass(slots=True)
class TokenDetail:
    row: TokenRow
    created_at: datetime
    activated_at: datetime | None
    retired_at: datetime | None
    retire_reason: str | None
    benchmark_asset: str | None
    nav_series: Series
    benchmark_series: Series
    tbill_series: Series
    tbill_rate: Decimal | None
    agent_name: str | None = None
    agent_family: str | None = None
    code: str | None = None
    code_sha256: str | None = None
    spec_sha256: str | None = None
    source_url: str | None = None
    backtest_metrics: dict[str, Any] = field(default_factory=dict)
    paper_metrics: dict[str, Any] = field(default_factory=dict)
    gate_report: dict[str, Any] | None = None
    lifecycle: list[LifecycleEvent] = field(default_factory=list)


def _marks(session: Session, token_id: int) -> list[NavMark]:
    return list(session.scalars(select(NavMark).where(NavMark.token_id == token_id).order_by(NavMark.as_of)))


@dataclass(frozen=True, slots=True)
class _FirstMark:
    day: date | None
    nav: Decimal | None
    count: int


def _row(token: StrategyToken, first: _FirstMark) -> TokenRow:
    nav = nav_of(token)
    since = None
    if first.count >= 2 and first.nav is not None and first.nav > 0:
        since = div(nav, first.nav) - 1
    return TokenRow(token.symbol, token.name, token.status.value, nav, token.aum, token.circulating_supply,
                    token.total_supply, drawdown(token), since, first.day, first.count)


def _first_marks(session: Session) -> dict[int, _FirstMark]:
    """Per token: its first mark's day and NAV and how many marks it has (two queries in all)."""
    stats = session.execute(
        select(NavMark.token_id, func.min(NavMark.as_of), func.count()).group_by(NavMark.token_id)
    ).all()
    firsts = {(token_id, day): count for token_id, day, count in stats}
    navs = session.execute(
        select(NavMark.token_id, NavMark.as_of, NavMark.nav_per_token)
        .where(tuple_(NavMark.token_id, NavMark.as_of).in_(list(firsts)))
    ).all() if firsts else []
    return {token_id: _FirstMark(day, nav, int(firsts[(token_id, day)])) for token_id, day, nav in navs}


def token_rows(session: Session, *, public: bool = False) -> list[TokenRow]:
    """Every token (public: active, proving and retired ones; candidates are not shown)."""
    query = select(StrategyToken).order_by(StrategyToken.symbol)
    if public:
        query = query.where(StrategyToken.status.in_(PUBLIC_STATUSES))
    firsts = _first_marks(session)
    none = _FirstMark(None, None, 0)
    return [_row(t, firsts.get(t.id, none)) for t in session.scalars(query)]


def benchmark_series(marks: list[NavMark]) -> Series:
    """The benchmark held from the first mark, scaled to start at the first NAV."""
    if not marks:
        return []
    level = marks[0].nav_per_token
    series = [(marks[0].as_of, level)]
    for mark in marks[1:]:
        level = mul(level, 1 + mark.benchmark_return)
        series.append((mark.as_of, level))
    return series


def tbill_series(marks: list[NavMark], annual_yield: Decimal) -> Series:
    """The first NAV accruing ``annual_yield / 365`` per calendar day (compounded daily)."""
    if not marks:
        return []
    start, base = marks[0].as_of, marks[0].nav_per_token
    daily = 1 + div(annual_yield, Decimal(365))
    return [(m.as_of, mul(base, daily ** (m.as_of - start).days)) for m in marks]


def gate_rate(report: dict[str, Any] | None) -> Decimal | None:
    """The gate's mean annual risk-free yield as a Decimal (None when none was recorded, or the
    report says there was no risk-free series)."""
    risk_free = (report or {}).get("risk_free") or {}
    if str(risk_free.get("name", "")).lower().startswith("none"):
        return None  # the synthetic market has no T-bill: its 0 % is not a hurdle to draw
    rate = risk_free.get("mean_annual_rate")
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        return None
    return Decimal(repr(rate))


def detail_text(details: dict[str, Any]) -> str:
    """An audit row's details for people: empty values left out, numbers through core.formatting
    (``total_supply: 100,000,000``)."""
    parts = []
    for key, value in details.items():
        if value is None or value == "":
            continue
        shown = str(value)
        if isinstance(value, int) and not isinstance(value, bool):
            shown = formatting.count(value)
        elif isinstance(value, str) and NUMBER.match(value):
            shown = formatting.quantity(Decimal(value))
        parts.append(f"{key.replace('_', ' ')}: {shown}")
    return ", ".join(parts)


def token_detail(session: Session, symbol: str, *, public: bool = False) -> TokenDetail:
    """Everything the token page shows; UnknownToken when there is no such (public) token."""
    token = session.scalar(select(StrategyToken).where(StrategyToken.symbol == symbol))
    if token is None or (public and token.status not in PUBLIC_STATUSES):
        raise UnknownToken(f"No token {symbol}.")
    marks = _marks(session, token.id)
    agent = token.agent
    report = agent.gate_report if agent is not None else None
    rate = gate_rate(report)
    first = _FirstMark(None, None, 0)
    if marks:
        first = _FirstMark(marks[0].as_of, marks[0].nav_per_token, len(marks))
    detail = TokenDetail(
        _row(token, first), token.created_at, token.activated_at, token.retired_at, token.retire_reason,
        token.benchmark_asset, [(m.as_of, m.nav_per_token) for m in marks], benchmark_series(marks),
        tbill_series(marks, rate) if rate is not None else [], rate,
    )
    if agent is not None:
        detail.agent_name, detail.agent_family = agent.name, agent.family
        detail.code, detail.code_sha256, detail.spec_sha256 = agent.code, agent.code_sha256, agent.spec_sha256
        detail.source_url = agent.source_url
        detail.backtest_metrics = dict(agent.backtest_metrics or {})
        detail.paper_metrics = dict(agent.paper_metrics or {})
        detail.gate_report = report
    detail.lifecycle = [
        LifecycleEvent(a.at, a.action, a.actor, detail_text(a.details or {}))
        for a in session.scalars(select(AuditLog).where(AuditLog.subject == symbol).order_by(AuditLog.id))
    ]
    return detail
