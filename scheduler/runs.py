"""Idempotent job bodies: one :class:`~core.models.chat.JobRun` per (job id, scheduled time).

:func:`run_once` claims the slot in its own committed transaction (the unique constraint decides
between racing processes), runs the body, then records how it ended:

* ``done`` — every item succeeded;
* ``partial`` — the body returned, but some items failed: their ids and errors are in the detail's
  ``failed_items`` (``{item: "ErrorType: message"}``), beside what succeeded (``ok_items``);
* ``failed`` — the body raised (error type and message in the detail), or every item failed.

Anything but ``done`` is logged and, when the caller passes ``alert``, told to the platform admins
in chat. Exactly once, by key:

* a slot already ``done`` or ``partial`` is skipped;
* a slot ``running`` under a live lease is skipped: its owner renews ``lease_until`` (wall clock)
  every third of the lease while the body runs;
* a slot ``failed``, or ``running`` under an expired lease (its owner was killed or lost the
  database), is taken over and run again (``attempts`` counts the claims);
* a body that hits a transient database error (a dropped connection, a restarted server) is run
  again in the same process, a bounded number of times with backoff; bodies are written so a
  re-run finishes what the interrupted run left (ledger work is keyed by idempotency keys).

Slots are computed from the job's schedule (:func:`daily_slot`, :func:`every_slot`), not from when
the run happens to start, so a late or coalesced run maps to the slot it stands for.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.clock import Clock, SystemClock
from core.config import get_settings
from core.db import Database, is_transient_db_error, retry_transient
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
    """``ErrorType: first line of the message`` (shortened, configured secrets masked) for a job's
    record and the admins' alert."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    for secret in _secrets():
        first = first.replace(secret, "[REDACTED]")
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _secrets() -> list[str]:
    settings = get_settings()
    values = (getattr(settings, name) for name in type(settings).model_fields)
    return [v.get_secret_value() for v in values
            if isinstance(v, SecretStr) and len(v.get_secret_value()) >= 6]


def daily_slot(now: datetime, hour: int, minute: int) -> datetime:
    """The most recent HH:MM (UTC) at or before ``now``."""
    slot = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return slot if slot <= now else slot - timedelta(days=1)


def monthly_slot(now: datetime, hour: int, minute: int) -> datetime:
    """The most recent first-of-the-month HH:MM (UTC) at or before ``now``."""
    slot = now.replace(day=1, hour=hour, minute=minute, second=0, microsecond=0)
    if slot <= now:
        return slot
    return (slot - timedelta(days=1)).replace(day=1)


def hourly_slot(now: datetime, minute: int) -> datetime:
    """The most recent HH:``minute`` (UTC) at or before ``now``."""
    slot = now.replace(minute=minute, second=0, microsecond=0)
    return slot if slot <= now else slot - timedelta(hours=1)


def every_slot(now: datetime, minutes: int) -> datetime:
    """``now`` floored to a multiple of ``minutes`` within the day (UTC)."""
    floored = now.replace(second=0, microsecond=0)
    since_midnight = floored.hour * 60 + floored.minute
    return floored - timedelta(minutes=since_midnight % minutes)


@dataclass(frozen=True, slots=True)
class RunPolicy:
    """Who runs (``owner``), how long a claim lives unrenewed, how often transient errors retry."""

    owner: str = "local"
    lease: timedelta = timedelta(seconds=60)
    db_attempts: int = 3  # runs of the body in all when it hits transient database errors
    wall: Clock = field(default_factory=SystemClock)


DEFAULT_POLICY = RunPolicy()


def _claim(db: Database, job_id: str, slot: datetime, policy: RunPolicy) -> bool:
    with db.uow() as uow:
        existing = uow.session.scalar(
            select(JobRun).where(JobRun.job_id == job_id, JobRun.scheduled_for == slot).with_for_update()
        )
        now = uow.clock.now()
        wall = policy.wall.now()
        lease_until = wall + policy.lease
        if existing is not None:
            if existing.status in ("done", "partial"):
                return False
            live = existing.lease_until is not None and existing.lease_until > wall
            if existing.status == "running" and live and existing.owner != policy.owner:
                return False
            if existing.status == "running":
                log.warning(
                    "job %s for %s: taking over from %s (lease expired)",
                    job_id,
                    slot.isoformat(),
                    existing.owner or "an unknown owner",
                )
            existing.status = "running"
            existing.started_at = now
            existing.finished_at = None
            existing.attempts = (existing.attempts or 1) + 1
            existing.owner = policy.owner
            existing.lease_until = lease_until
        else:
            uow.session.add(
                JobRun(
                    job_id=job_id,
                    scheduled_for=slot,
                    status="running",
                    started_at=now,
                    attempts=1,
                    owner=policy.owner,
                    lease_until=lease_until,
                )
            )
        try:
            uow.commit()
        except IntegrityError:
            return False  # another process claimed it first
    return True


