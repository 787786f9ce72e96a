"""Publishing the service's health: the ``service_components`` table and ``GET /healthz``.

:class:`HealthPublisher` pings the database every ``interval`` seconds (state ``database``) and
writes the registry's snapshot as this instance's rows; ``arena status`` reads them back with
:func:`service_rows` (a row whose heartbeat is older than :data:`STALE_AFTER` seconds is reported
as ``stale``: its process stopped or lost the database). :func:`start_health_server` serves the
snapshot on loopback for probes: 200 when healthy, 503 otherwise — it needs no database, so it
stays truthful while the database is down.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.platforms import Backoff, sleep_unless
from core.db import Database, ping
from core.formatting import datetime_text
from core.health import HealthRegistry, State
from core.models.service import ServiceComponent

log = logging.getLogger(__name__)

STALE_AFTER = 30.0
FORGET_AFTER = 86_400.0  # rows of a process silent for a day are removed by the next heartbeat


class HealthPublisher:
    """Heartbeat: database check plus the registry snapshot written to ``service_components``."""

    def __init__(self, db: Database, health: HealthRegistry, instance: str, interval: float = 5.0) -> None:
        self.db, self.health, self.instance, self.interval = db, health, instance, interval

    def check_database(self) -> bool:
        try:
            ping(self.db.engine)
        except Exception as error:  # down or unreachable: reported, retried at the next beat
            was = self.health.get("database")
            # One warning when the database goes away (then debug per beat: no flood while down).
            level = logging.DEBUG if was is not None and was.state is State.RETRYING else logging.WARNING
            log.log(level, "health: database unreachable (%s); retrying at the next beat",
                    type(error).__name__)
            self.health.set("database", State.RETRYING, f"{type(error).__name__}: unreachable")
            return False
        self.health.set("database", State.UP, self.db.engine.dialect.name)
        return True

    def publish(self) -> None:
        """Write this instance's rows (one transaction)."""
        now = datetime.now(UTC)
        snapshot = self.health.snapshot()
        with self.db.uow() as uow:
            gone = ServiceComponent.updated_at < now - timedelta(seconds=FORGET_AFTER)  # long-dead processes
            uow.session.execute(
                delete(ServiceComponent).where((ServiceComponent.instance == self.instance) | gone)
            )
            for status in snapshot:
                uow.session.add(
                    ServiceComponent(
                        instance=self.instance,
                        component=status.component,
                        state=status.state.value,
                        detail=status.detail,
                        since=status.since,
                        updated_at=now,
                    )
                )
            uow.commit()

    def beat(self) -> None:
        if self.check_database():
            try:
                self.publish()
            except Exception as error:  # lost between ping and write: the next beat tries again
                log.warning("health: cannot record component states (%s)", type(error).__name__)

    async def run(self, stop: asyncio.Event) -> None:
        backoff = Backoff(self.interval, 60.0)
        while not stop.is_set():
            ok = await asyncio.to_thread(self._beat_ok)
            delay = self.interval if ok else backoff.next()
            if ok:
                backoff.reset()
            if await sleep_unless(stop, delay):
                return

    def _beat_ok(self) -> bool:
        self.beat()
        status = self.health.get("database")
        return status is not None and status.state is State.UP


def service_rows(session: Session, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every recorded component of every instance, with ``stale`` set for old heartbeats."""
    now = now or datetime.now(UTC)
    rows = session.scalars(
        select(ServiceComponent).order_by(ServiceComponent.instance, ServiceComponent.component)
    ).all()
    return [
        {
            "instance": r.instance,
            "component": r.component,
            "state": r.state,
            "detail": r.detail,
            "since": r.since.isoformat(),
            "updated_at": r.updated_at.isoformat(),
            "stale": now - r.updated_at > timedelta(seconds=STALE_AFTER),
        }
        for r in rows
    ]


def render_services(console: Any, rows: list[dict[str, Any]]) -> None:
    """The services table of ``arena status`` (nothing when no ``arena serve`` ever ran)."""
    if not rows:
        console.print("Services: no `arena serve` has reported yet")
        return
    from rich.table import Table

    table = Table(title="Services (arena serve)")
    for column in ("instance", "component", "state", "detail", "since"):
        table.add_column(column)
    for row in rows:
        state = f"{row['state']} (stale)" if row["stale"] else row["state"]
        since = datetime_text(datetime.fromisoformat(row["since"]))
        table.add_row(row["instance"], row["component"], state, row["detail"], since)
    console.print(table)


def health_payload(health: HealthRegistry) -> dict[str, Any]:
    return {"healthy": health.healthy(), "components": [s.as_dict() for s in health.snapshot()]}


async def start_health_server(health: HealthRegistry, port: int, host: str = "127.0.0.1") -> web.AppRunner:
    """``GET /healthz`` on ``host:port``; returns the runner (``await runner.cleanup()`` stops it)."""

    async def healthz(request: web.Request) -> web.Response:
        payload = health_payload(health)
        return web.Response(
            text=json.dumps(payload),
            status=200 if payload["healthy"] else 503,
            content_type="application/json",
        )

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("health endpoint on http://%s:%d/healthz", host, port)
    return runner
