"""What an AI wallet may allocate to, and the NAV history the optimizer sees.

The universe is every *active* token at decision time, so a newly activated token enters every AI
wallet's universe at its next decision and a retired one leaves it. NAV history comes from
``nav_marks`` (USD per token; converted to float here, for statistics only). One
:class:`DecisionCache` per rebalance cycle solves once per distinct (universe, tier, profile) — not
once per wallet.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import NavMark, StrategyToken, TokenStatus
from core.optimizer import Decision, OptimizerConfig, RiskProfile, Tier, suggest

HISTORY_DAYS = 730  # two years of marks is plenty for a 365-day covariance and the blend


def active_tokens(session: Session) -> list[StrategyToken]:
    return list(session.scalars(
        select(StrategyToken).where(StrategyToken.status == TokenStatus.ACTIVE)
        .order_by(StrategyToken.id)
    ))


def nav_table(session: Session, tokens: list[StrategyToken], now: datetime) -> pd.DataFrame:
    """Days x symbols table of NAV per token (float), NaN before a token's first mark."""
    if not tokens:
        return pd.DataFrame()
    since = (now - timedelta(days=HISTORY_DAYS)).date()
    symbols = {t.id: t.symbol for t in tokens}
    rows = session.execute(
        select(NavMark.token_id, NavMark.as_of, NavMark.nav_per_token)
        .where(NavMark.token_id.in_(list(symbols)), NavMark.as_of >= since,
               NavMark.as_of <= now.date())
    ).all()
    if not rows:
        return pd.DataFrame(columns=list(symbols.values()))
    frame = pd.DataFrame(
        {"symbol": [symbols[r[0]] for r in rows], "day": [pd.Timestamp(r[1]) for r in rows],
         "nav": [float(r[2]) for r in rows]}  # statistics only: float is fine here
    )
    table = frame.pivot(index="day", columns="symbol", values="nav").sort_index()
    return table.reindex(columns=[symbols[t.id] for t in tokens])


def profile_of(raw: dict[str, Any] | None) -> RiskProfile | None:
    """The wallet's stored risk profile (Premium), or None for the default."""
    if not raw:
        return None
    return RiskProfile.model_validate(raw)


class DecisionCache:
    """Solve once per (universe, tier, profile) within one cycle / one point in time."""

    def __init__(self, config: OptimizerConfig) -> None:
        self.config = config
        self._table: pd.DataFrame | None = None
        self._universe: tuple[str, ...] = ()
        self._decisions: dict[tuple[tuple[str, ...], str, str], Decision] = {}
        self.solves = 0

    def decision(self, session: Session, now: datetime, tier: Tier,
                 profile: RiskProfile | None) -> Decision:
        if self._table is None:
            tokens = active_tokens(session)
            self._universe = tuple(t.symbol for t in tokens)
            self._table = nav_table(session, tokens, now)
        key = (self._universe, tier.value, profile.key() if profile else "default")
        found = self._decisions.get(key)
        if found is None:
            found = suggest(self._table, tier=tier, profile=profile, config=self.config)
            self._decisions[key] = found
            self.solves += 1
        return found
