"""The demo's simulated time, continued by the console chat.

``arena demo`` lives through the last weeks of its market data on a simulated clock, so its world
(NAV marks, fees, proposals) ends on the data's last day, which may lie months or years before
today. The optimizer only looks at recent NAV history, and the management fee accrues by elapsed
time, so a chat on the real clock would see stale tokens and a large fee at the first trade. The
demo therefore records where its clock stopped and the wall-clock time it stopped at (an
``audit_log`` row, ``demo.clock``), and ``arena chat``, ``arena api``, ``arena dashboard`` and
``arena dashboard-link`` on such a database continue from there: the wall clock shifted back by that
fixed offset, so every process reads the same time (a sign-in link issued in the chat is valid on
the dashboard, a trade through the API is not charged months of fees). Each says so when it starts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core import formatting
from core.clock import ensure_utc
from core.db import Database
from core.models import AuditLog

ACTION = "demo.clock"


class ContinuedClock:
    """Reads ``start`` at the wall-clock moment ``wall_start`` (default: now) and moves with the wall
    clock from there; two processes given the same pair read the same time. Never goes backwards."""

    def __init__(self, start: datetime, wall_start: datetime | None = None) -> None:
        self.start = ensure_utc(start)
        self.offset = (ensure_utc(wall_start) if wall_start else datetime.now(UTC)) - self.start
        self._last = self.start

    def now(self) -> datetime:
        self._last = max(self._last, datetime.now(UTC) - self.offset)
        return self._last


def record_demo_clock(db: Database, run: str) -> None:
    """Remember where the demo's simulated clock stopped."""
    with db.uow() as uow:
        now = uow.clock.now()
        uow.session.add(AuditLog(at=now, actor="demo", action=ACTION, subject=f"run:{run}",
                                 details={"now": now.isoformat(), "wall": datetime.now(UTC).isoformat()}))
        uow.commit()


def _demo_record(db: Database) -> dict[str, str] | None:
    with db.uow(read_only=True) as uow:
        details = uow.session.scalar(
            select(AuditLog.details).where(AuditLog.action == ACTION).order_by(AuditLog.id.desc()).limit(1)
        )
    return {str(k): str(v) for k, v in details.items()} if details else None


def demo_end(db: Database) -> datetime | None:
    """Where the last demo run's clock stopped, or None for a database no demo made."""
    record = _demo_record(db)
    return ensure_utc(datetime.fromisoformat(record["now"])) if record else None


def continue_demo_clock(db: Database, who: str = "the chat") -> str | None:
    """On a demo database, switch ``db`` to the demo's continued clock; returns the note to show
    (``who`` names the program in it). A database the demo made before the wall time was recorded
    continues from one minute after its end, counted from now."""
    record = _demo_record(db)
    if record is None:
        return None
    end = ensure_utc(datetime.fromisoformat(record["now"]))
    if end >= datetime.now(UTC):
        return None
    wall = ensure_utc(datetime.fromisoformat(record["wall"])) if "wall" in record else None
    db.clock = ContinuedClock(end, wall) if wall else ContinuedClock(end + timedelta(minutes=1))
    return (
        f"This database was made by `arena demo`, whose market data ends on {formatting.date_text(end)}; "
        f"{who} continues the demo's simulated time (now {formatting.datetime_text(db.clock.now())})."
    )


__all__ = ["ContinuedClock", "continue_demo_clock", "demo_end", "record_demo_clock"]
