"""The scheduler process: APScheduler's AsyncIOScheduler guarded by the single-instance lock.

Jobs are added with their fixed ids and ``replace_existing=True`` (registering twice leaves one
set), with each job's deliberate ``misfire_grace_time``/``coalesce``/``max_instances``. Job functions
are plain functions, so APScheduler runs them in its thread pool and the event loop (and the bots
sharing it) never blocks on database work. Every run goes through :func:`scheduler.runs.run_once`.

:meth:`ArenaScheduler.run` is what ``arena serve`` uses (times in seconds):

* **standby** — while another scheduler holds the lock, poll for it every ``standby_poll`` and
  report ``standby``; take over within one poll of the holder dying (PostgreSQL frees an advisory
  lock when its connection ends; the OS frees a file lock when its process ends);
* **catch-up** — on taking the lock, each job's latest slot that is still within its misfire
  grace and not done runs at once (a slot interrupted by a kill is re-run by its key once the dead
  owner's lease expires; a slot already done is never run twice);
* **watchdog** — every ``lock_check`` the lock is verified; a lost lock (the lock connection was
  cut) pauses the jobs and goes back to standby;
* **drain** — when ``stop`` is set no new run starts, runs in flight finish (up to ``drain_timeout``),
  and the lock is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from core.db import Database
from core.health import HealthRegistry, State
from core.health import registry as health_registry
from core.models.chat import JobRun
from core.notify import Notifier
from scheduler.jobs import JOBS, JobContext, JobHooks, JobSpec
from scheduler.lock import SingleInstanceLock
from scheduler.runs import DEFAULT_POLICY, RunPolicy, run_once

log = logging.getLogger(__name__)


class _InFlight:
    """Counts job runs in progress, so a drain can wait for them."""

    def __init__(self) -> None:
        self._count = 0
        self._cond = threading.Condition()

    def __enter__(self) -> None:
        with self._cond:
            self._count += 1

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._count -= 1
            self._cond.notify_all()

    @property
    def count(self) -> int:
        with self._cond:
            return self._count

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._count == 0, timeout=timeout)


class ArenaScheduler:
    """Owns the APScheduler instance, the lock and the job context."""

    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        *,
        hooks: JobHooks | None = None,
        policy: RunPolicy = DEFAULT_POLICY,
        health: HealthRegistry | None = None,
    ) -> None:
        self.context = JobContext(db, notifier, hooks or JobHooks())
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.lock = SingleInstanceLock(db.engine)
        self.policy = policy
        self.health = health or health_registry()
        self.in_flight = _InFlight()
        self._accepting = True

    # -- job functions ---------------------------------------------------------------------------
    def _run_slot(self, spec: JobSpec, slot: datetime) -> bool:
        if not self._accepting:
            log.info("job %s for %s not started: the scheduler is draining", spec.id, slot.isoformat())
            return False
        with self.in_flight:
            return run_once(
                self.context.db,
                spec.id,
                slot,
                lambda s: spec.body(self.context, s),
                self.policy,
                alert=self.context.alert,
            )

    def job_function(self, spec: JobSpec) -> Callable[[], bool]:
        """The callable APScheduler runs: compute the slot from the injected clock, run once."""

        def run() -> bool:
            return self._run_slot(spec, spec.slot(self.context.db.clock.now()))

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

    # -- simple lifecycle (tests, scripts) -------------------------------------------------------
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
        return self._run_slot(spec, spec.slot(when or self.context.db.clock.now()))

    # -- catch-up --------------------------------------------------------------------------------
    def due_slots(self) -> list[tuple[JobSpec, datetime]]:
        """Each job's latest slot that is within its misfire grace and not done yet."""
        now = self.context.db.clock.now()
        wanted = [(spec, spec.slot(now)) for spec in JOBS]
        wanted = [(s, slot) for s, slot in wanted if now - slot <= timedelta(seconds=s.misfire_grace_time)]
        with self.context.db.uow(read_only=True) as uow:
            done = {
                (job_id, slot)
                for job_id, slot in uow.session.execute(
                    select(JobRun.job_id, JobRun.scheduled_for).where(JobRun.status.in_(("done", "partial")))
                )
            }
        return [(s, slot) for s, slot in wanted if (s.id, slot) not in done]

    def _catch_up_job(self, spec: JobSpec, slot: datetime) -> None:
        """Run a missed or interrupted slot; while a dead owner's lease lives, try again after it."""
        if self._run_slot(spec, slot) or not self._accepting:
            return
        with self.context.db.uow(read_only=True) as uow:
            row = uow.session.scalar(
                select(JobRun).where(JobRun.job_id == spec.id, JobRun.scheduled_for == slot)
            )
        if row is None or row.status in ("done", "partial") or row.lease_until is None:
            return
        retry_at = max(row.lease_until, datetime.now(UTC)) + timedelta(seconds=1)
        log.info("job %s for %s: waiting for the previous owner's lease (until %s)", spec.id, slot, retry_at)
        self.scheduler.add_job(
            self._catch_up_job,
            "date",
            run_date=retry_at,
            args=(spec, slot),
            id=f"catchup:{spec.id}",
            replace_existing=True,
            misfire_grace_time=None,
        )

    def catch_up(self) -> list[str]:
        """Queue the due slots as one-off runs now; returns their job ids."""
        queued = []
        for spec, slot in self.due_slots():
            self.scheduler.add_job(
                self._catch_up_job,
                "date",
                run_date=datetime.now(UTC),
                args=(spec, slot),
                id=f"catchup:{spec.id}",
                replace_existing=True,
                misfire_grace_time=None,
            )
            queued.append(spec.id)
        return queued

    # -- the service loop ------------------------------------------------------------------------
    async def run(
        self,
        stop: asyncio.Event,
        *,
        standby_poll: float = 5.0,
        lock_check: float = 5.0,
        drain_timeout: float = 30.0,
        say: Callable[[str], None] | None = None,
    ) -> bool:
        """Schedule while holding the lock, stand by otherwise, drain on ``stop``.

        Returns True when the drain finished in time (no run left in flight)."""
        self.scheduler.start(paused=True)
        try:
            while not stop.is_set():
                if not await self._wait_for_lock(stop, standby_poll, say):
                    break
                await self._lead(stop, lock_check, say)
        finally:
            drained = await self._drain(drain_timeout)
        return drained

    async def _wait_for_lock(
        self, stop: asyncio.Event, poll: float, say: Callable[[str], None] | None
    ) -> bool:
        told = False
        failures = 0
        while not stop.is_set():
            try:
                if await asyncio.to_thread(self.lock.try_acquire):
                    return True
                failures = 0
                self.health.set("scheduler", State.STANDBY, "another scheduler holds the lock")
                if not told:
                    message = f"scheduler standby: {self.lock.busy_message()} Checking every {poll:.0f}s."
                    log.info(message)
                    if say:
                        say(message)
                    told = True
                delay = poll
            except Exception as error:  # database down: report unhealthy, retry with backoff
                failures += 1
                delay = min(poll * 2 ** (failures - 1), 60.0)
                self.health.set("scheduler", State.RETRYING, f"database: {type(error).__name__}")
                log.warning(
                    "scheduler: cannot reach the database for its lock (%s); retry in %.0fs",
                    type(error).__name__,
                    delay,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
        return False

    async def _lead(self, stop: asyncio.Event, lock_check: float, say: Callable[[str], None] | None) -> None:
        self._accepting = True
        self.register_jobs()
        try:
            queued = await asyncio.to_thread(self.catch_up)
        except Exception as error:  # cannot read job runs now: the cron triggers still run them
            log.warning("scheduler: catch-up skipped (%s)", type(error).__name__)
            queued = []
        self.scheduler.resume()
        jobs = ", ".join(spec.id for spec in JOBS)
        message = f"scheduler running ({self.lock.description}); jobs: {jobs}"
        if queued:
            message += f"; catching up: {', '.join(queued)}"
        log.info(message)
        if say:
            say(message)
        self.health.set("scheduler", State.UP, self.lock.description)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=lock_check)
            if stop.is_set():
                return
            if not await asyncio.to_thread(self.lock.still_held):
                self.scheduler.pause()
                self.scheduler.remove_all_jobs()
                self.health.set("scheduler", State.RETRYING, "lost the scheduler lock; reacquiring")
                log.warning("scheduler: lost its lock (connection cut); jobs paused until it is held again")
                return

    async def _drain(self, timeout: float) -> bool:
        """No new runs; wait for runs in flight; release the lock. True when nothing was left."""
        self._accepting = False
        self.health.set("scheduler", State.STOPPING, f"{self.in_flight.count} run(s) in flight")
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        drained = await asyncio.to_thread(self.in_flight.wait_idle, timeout)
        if not drained:
            log.warning(
                "scheduler: %d run(s) still in flight after %.0fs; they re-run by key at the next start",
                self.in_flight.count,
                timeout,
            )
        await asyncio.to_thread(self.lock.release)
        self.health.set("scheduler", State.STOPPED, "drained" if drained else "stopped with runs in flight")
        return drained
