"""The scheduler process: APScheduler's AsyncIOScheduler guarded by the single-instance lock.

Jobs are added with their fixed ids and ``replace_existing=True`` (registering twice leaves one
set), with each job's deliberate ``misfire_grace_time``/``coalesce``/``max_instances``. Job functions
are plain functions, so APScheduler runs them in its thread pool and the event loop (and the bots
sharing it) never blocks on database work. Every run goes through :func:`scheduler.runs.run_once`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from core.db import Database
from core.notify import Notifier
from scheduler.jobs import JOBS, JobContext, JobHooks, JobSpec
from scheduler.lock import SingleInstanceLock
from scheduler.runs import run_once

log = logging.getLogger(__name__)


class ArenaScheduler:
    """Owns the APScheduler instance, the lock and the job context."""

    def __init__(self, db: Database, notifier: Notifier, *, hooks: JobHooks | None = None) -> None:
        self.context = JobContext(db, notifier, hooks or JobHooks())
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.lock = SingleInstanceLock(db.engine)

    def job_function(self, spec: JobSpec) -> Callable[[], bool]:
        """The callable APScheduler runs: compute the slot from the injected clock, run once."""

        def run() -> bool:
            slot = spec.slot(self.context.db.clock.now())
            return run_once(
                self.context.db, spec.id, slot, lambda s: spec.body(self.context, s), alert=self.context.alert
            )

        run.__name__ = f"job_{spec.id}"
        return run

    def register_jobs(self) -> None:
        """Add every job (idempotent: fixed ids + replace_existing)."""
        for spec in JOBS:
            self.scheduler.add_job(
                self.job_function(spec),
                trigger=CronTrigger(timezone=UTC, **spec.cron),
                id=spec.id,
                name=spec.id,
                replace_existing=True,
                misfire_grace_time=spec.misfire_grace_time,
                coalesce=spec.coalesce,
                max_instances=spec.max_instances,
            )

    def start(self) -> None:
        """Take the lock (raises SchedulerAlreadyRunning), register and start; needs a running loop."""
        self.lock.acquire()
        log.info("scheduler holds the %s", self.lock.description)
        self.register_jobs()
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.lock.release()

    def run_now(self, job_id: str, when: datetime | None = None) -> bool:
        """Run one job body for the slot containing ``when`` (default: now); for tests and replay."""
        spec = next(s for s in JOBS if s.id == job_id)
        slot = spec.slot(when or self.context.db.clock.now())
        return run_once(
            self.context.db, spec.id, slot, lambda s: spec.body(self.context, s), alert=self.context.alert
        )
