"""Fault injection: SIGKILL of `arena serve` at random points of a cycle (rebalance, digest run,
outbox flush), then a restart; SIGTERM in the middle of a cycle.

Each run starts from the same world (a database template) on a fixed business clock
(``ARENA_CLOCK``), so the rebalance and digest slots are due and run at startup (catch-up). An
uninterrupted run is the reference. Every killed-and-restarted run must end with: every job run
``done`` once, `arena ledger check`'s invariants holding, the identical ledger (balances, every
transaction's postings, holdings) and outbox, and the identical messages at the fake Bot API — a
part that was handed to the platform just before the kill may arrive twice (at-least-once); those
duplicates are counted and bounded by the number of kills. SIGTERM exits 0 within the stated
grace time with no job half-done.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import func, select

from core.clock import SimulatedClock
from core.db import Database
from core.models.chat import JobRun, OutboxMessage
from tests.conftest import START, drop_pg_db, make_pg_db
from tests.support.fake_platforms import FakeBotAPI
from tests.support.fault_world import build_world, end_state
from tests.support.ledger_world import violations
from tests.support.serve_process import ServeProcess, serve_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

TOKEN = "123456:KILL-test-token-abcdefghijklmnopqrstuvwxy"
SEEDS = (3, 7, 19, 29, 31, 43) if os.environ.get("ARENA_DEEP_TESTS") == "1" else (3, 7, 19)
GRACE_S = 20.0
DUE_JOBS = ("rebalance_and_drift", "digests")
KILLS: dict[str, int] = {"kills": 0, "duplicate_parts": 0}


@dataclass
class Run:
    state: dict[str, object]
    messages: dict[int, list[str]]
    duplicates: int


@pytest.fixture(scope="module")
def world(_pg_template: str) -> Iterator[tuple[str, datetime]]:
    clock = SimulatedClock(START)
    db, name = make_pg_db(_pg_template, clock)
    due = build_world(db, clock)
    db.dispose()
    yield name, due
    drop_pg_db(name)


def quiescent(db: Database) -> bool:
    with db.uow(read_only=True) as uow:
        done = set(uow.session.scalars(select(JobRun.job_id).where(JobRun.status == "done")))
        pending = uow.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
        )
    return set(DUE_JOBS) <= done and not pending


def env_for(db: Database, fake: FakeBotAPI, due: datetime) -> dict[str, str]:
    return serve_env(
        db.url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        ARENA_TELEGRAM_BASE_URL=fake.url,
        ARENA_CLOCK=due.isoformat(),
        ARENA_JOB_LEASE_S="3",
        ARENA_OUTBOX_LEASE_S="3",
        ARENA_STANDBY_POLL_S="1",
        ARENA_SHUTDOWN_GRACE_S=str(GRACE_S),
    )


def run_until_quiet(db: Database, env: dict[str, str], kill_after: list[float]) -> float:
    """Serve until quiescent, SIGKILLing it after each delay in ``kill_after`` and restarting."""
    start = time.monotonic()
    for delay in kill_after:
        proc = ServeProcess(env)
        try:
            time.sleep(delay)
            proc.kill()
            KILLS["kills"] += 1
        finally:
            proc.close()
    proc = ServeProcess(env)
    try:
        proc.wait_for("scheduler running", timeout=90)  # up (signal handlers installed)
        deadline = time.monotonic() + 120
        while not quiescent(db) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert quiescent(db), proc.output()
        took = time.monotonic() - start
        time.sleep(1.5)  # a duplicate send would arrive now
        code, stop_took = proc.stop(signal.SIGTERM, timeout=GRACE_S + 10)
        assert code == 0 and stop_took < GRACE_S, proc.output()
    finally:
        proc.close()
    return took


def collect(db: Database, fake: FakeBotAPI) -> Run:
    chats = sorted({d.chat_id for d in fake.delivered})
    raw = {chat: fake.texts(chat) for chat in chats}
    messages = {chat: _dedupe_adjacent(texts) for chat, texts in raw.items()}
    duplicates = sum(len(raw[c]) - len(messages[c]) for c in chats)
    state = end_state(db)
    return Run(state, messages, duplicates)


def one_run(template: str, due: datetime, kill_after: list[float]) -> tuple[Run, float]:
    db, name = make_pg_db(template, SimulatedClock(due))
    fake = FakeBotAPI().start()
    try:
        took = run_until_quiet(db, env_for(db, fake, due), kill_after)
        assert violations(db) == []
        with db.uow(read_only=True) as uow:
            statuses = [(r.job_id, r.status) for r in uow.session.scalars(select(JobRun))]
        assert all(status == "done" for _, status in statuses)  # nothing half-done
        assert len(statuses) == len(set(statuses))  # each (job, slot) once
        return collect(db, fake), took
    finally:
        fake.stop()
        db.dispose()
        drop_pg_db(name)


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    print(f"\nSIGKILL fault injection: {KILLS['kills']} kills, {KILLS['duplicate_parts']} duplicate parts")


@pytest.fixture(scope="module")
def reference(world: tuple[str, datetime]) -> tuple[Run, float]:
    template, due = world
    run, took = one_run(template, due, [])
    assert run.duplicates == 0
    assert sum(len(v) for v in run.messages.values()) > 0  # the cycle did push messages
    return run, took


@pytest.mark.parametrize("seed", SEEDS)
def test_sigkill_at_random_points_then_restart(
    world: tuple[str, datetime], reference: tuple[Run, float], seed: int
) -> None:
    template, due = world
    expected, took = reference
    rng = random.Random(seed)
    kills = [rng.uniform(2.0, took + 2.0) for _ in range(rng.choice((1, 2)))]
    got, _ = one_run(template, due, kills)
    KILLS["duplicate_parts"] += got.duplicates
    assert got.state == expected.state
    assert got.messages == expected.messages
    assert got.duplicates <= len(kills)


def test_sigterm_mid_cycle_exits_zero_in_time_and_restart_completes(world: tuple[str, datetime]) -> None:
    template, due = world
    db, name = make_pg_db(template, SimulatedClock(due))
    fake = FakeBotAPI().start()
    env = env_for(db, fake, due)
    try:
        proc = ServeProcess(env)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not _running(db):
                time.sleep(0.02)
            assert _running(db), "no job run was in flight to interrupt"
            code, took = proc.stop(signal.SIGTERM, timeout=GRACE_S + 10)
            assert code == 0 and took < GRACE_S, proc.output()
        finally:
            proc.close()
        with db.uow(read_only=True) as uow:
            assert "running" not in set(uow.session.scalars(select(JobRun.status)))  # no job half-done
        run_until_quiet(db, env, [])
        assert violations(db) == []
    finally:
        fake.stop()
        db.dispose()
        drop_pg_db(name)


def _running(db: Database) -> bool:
    with db.uow(read_only=True) as uow:
        return bool(
            uow.session.scalar(select(func.count()).select_from(JobRun).where(JobRun.status == "running"))
        )


def _dedupe_adjacent(texts: list[str]) -> list[str]:
    out: list[str] = []
    for text in texts:
        if not out or out[-1] != text:
            out.append(text)
    return out
