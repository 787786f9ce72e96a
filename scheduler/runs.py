"""Idempotent job bodies: one :class:`~core.models.chat.JobRun` per (job id, scheduled time).

:func:`run_once` claims the slot in its own committed transaction (the unique constraint decides
between racing processes), runs the body, then records ``done`` (or ``failed`` with the error type,
so a later retry of the same slot may claim it again). A slot already ``done`` or ``running`` is
skipped. Slots are computed from the job's schedule (:func:`daily_slot`, :func:`every_slot`), not
from when the run happens to start, so a late or coalesced run maps to the slot it stands for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.db import Database
from core.models.chat import JobRun

log = logging.getLogger(__name__)

Body = Callable[[datetime], dict[str, Any] | None]


def daily_slot(now: datetime, hour: int, minute: int) -> datetime:
    """The most recent HH:MM (UTC) at or before ``now``."""
    slot = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return slot if slot <= now else slot - timedelta(days=1)


def hourly_slot(now: datetime, minute: int) -> datetime:
    """The most recent HH:``minute`` (UTC) at or before ``now``."""
    slot = now.replace(minute=minute, second=0, microsecond=0)
    return slot if slot <= now else slot - timedelta(hours=1)


def every_slot(now: datetime, minutes: int) -> datetime:
    """``now`` floored to a multiple of ``minutes`` within the day (UTC)."""
    floored = now.replace(second=0, microsecond=0)
    since_midnight = floored.hour * 60 + floored.minute
    return floored - timedelta(minutes=since_midnight % minutes)


def _claim(db: Database, job_id: str, slot: datetime) -> bool:
    with db.uow() as uow:
        existing = uow.session.scalar(
            select(JobRun).where(JobRun.job_id == job_id, JobRun.scheduled_for == slot)
        )
        now = uow.clock.now()
        if existing is not None:
            if existing.status != "failed":
                return False
            existing.status = "running"
            existing.started_at = now
        else:
            uow.session.add(JobRun(job_id=job_id, scheduled_for=slot, status="running", started_at=now))
        try:
            uow.commit()
        except IntegrityError:
            return False  # another process claimed it first
    return True


def _finish(db: Database, job_id: str, slot: datetime, status: str, detail: dict[str, Any] | None) -> None:
    with db.uow() as uow:
        row = uow.session.scalar(select(JobRun).where(JobRun.job_id == job_id, JobRun.scheduled_for == slot))
        if row is not None:
            row.status = status
            row.finished_at = uow.clock.now()
            row.detail = detail
            uow.commit()


def run_once(db: Database, job_id: str, slot: datetime, body: Body) -> bool:
    """Run ``body(slot)`` unless this slot already ran; True when it ran now."""
    if not _claim(db, job_id, slot):
        log.info("job %s for %s already ran; skipped", job_id, slot.isoformat())
        return False
    try:
        detail = body(slot)
    except Exception as exc:
        _finish(db, job_id, slot, "failed", {"error": type(exc).__name__})
        log.exception("job %s for %s failed", job_id, slot.isoformat())
        raise
    _finish(db, job_id, slot, "done", detail)
    return True
