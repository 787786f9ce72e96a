"""Scheduler: fixed job set, coalesced misfires, single instance, idempotent bodies per slot."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select

from core.db import Database
from core.models.chat import JobRun
from core.notify import CollectingNotifier
from scheduler.jobs import JOB_IDS, JOBS
from scheduler.lock import SchedulerAlreadyRunning
from scheduler.runs import daily_slot, every_slot, hourly_slot
from scheduler.service import ArenaScheduler
from tests.e2e.chat_support import ChatWorld, make_token


def test_slots_are_the_scheduled_times() -> None:
    now = datetime(2025, 3, 4, 0, 3, tzinfo=UTC)
    assert daily_slot(now, 0, 5) == datetime(2025, 3, 3, 0, 5, tzinfo=UTC)
    assert daily_slot(now + timedelta(hours=5), 0, 5) == datetime(2025, 3, 4, 0, 5, tzinfo=UTC)
    assert hourly_slot(now, 45) == datetime(2025, 3, 3, 23, 45, tzinfo=UTC)
    assert every_slot(now + timedelta(minutes=29), 15) == datetime(2025, 3, 4, 0, 30, tzinfo=UTC)


async def test_jobs_registered_twice_stay_one_set(sqlite_db: Database) -> None:
    sched = ArenaScheduler(sqlite_db, CollectingNotifier())
    sched.start()
    try:
        sched.register_jobs()
        sched.register_jobs()
        jobs = sched.scheduler.get_jobs()
        assert sorted(j.id for j in jobs) == sorted(JOB_IDS)
        for job, spec in zip(sorted(jobs, key=lambda j: j.id), sorted(JOBS, key=lambda s: s.id), strict=True):
            assert job.coalesce is True and job.max_instances == 1
            assert job.misfire_grace_time == spec.misfire_grace_time
    finally:
        sched.shutdown()


async def test_missed_runs_coalesce_into_one(sqlite_db: Database) -> None:
    sched = ArenaScheduler(sqlite_db, CollectingNotifier())
    executed: list[str] = []

    def listener(event: JobExecutionEvent) -> None:
        executed.append(event.job_id)

    sched.scheduler.add_listener(listener, EVENT_JOB_EXECUTED)
    sched.start()
    try:
        # Pretend the process was down: with a 30 s interval, seven runs of proposal_expiry were missed
        # within its 5-minute misfire grace time (runs older than the grace time are dropped, by design).
        now = datetime.now(UTC)
        sched.scheduler.reschedule_job(
            "proposal_expiry", trigger=IntervalTrigger(seconds=30, start_date=now - timedelta(minutes=3))
        )
        sched.scheduler.modify_job("proposal_expiry", next_run_time=now - timedelta(minutes=3))
        sched.scheduler.wakeup()
        for _ in range(100):
            if executed:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
    finally:
        sched.shutdown()
    assert executed.count("proposal_expiry") == 1
    with sqlite_db.uow(read_only=True) as uow:
        runs = uow.session.scalar(
            select(func.count()).select_from(JobRun).where(JobRun.job_id == "proposal_expiry")
        )
    assert runs == 1


async def test_second_scheduler_is_refused(sqlite_db: Database) -> None:
    first = ArenaScheduler(sqlite_db, CollectingNotifier())
    first.start()
    second = ArenaScheduler(Database(sqlite_db.url, clock=sqlite_db.clock), CollectingNotifier())
    try:
        with pytest.raises(SchedulerAlreadyRunning, match="another scheduler is running"):
            second.start()
        assert not second.scheduler.running
    finally:
        first.shutdown()
    second.start()  # the standby takes over once the lock frees
    second.shutdown()


def test_bodies_are_idempotent_per_slot(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    make_token(sqlite_db)
    world.verify(world.onboard(100))
    world.say(100, "/digest 0")
    world.notifier.messages.clear()
    sched = ArenaScheduler(sqlite_db, world.notifier)
    when = datetime(2025, 1, 1, 0, 10, tzinfo=UTC)
    assert sched.run_now("digests", when) is True
    assert sched.run_now("digests", when + timedelta(minutes=20)) is False  # same 00:00 slot
    assert len(world.notifier.messages) == 1
    digest = world.notifier.messages[0]
    assert digest.chat_id == 100 and "Daily digest" in digest.reply.text
    assert digest.reply.attachments[0].data.startswith(b"\x89PNG")
    for job_id in JOB_IDS:
        sched.run_now(job_id, when)  # every body runs on an empty platform without error
    with sqlite_db.uow(read_only=True) as uow:
        statuses = {
            row.job_id: row.status for row in uow.session.execute(select(JobRun.job_id, JobRun.status))
        }
    assert set(statuses) == set(JOB_IDS) and set(statuses.values()) == {"done"}


def test_an_owner_of_two_wallets_gets_both_digests_once(sqlite_db: Database) -> None:
    """The day's "sent" mark is per chat, the digests are per wallet: the second wallet was skipped."""
    from core import ledger
    from core.models import User

    world = ChatWorld(sqlite_db)
    make_token(sqlite_db)
    org_id = world.onboard(100)
    world.verify(org_id)
    world.say(100, "/digest 0")
    with sqlite_db.uow(read_only=True) as uow:
        user_id = uow.session.scalar(select(User.id).where(User.platform_user_id == "100"))
    assert user_id is not None
    ledger.create_wallet(sqlite_db.uow(), organisation_id=org_id, name="Building fund",
                         idempotency_key="second-wallet", owner_user_ids=[user_id])
    world.notifier.messages.clear()
    sched = ArenaScheduler(sqlite_db, world.notifier)
    when = datetime(2025, 1, 1, 0, 10, tzinfo=UTC)
    assert sched.run_now("digests", when) is True
    assert sched.run_now("digests", when + timedelta(hours=24)) is True  # the next day: both again
    texts = [m.reply.text for m in world.notifier.messages]
    assert len(texts) == 4 and all(m.chat_id == 100 for m in world.notifier.messages)
    assert sum("Building fund" in t for t in texts) == 2, texts
