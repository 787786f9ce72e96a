"""Idempotent job bodies: one :class:`~core.models.chat.JobRun` per (job id, scheduled time).

:func:`run_once` claims the slot in its own committed transaction (the unique constraint decides
between racing processes), runs the body, then records how it ended:

* ``done`` — every item succeeded;
* ``partial`` — the body returned, but some items failed: their ids and errors are in the detail's
  ``failed_items`` (``{item: "ErrorType: message"}``), beside what succeeded (``ok_items``);
* ``failed`` — the body raised (error type and message in the detail), or every item failed.

A ``failed`` slot may be claimed again by a later retry; ``done``, ``partial`` and ``running`` are
skipped. Anything but ``done`` is logged and, when the caller passes ``alert``, told to the
platform admins in chat. Slots are computed from the job's schedule (:func:`daily_slot`,
:func:`every_slot`), not from when the run happens to start, so a late or coalesced run maps
to the slot it stands for.
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
Alert = Callable[[str], None]
FAILED_ITEMS = "failed_items"
OK_ITEMS = "ok_items"


def outcome(detail: dict[str, Any] | None) -> str:
    """``done``, ``partial`` or ``failed`` from a body's returned detail (see the module doc)."""
    failed = (detail or {}).get(FAILED_ITEMS) or {}
    if not failed:
        return "done"
    return "failed" if not (detail or {}).get(OK_ITEMS) else "partial"


def error_text(exc: BaseException, limit: int = 300) -> str:
    """``ErrorType: first line of the message`` (shortened) for a job's record."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def run_once(db: Database, job_id: str, slot: datetime, body: Body, *, alert: Alert | None = None) -> bool:
    """Run ``body(slot)`` unless this slot already ran; True when it ran now.

    The body's exception is recorded (``failed``), logged, told through ``alert`` and re-raised.
    """
    if not _claim(db, job_id, slot):
        log.info("job %s for %s already ran; skipped", job_id, slot.isoformat())
        return False
    try:
        detail = body(slot)
    except Exception as exc:
        _finish(db, job_id, slot, "failed", {"error": type(exc).__name__, "message": error_text(exc)})
        log.exception(
            "job %s for %s failed",
            job_id,
            slot.isoformat(),
            extra={"job": job_id, "slot": slot.isoformat(), "status": "failed"},
        )
        _tell(alert, f"Job {job_id} ({slot:%Y-%m-%d %H:%M} UTC) failed: {error_text(exc)}")
        raise
    status = outcome(detail)
    _finish(db, job_id, slot, status, detail)
    if status != "done":
        failed = (detail or {}).get(FAILED_ITEMS) or {}
        log.warning(
            "job %s for %s ended %s: %d item(s) failed",
            job_id,
            slot.isoformat(),
            status,
            len(failed),
            extra={"job": job_id, "slot": slot.isoformat(), "status": status, "failed_items": failed},
        )
        lines = [f"- {item}: {error}" for item, error in list(failed.items())[:10]]
        more = f"\n… and {len(failed) - 10} more" if len(failed) > 10 else ""
        _tell(
            alert,
            f"Job {job_id} ({slot:%Y-%m-%d %H:%M} UTC) ended {status}: "
            f"{len(failed)} item(s) failed.\n" + "\n".join(lines) + more,
        )
    return True


def _tell(alert: Alert | None, text: str) -> None:
    if alert is None:
        return
    try:
        alert(text)
    except Exception:  # telling the admins must never hide the job's own outcome
        log.exception("could not alert the platform admins")
