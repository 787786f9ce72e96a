"""The process side of ``arena api``: an app factory uvicorn imports in each worker.

Workers are separate processes, so the service set comes from the environment
(``ARENA_API_SERVICES``, comma-separated; set by ``arena api``) and the database from the usual
``ARENA_DB_URL``. Each worker is stateless over the database; rate limits count per worker.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

SERVICES_ENV = "ARENA_API_SERVICES"


def app_from_env() -> FastAPI:
    """The app for ``ARENA_API_SERVICES`` over the configured database (uvicorn ``factory=True``)."""
    from bot.demo.clock import continue_demo_clock
    from bot.logs import configure_logging
    from bot.web.app import create_app
    from core.config import get_settings
    from core.db import open_database

    settings = get_settings()
    configure_logging(settings)
    services = {s.strip() for s in os.environ.get(SERVICES_ENV, "all").split(",") if s.strip()}
    db = open_database(settings.db_url)
    continue_demo_clock(db)  # on a demo database: the chat's simulated time (`arena api` says so)
    return create_app(db, settings, services)
