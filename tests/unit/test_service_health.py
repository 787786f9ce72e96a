"""Service health: the registry's rules, what `arena status` shows, and /healthz."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import update

from bot.service_health import HealthPublisher, health_payload, service_rows, start_health_server
from core.db import Database
from core.health import HealthRegistry, State
from core.models.service import ServiceComponent


def test_unhealthy_only_when_an_essential_part_is_down() -> None:
    health = HealthRegistry()
    health.set("database", State.UP)
    health.set("scheduler", State.STANDBY)  # a standby is healthy: it is waiting on purpose
    health.set("telegram", State.RETRYING, "ConnectError")  # a chat platform being down is not fatal
    assert health.healthy()
    health.set("database", State.RETRYING, "OperationalError")
    assert not health.healthy()
    first = health.get("database")
    health.set("database", State.RETRYING, "still down")
    assert health.get("database").since == first.since  # type: ignore[union-attr]


def test_status_rows_mark_stale_heartbeats(sqlite_db: Database) -> None:
    health = HealthRegistry()
    health.set("telegram", State.RETRYING, "NetworkError: ConnectError; next try in 8s")
    publisher = HealthPublisher(sqlite_db, health, "host:1:abc")
    publisher.beat()  # pings the database (up) and writes both components
    with sqlite_db.uow(read_only=True) as uow:
        now = datetime.now(UTC)
        fresh = service_rows(uow.session, now)
        later = service_rows(uow.session, now + timedelta(seconds=31))
    assert {(r["component"], r["state"], r["stale"]) for r in fresh} == {
        ("database", "up", False),
        ("telegram", "retrying", False),
    }
    assert all(r["stale"] for r in later)
    publisher.beat()  # rewrites, does not duplicate
    with sqlite_db.uow(read_only=True) as uow:
        assert len(service_rows(uow.session)) == 2
    with sqlite_db.uow() as uow:  # a process that died two days ago
        uow.session.execute(update(ServiceComponent).values(updated_at=datetime.now(UTC) - timedelta(days=2)))
        uow.commit()
    HealthPublisher(sqlite_db, HealthRegistry(), "host:3:new").beat()  # another process's heartbeat
    with sqlite_db.uow(read_only=True) as uow:
        assert {r["instance"] for r in service_rows(uow.session)} == {"host:3:new"}  # the dead one forgotten


async def test_healthz_reflects_the_registry(unused_tcp_port: int) -> None:
    health = HealthRegistry()
    health.set("database", State.RETRYING, "down")
    runner = await start_health_server(health, unused_tcp_port)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{unused_tcp_port}/healthz") as response:
                assert response.status == 503
                assert json.loads(await response.text()) == json.loads(json.dumps(health_payload(health)))
            health.set("database", State.UP)
            async with session.get(f"http://127.0.0.1:{unused_tcp_port}/healthz") as response:
                assert response.status == 200
    finally:
        await runner.cleanup()


def test_arena_status_shows_each_adapter(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import app
    from core.config import get_settings

    health = HealthRegistry()
    health.set("discord", State.UP, "gateway connected")
    health.set("telegram", State.RETRYING, "NetworkError; next try in 4s")
    HealthPublisher(sqlite_db, health, "host:2:def").beat()
    monkeypatch.setenv("ARENA_DB_URL", sqlite_db.url)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["status", "--json"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    services = {(s["component"], s["state"]) for s in json.loads(result.output)["services"]}
    assert {("discord", "up"), ("telegram", "retrying"), ("database", "up")} <= services