def _owned(job_id: str, slot: datetime, owner: str) -> Any:
    return (JobRun.job_id == job_id) & (JobRun.scheduled_for == slot) & (JobRun.owner == owner)


def _finish(
    db: Database, job_id: str, slot: datetime, status: str, detail: dict[str, Any] | None, owner: str
) -> bool:
    """Record the outcome if this owner still holds the run; False when it was taken over."""

    def write() -> bool:
        with db.uow() as uow:
            result = uow.session.execute(
                update(JobRun)
                .where(_owned(job_id, slot, owner))
                .values(status=status, finished_at=uow.clock.now(), detail=detail, lease_until=None)
            )
            uow.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]

    return retry_transient(write, what=f"recording job {job_id}")


class _LeaseKeeper:
    """Renews a running job's lease every third of its length until stopped."""

    def __init__(self, db: Database, job_id: str, slot: datetime, policy: RunPolicy) -> None:
        self.db, self.job_id, self.slot, self.policy = db, job_id, slot, policy
        self._stop = threading.Event()
        self.lost = False
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id}", daemon=True)

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        interval = self.policy.lease.total_seconds() / 3
        while not self._stop.wait(interval):
            try:
                with self.db.uow() as uow:
                    result = uow.session.execute(
                        update(JobRun)
                        .where(_owned(self.job_id, self.slot, self.policy.owner), JobRun.status == "running")
                        .values(lease_until=self.policy.wall.now() + self.policy.lease)
                    )
                    uow.commit()
                if not result.rowcount:  # type: ignore[attr-defined]
                    self.lost = True
                    log.warning(
                        "job %s: lease lost (taken over); its result will not be recorded", self.job_id
                    )
                    return
            except Exception as error:  # database trouble: the next beat tries again
                log.warning("job %s: cannot renew its lease (%s)", self.job_id, type(error).__name__)


def run_once(
    db: Database,
    job_id: str,
    slot: datetime,
    body: Body,
    policy: RunPolicy = DEFAULT_POLICY,
    *,
    alert: Alert | None = None,
) -> bool:
    """Run ``body(slot)`` unless this slot already ran (or runs elsewhere); True when it ran now.

    A transient database error re-runs the body (``policy.db_attempts`` in all); any other
    exception is recorded (``failed``), logged, told through ``alert`` and re-raised.
    """
    for attempt in range(1, policy.db_attempts + 1):
        if not retry_transient(lambda: _claim(db, job_id, slot, policy), what=f"claiming job {job_id}"):
            log.info("job %s for %s already ran or runs elsewhere; skipped", job_id, slot.isoformat())
            return False
        try:
            with _LeaseKeeper(db, job_id, slot, policy):
                detail = body(slot)
        except Exception as exc:
            failure = {"error": type(exc).__name__, "message": error_text(exc), "attempt": attempt}
            _finish(db, job_id, slot, "failed", failure, policy.owner)
            if is_transient_db_error(exc) and attempt < policy.db_attempts:
                log.warning(
                    "job %s for %s: database trouble (%s); running it again (%d of %d)",
                    job_id,
                    slot.isoformat(),
                    type(exc).__name__,
                    attempt + 1,
                    policy.db_attempts,
                )
                continue
            log.exception(
                "job %s for %s failed",
                job_id,
                slot.isoformat(),
                extra={"job": job_id, "slot": slot.isoformat(), "status": "failed"},
            )
            _tell(alert, f"Job {job_id} ({slot:%Y-%m-%d %H:%M} UTC) failed: {error_text(exc)}")
            raise
        status = outcome(detail)
        _finish(db, job_id, slot, status, detail, policy.owner)
        if status != "done":
            _report_items(job_id, slot, status, detail, alert)
        return True
    return False  # pragma: no cover - the loop returns or raises


def _report_items(
    job_id: str, slot: datetime, status: str, detail: dict[str, Any] | None, alert: Alert | None
) -> None:
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


def _tell(alert: Alert | None, text: str) -> None:
    if alert is None:
        return
    try:
        alert(text)
    except Exception:  # telling the admins must never hide the job's own outcome
        log.exception("could not alert the platform admins")
