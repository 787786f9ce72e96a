"""``arena serve``: the scheduler, the outbox sender and whichever chat adapters have tokens, in one
event loop — and none of them can take the others down.

Startup: the database is waited for (capped exponential backoff, state ``database: retrying``),
migrations are applied, then every part starts on its own: the scheduler (or a standby waiting for
the lock), the outbox sender, and each chat adapter in the background (:mod:`bot.platforms`: a
platform that cannot be reached is retried, one log line per retry). Telegram runs in polling mode,
or webhook mode when ``ARENA_TELEGRAM_WEBHOOK_URL`` is set (the secret token
``ARENA_TELEGRAM_WEBHOOK_SECRET`` is then required). Health goes to ``service_components`` (``arena
status``) and, with ``ARENA_HEALTH_PORT``, to ``GET /healthz`` on loopback.

Shutdown (SIGTERM or SIGINT), within ``ARENA_SHUTDOWN_GRACE_S`` seconds (default 30): stop taking
updates, let the scheduler finish its runs in flight (no new run starts) and release its lock, flush
the outbox once more, give back any outbox lease, close the adapters, exit 0. A run still in flight
at the deadline is abandoned mid-transaction (rolled back) and re-run by its key at the next start.
Secrets are read from Settings (SecretStr) and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.outbound import OutboundQueue, brief_error
from bot.outbox_store import DatabaseOutbox, instance_id
from bot.platforms import Backoff, DiscordRunner, Runner, TelegramRunner, sleep_unless
from bot.redaction import install as install_redaction
from bot.redaction import quiet_platform_logs
from bot.service_health import HealthPublisher, start_health_server
from bot.wiring import command_hooks, install_safety, job_hooks
from core.commands.dispatcher import CommandLayer
from core.config import Settings
from core.db import Database, ping
from core.errors import ArenaError
from core.health import HealthRegistry, State
from core.health import registry as health_registry
from scheduler.runs import RunPolicy
from scheduler.service import ArenaScheduler

log = logging.getLogger(__name__)

NO_ADAPTERS = (
    "No chat adapter configured (set TELEGRAM_BOT_TOKEN and/or DISCORD_BOT_TOKEN). The scheduler runs; "
    "to talk to the platform without a bot, use: arena chat --user NAME  (or --script FILE)."
)


async def wait_for_database(
    db: Database, stop: asyncio.Event, health: HealthRegistry, *, migrate: bool = True
) -> bool:
    """Block until the database answers (and is migrated); False when stopped first."""
    from core.migrations import upgrade

    backoff = Backoff(1.0, 60.0)
    while not stop.is_set():
        try:
            await asyncio.to_thread(ping, db.engine)
            if migrate:
                await asyncio.to_thread(upgrade, db.engine)
            health.set("database", State.UP, db.engine.dialect.name)
            return True
        except Exception as error:  # down, refusing, or mid-restart: say so, wait, try again
            delay = backoff.next()
            health.set("database", State.RETRYING, f"{brief_error(error)}; next try in {delay:.0f}s")
            log.warning("database unreachable (%s); retrying in %.0fs", brief_error(error), delay)
            if await sleep_unless(stop, delay):
                return False
    return False


class Service:
    """The parts of one ``arena serve`` process and their start/drain order."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        scheduler: bool,
        health: HealthRegistry,
        say: Callable[[str], Any],
    ) -> None:
        self.db, self.settings, self.health, self.say = db, settings, health, say
        self.instance = instance_id()
        self.outbox = DatabaseOutbox(
            db, owner=self.instance, lease=timedelta(seconds=settings.outbox_lease_s)
        )
        self.queue = OutboundQueue(self.outbox, health=health)
        self.layer = CommandLayer(db, settings, hooks=command_hooks(db, settings), notifier=self.queue)
        self.scheduler: ArenaScheduler | None = None
        if scheduler:
            policy = RunPolicy(owner=self.instance, lease=timedelta(seconds=settings.job_lease_s))
            self.scheduler = ArenaScheduler(
                db, self.queue, hooks=job_hooks(settings, self.queue), policy=policy, health=health
            )
            self.scheduler.context.outbox_retention_days = settings.outbox_retention_days
        self.runners: list[Runner] = []
        if settings.telegram_bot_token is not None:
            self.runners.append(TelegramRunner(self.layer, self.queue, settings, health))
        if settings.discord_bot_token is not None:
            self.runners.append(DiscordRunner(self.layer, self.queue, settings, health))
        self.publisher = HealthPublisher(db, health, self.instance)

    async def run(self, stop: asyncio.Event) -> bool:
        """Run until ``stop``; then drain. True when the drain left nothing in flight."""
        outbox_stop, publisher_stop = asyncio.Event(), asyncio.Event()
        tasks: dict[str, asyncio.Task[Any]] = {}
        if self.scheduler is not None:
            tasks["scheduler"] = asyncio.create_task(
                self.scheduler.run(
                    stop,
                    standby_poll=self.settings.standby_poll_s,
                    drain_timeout=self.settings.shutdown_grace_s,
                    say=self.say,
                ),
                name="scheduler",
            )
        else:
            self.health.set("scheduler", State.DISABLED, "--no-scheduler")
        for runner in self.runners:
            tasks[runner.name] = asyncio.create_task(self._supervise(runner, stop), name=runner.name)
        if not self.runners:
            self.say(NO_ADAPTERS)
        if self.settings.http:  # the REST API's five services (ARENA_HTTP=1)
            from bot.web.serving import run_http

            tasks["http"] = asyncio.create_task(
                run_http(self.db, self.settings, self.queue, stop, self.say), name="http")
        tasks["outbox"] = asyncio.create_task(self.queue.run(outbox_stop), name="outbox")
        tasks["health"] = asyncio.create_task(self.publisher.run(publisher_stop), name="health")
        await stop.wait()
        return await self._drain(tasks, outbox_stop, publisher_stop)

    async def _supervise(self, runner: Runner, stop: asyncio.Event) -> None:
        """Run one adapter; if it gives up (bad configuration, a bug), say why once — the rest runs on."""
        try:
            await runner.run(stop)
        except ArenaError as error:
            log.error("%s: %s; the adapter is off, the rest of the service runs", runner.name, error.message)
            self.health.set(runner.name, State.STOPPED, error.message)
        except Exception as error:
            log.error("%s stopped (%s); the rest of the service runs", runner.name, brief_error(error))
            self.health.set(runner.name, State.STOPPED, brief_error(error))

    async def _drain(
        self, tasks: dict[str, asyncio.Task[Any]], outbox_stop: asyncio.Event, publisher_stop: asyncio.Event
    ) -> bool:
        deadline = time.monotonic() + self.settings.shutdown_grace_s
        log.info("shutting down: draining within %.0fs", self.settings.shutdown_grace_s)
        for runner in self.runners:
            await _step(f"{runner.name}: stop receiving", runner.stop_receiving(), deadline)
        drained = True
        if "http" in tasks:  # requests in flight finish; nothing new is accepted
            await _step("REST API", tasks["http"], deadline)
        if "scheduler" in tasks:  # it drains itself once `stop` is set
            drained = bool(await _step("scheduler drain", tasks["scheduler"], deadline + 1))
        outbox_stop.set()
        await _step("outbox sender", tasks["outbox"], deadline)
        await _step("final outbox flush", self.queue.flush(), deadline)
        await _step("outbox leases", asyncio.to_thread(self.outbox.release_all), deadline + 5)
        for runner in self.runners:
            await _step(f"{runner.name}: close", runner.close(), deadline + 5)
            tasks[runner.name].cancel()
        self.health.set("outbox", State.STOPPED, "")
        publisher_stop.set()
        await _step("health publisher", tasks["health"], deadline + 5)
        await _step("final health record", asyncio.to_thread(self.publisher.beat), deadline + 5)
        return drained


