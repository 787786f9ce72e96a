"""Stale tokens: a token whose price or rate data has stopped is wound down, never marked flat.

Which data a token needs is known where its agent runs (``backtest.live`` decides *that* a token is
stale: its last data day is more than ``stale_after_days`` before the day being marked); this
module does the wind-down, the same way the kill switch does (:func:`core.tokens.lifecycle.retire_in`):
the token is retired, every holder is redeemed at the last NAV and told in chat.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from core.formatting import date_text
from core.notify import Notifier
from core.tokens.lifecycle import WindDown, retire_in


def stale_reason(last_data_day: date) -> str:
    return f"stale: its market data stopped on {date_text(last_data_day)}, so its NAV can no longer be marked"


def retire_stale_in(
    session: Session, now: datetime, symbol: str, last_data_day: date, *, notifier: Notifier | None = None
) -> WindDown:
    """Retire ``symbol`` as stale and wind it down (holders redeemed at NAV and told)."""
    return retire_in(session, now, symbol, stale_reason(last_data_day), notifier=notifier)
