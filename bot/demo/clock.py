"""The demo's simulated time, continued by the console chat.

``arena demo`` lives through the last weeks of its market data on a simulated clock, so its world
(NAV marks, fees, proposals) ends on the data's last day, which may lie months or years before
today. The optimizer only looks at recent NAV history, and the management fee accrues by elapsed
time, so a chat on the real clock would see stale tokens and a large fee at the first trade. The
demo therefore records where its clock stopped (an ``audit_log`` row, ``demo.clock``), and
``arena chat`` on such a database continues from there: simulated time that moves with the wall
clock. It says so when it starts.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core import formatting
from core.clock import ensure_utc
from core.db import Database
from core.models import AuditLog

ACTION = "demo.clock"


class ContinuedClock:
    """Starts at ``start`` and moves forward with the wall clock (monotonic, so never backwards)."""

    def __init__(self, start: datetime) -> None:
        self.start = ensure_utc(start)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._t0)


def record_demo_clock(db: Database, run: str) -> None:
    """Remember where the demo's simulated clock stopped."""
    with db.uow() as uow:
        now = uow.clock.now()
        uow.session.add(AuditLog(at=now, actor="demo", action=ACTION, subject=f"run:{run}",
                                 details={"now": now.isoformat()}))
        uow.commit()


def demo_end(db: Database) -> datetime | None:
    """Where the last demo run's clock stopped, or None for a database no demo made."""
    with db.uow(read_only=True) as uow:
        details = uow.session.scalar(
            select(AuditLog.details).where(AuditLog.action == ACTION).order_by(AuditLog.id.desc()).limit(1)
        )
    if not details:
        return None
    return ensure_utc(datetime.fromisoformat(str(details["now"])))


def continue_demo_clock(db: Database) -> str | None:
    """On a demo database, switch ``db`` to the demo's continued clock; returns the note to show."""
    end = demo_end(db)
    if end is None or end >= datetime.now(UTC):
        return None
    db.clock = ContinuedClock(end + timedelta(minutes=1))
    return (
        f"This database was made by `arena demo`, whose market data ends on {formatting.date_text(end)}; "
        f"the chat continues the demo's simulated time (now {formatting.datetime_text(db.clock.now())})."
    )


__all__ = ["ContinuedClock", "continue_demo_clock", "demo_end", "record_demo_clock"]
