"""Fault injection: PostgreSQL unreachable at startup, then connections cut mid-run (a loopback TCP
proxy in front of the real server refuses and drops connections). `serve` does not exit: it reports
unhealthy on /healthz (503, database retrying) and retries; once the database is back it migrates,
takes the scheduler lock and runs jobs; after a cut it recovers (pool pre-ping, lock watchdog)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.serve import serve
from core.config import Settings
from core.db import Database
from core.health import HealthRegistry, State
from core.models.chat import JobRun
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def proxied(pg_db: Database) -> Iterator[tuple[Database, TcpProxy]]:
    url = make_url(pg_db.url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    db = Database(through, clock=pg_db.clock)
    yield db, proxy
    db.dispose()
    proxy.stop()


async def healthz(port: int) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        return response.status, json.loads(await response.text())


async def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not {what} within {timeout}s")


def job_runs(db: Database) -> int:
    with db.uow(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(JobRun)) or 0)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_database_down_then_back_then_cut(
    proxied: tuple[Database, TcpProxy], pg_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    db, proxy = proxied
    port = _free_port()
    health = HealthRegistry()
    stop = asyncio.Event()
    proxy.down()
    settings = Settings(db_url=db.url, health_port=port, standby_poll_s=1, shutdown_grace_s=10)
    task = asyncio.create_task(serve(db, settings, stop=stop, say=lambda _: None, health=health))
    try:
        await wait_until(lambda: _state(health, "database") is State.RETRYING, 20, "database retrying")
        await asyncio.sleep(3)
        assert not task.done()  # still running, not exiting in a loop
        status, body = await healthz(port)
        assert status == 503 and body["healthy"] is False
        retries = [r for r in caplog.records if "database unreachable" in r.getMessage()]
        assert retries and all(r.exc_info is None for r in retries)

        proxy.up()
        await wait_until(lambda: _state(health, "scheduler") is State.UP, 60, "scheduler up after recovery")
        await wait_until(lambda: job_runs(pg_db) > 0, 30, "catch-up job runs recorded")
        status, body = await healthz(port)
        assert status == 200 and body["healthy"] is True

        proxy.down()  # cut every connection, including the one holding the scheduler lock
        await wait_until(lambda: _state(health, "database") is State.RETRYING, 30, "cut noticed")
        lost = lambda: any("lost its lock" in r.getMessage() for r in caplog.records)  # noqa: E731
        await wait_until(lost, 30, "the scheduler noticing its lock went with the connection")
        proxy.up()
        await wait_until(lambda: _state(health, "database") is State.UP, 60, "database back")
        await wait_until(lambda: _state(health, "scheduler") is State.UP, 60, "scheduler lock re-taken")
        assert not task.done()
        print(f"\ndatabase down: refused at startup, then {proxy.cuts} connections cut mid-run")
    finally:
        stop.set()
        code = await asyncio.wait_for(task, 60)
    assert code == 0
    with pg_db.uow(read_only=True) as uow:
        statuses = {r.status for r in uow.session.scalars(select(JobRun))}
    assert statuses <= {"done"}  # no run left half-done


def _state(health: HealthRegistry, component: str) -> State | None:
    status = health.get(component)
    return status.state if status else None
