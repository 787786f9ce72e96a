"""The REST API's five services inside ``arena serve`` (``ARENA_HTTP=1``): one uvicorn server per
service on its port (``ARENA_HTTP_PORT_BASE`` + 0..4: exchange, optimizer, importer, compliance,
dashboard; default 8800-8804) on ``ARENA_HTTP_HOST`` (default 127.0.0.1), in serve's event loop.

``arena serve`` owns the signals: the servers do not install handlers; when serve's stop event is
set they stop accepting, finish the requests in flight and return. Messages the API queues for chats
go through serve's outbound queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Generator
from typing import Any

import uvicorn

from bot.web.app import SERVICES, create_app
from core.config import Settings
from core.db import Database
from core.notify import Notifier

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """A uvicorn server that leaves SIGINT/SIGTERM to ``arena serve``."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def ports(settings: Settings) -> dict[str, int]:
    """Each service's port: the base port plus its position (exchange first)."""
    return {name: settings.http_port_base + i for i, name in enumerate(SERVICES)}


async def _serve(server: _Server, say: Callable[[str], Any]) -> None:
    """One server; a port that cannot be bound stops that service only (uvicorn exits on it)."""
    try:
        await server.serve()
    except SystemExit:
        say(f"REST API: port {server.config.port} could not be opened; that service is off")
        log.error("REST API: cannot listen on %s:%s", server.config.host, server.config.port)


async def run_http(
    db: Database,
    settings: Settings,
    notifier: Notifier | None,
    stop: asyncio.Event,
    say: Callable[[str], Any],
) -> None:
    """Serve every service on its port until ``stop``; then shut the servers down gracefully."""
    servers = []
    for name, port in ports(settings).items():
        app = create_app(db, settings, {name}, notifier=notifier)
        config = uvicorn.Config(
            app, host=settings.http_host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        servers.append(_Server(config))
    tasks = [asyncio.create_task(_serve(s, say), name=f"http:{s.config.port}") for s in servers]
    while not all(server.started or task.done() for server, task in zip(servers, tasks, strict=True)):
        await asyncio.sleep(0.05)  # said only once every service listens (or failed to)
    listening = [
        f"{name} {port}"
        for (name, port), server in zip(ports(settings).items(), servers, strict=True)
        if server.started
    ]
    say(f"REST API on http://{settings.http_host}: {', '.join(listening) or 'no service'}")
    await stop.wait()
    for server in servers:
        server.should_exit = True
    for task, result in zip(tasks, await asyncio.gather(*tasks, return_exceptions=True), strict=True):
        if isinstance(result, BaseException):
            log.error("%s stopped with %s", task.get_name(), type(result).__name__)
