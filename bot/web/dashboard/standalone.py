"""The dashboard as an app of its own (``arena dashboard``; also what the tests serve)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse, Response

from bot.web.dashboard import create_dashboard_router
from core.config import Settings
from core.db import Database
from core.notify import Notifier


def create_dashboard_app(db: Database, settings: Settings, *, notifier: Notifier | None = None) -> FastAPI:
    """A FastAPI app with only the dashboard and public pages, ``/`` and ``/healthz``."""
    from bot.wiring import install_safety

    install_safety()
    app = FastAPI(title="Treasury Arena dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(create_dashboard_router(db, settings, notifier=notifier))

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/performance", status_code=307)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