async def _step(what: str, awaitable: Any, deadline: float) -> Any:
    """Await one shutdown step until ``deadline`` (monotonic); log, never raise."""
    try:
        return await asyncio.wait_for(awaitable, timeout=max(deadline - time.monotonic(), 0.1))
    except TimeoutError:
        log.warning("shutdown: %s did not finish in time", what)
    except asyncio.CancelledError:
        log.info("shutdown: %s cancelled", what)
    except Exception as error:  # one part failing to stop must not stop the others from stopping
        log.warning("shutdown: %s failed (%s)", what, brief_error(error))
    return None


async def serve(
    db: Database,
    settings: Settings,
    *,
    scheduler: bool = True,
    stop: asyncio.Event | None = None,
    say: Callable[[str], Any] = print,
    health: HealthRegistry | None = None,
) -> int:
    """Run until ``stop`` is set (SIGINT/SIGTERM by default). Returns the process exit code (0)."""
    install_redaction(settings)
    quiet_platform_logs()
    install_safety()  # the chat adapters and the scheduler trade only with the pre-trade checks
    # Opt in to PTB's timedelta RetryAfter now (22.x warns on every flood-control error otherwise).
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    health = health or health_registry()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread / Windows
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    probe = await start_health_server(health, settings.health_port) if settings.health_port else None
    try:
        if not await wait_for_database(db, stop, health):
            return 0
        service = Service(db, settings, scheduler=scheduler, health=health, say=say)
        drained = await service.run(stop)
        say("stopped" + ("" if drained else " (a job run was left to re-run at the next start)"))
        return 0
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        if probe is not None:
            await probe.cleanup()
