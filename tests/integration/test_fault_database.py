"""Fault injection, PostgreSQL: the service's backend is terminated (``pg_terminate_backend``) in the
middle of a rebalance cycle and in the middle of fee marking, at points drawn from several seeds.

The work is retried by its keys (bounded, with backoff) — a fee accrual in place, a rebalance cycle
as a second run of the job — and completes exactly once (one ``done`` job run, a logged retry);
``arena ledger check``'s invariants hold, and the end state — every balance, every transaction's
postings, holdings, the messages in the outbox — is identical to an uninterrupted run of the same
job on a twin database.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, event, select, text

from bot.outbound import OutboundQueue
from bot.outbox_store import DatabaseOutbox
from core.clock import SimulatedClock
from core.db import Database, normalise_url
from core.health import HealthRegistry
from core.models.chat import JobRun
from scheduler.service import ArenaScheduler
from tests.conftest import PG_URL, START, _admin_url, drop_pg_db, make_pg_db
from tests.support.fault_world import build_world, end_state
from tests.support.ledger_world import violations

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SEEDS = (11, 23, 37, 41, 59) if os.environ.get("ARENA_DEEP_TESTS") == "1" else (11, 23)
TERMINATED: dict[str, int] = {}  # job -> backends terminated (quoted in docs/TESTING.md)


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    print(f"\npg_terminate_backend fault injection: {TERMINATED}")


@pytest.fixture(scope="module")
def world_template(_pg_template: str) -> Iterator[tuple[str, datetime]]:
    """A migrated database with the fault world in it, used as a CREATE DATABASE template."""
    clock = SimulatedClock(START)
    db, name = make_pg_db(_pg_template, clock)
    due = build_world(db, clock)
    db.dispose()
    yield name, due
    drop_pg_db(name)


class BackendKiller:
    """Terminates the connection that is about to run the ``nth`` statement starting with ``prefix``."""

    def __init__(self, db: Database, prefix: str, nth: int) -> None:
        self.prefix, self.nth, self.seen, self.fired = prefix, nth, 0, 0
        assert PG_URL
        self.admin = create_engine(normalise_url(_admin_url(PG_URL)), isolation_level="AUTOCOMMIT")
        event.listen(db.engine, "before_cursor_execute", self.before)

    def before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(self.prefix):
            return
        self.seen += 1
        if self.seen == self.nth:
            pid = conn.connection.dbapi_connection.info.backend_pid
            with self.admin.connect() as admin:
                admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            self.fired += 1

    def close(self) -> None:
        self.admin.dispose()


def run_job(db: Database, job_id: str, when: datetime, killer: BackendKiller | None = None) -> None:
    queue = OutboundQueue(DatabaseOutbox(db), health=HealthRegistry())
    ArenaScheduler(db, queue, health=HealthRegistry()).run_now(job_id, when)


def twin(template: str, when: datetime) -> tuple[Database, str]:
    return make_pg_db(template, SimulatedClock(when))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "job_id,prefix,span",
    [
        ("rebalance_and_drift", "INSERT INTO POSTINGS", 29),  # mid-trade, mid-cycle (29 in a run)
        ("nav_marks_and_fees", "INSERT INTO POSTINGS", 6),  # mid fee marking (one per token)
        ("rebalance_and_drift", "INSERT INTO TOKEN_HOLDINGS", 20),
    ],
)
def test_terminated_backend_mid_job(
    world_template: tuple[str, datetime],
    job_id: str,
    prefix: str,
    span: int,
    seed: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    template, due = world_template
    nth = random.Random(seed).randint(1, span)
    clean, clean_name = twin(template, due)
    faulty, faulty_name = twin(template, due)
    killer = BackendKiller(faulty, prefix, nth)
    try:
        run_job(clean, job_id, due)
        run_job(faulty, job_id, due)
        if not killer.fired:
            pytest.skip(f"the job ran fewer than {nth} {prefix} statements (seed {seed})")
        TERMINATED[job_id] = TERMINATED.get(job_id, 0) + killer.fired
        assert violations(faulty) == []
        with faulty.uow(read_only=True) as uow:
            runs = [
                (r.status, r.attempts)
                for r in uow.session.scalars(select(JobRun).where(JobRun.job_id == job_id))
            ]
        assert len(runs) == 1 and runs[0][0] == "done" and runs[0][1] <= 2  # once
        assert any("database trouble" in r.getMessage() for r in caplog.records)  # and it was retried
        assert end_state(faulty) == end_state(clean)
    finally:
        killer.close()
        for db, name in ((clean, clean_name), (faulty, faulty_name)):
            db.dispose()
            drop_pg_db(name)
