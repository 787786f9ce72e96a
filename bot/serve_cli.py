"""``arena serve`` (registered by ``bot.cli`` through :func:`register`)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from datetime import datetime
from typing import Annotated

import typer

from core.config import get_settings


def register(app: typer.Typer) -> None:
    """Add ``arena serve`` to the CLI."""

    @app.command()
    def serve(
        no_scheduler: Annotated[
            bool, typer.Option("--no-scheduler", help="Run only the chat adapters and the outbox sender.")
        ] = False,
    ) -> None:
        """Run the scheduler, the outbox sender and every chat adapter that has a token.

        Keeps running when a chat platform or the database is unreachable: each part retries
        with backoff, and `arena status` (or GET /healthz with ARENA_HEALTH_PORT) shows its state.

        A second `arena serve` on the same database waits as a standby and takes the scheduler
        over when the first stops.

        SIGTERM or Ctrl-C drains (runs in flight finish, the outbox flushes) and exits 0 within
        ARENA_SHUTDOWN_GRACE_S seconds (default 30).
        """
        from bot.serve import serve as run_serve
        from core.clock import SimulatedClock
        from core.db import Database
        from core.errors import ConfigError

        logging.getLogger().setLevel(os.environ.get("ARENA_LOG_LEVEL", "INFO").upper())  # a service
        settings = get_settings()
        clock = None
        if settings.clock:  # drills and tests: every job sees this business time
            try:
                clock = SimulatedClock(datetime.fromisoformat(settings.clock))
            except ValueError:
                raise ConfigError(f"ARENA_CLOCK={settings.clock!r} is not an ISO 8601 time") from None
            typer.echo(f"business clock fixed at {clock.now().isoformat()} (ARENA_CLOCK)")
        db = Database(settings.db_url, clock=clock)
        try:
            code = asyncio.run(run_serve(db, settings, scheduler=not no_scheduler, say=typer.echo))
        finally:
            db.dispose()
        stuck = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
        if stuck:
            # A job thread abandoned at the drain deadline must not hold the exit (its transaction
            # rolls back when the connection closes; its slot re-runs by key at the next start).
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        raise typer.Exit(code)
