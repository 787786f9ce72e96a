"""The API's app factory: ``create_app(db, settings, services)`` mounts only the routers of the
named services (``exchange optimizer importer compliance dashboard``, or ``all``), plus on every
service ``GET /healthz``, the OpenAPI 3.1 document at ``/openapi.json`` and the interactive docs at
``/docs`` (Swagger UI 5, which reads OpenAPI 3.1) and ``/redoc``, whose assets come from the
``fastapi-offline`` package (MIT; it bundles Swagger UI, Apache-2.0, and ReDoc, MIT) and are served
locally: the pages work offline.

The app is stateless over the database (any number of workers); the rate limiter is per process.
Messages the operations push to chats (proposals to co-owners, notices to admins) go to the
database outbox, which ``arena serve`` delivers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from bot.web import problems
from bot.web.auth import RateLimiter
from bot.web.routes import (
    admin,
    billing,
    compliance,
    exchange,
    gateway,
    proof,
    public,
    strategies,
    tokens,
    wallet,
)
from core.commands.context import Hooks
from core.commands.dispatcher import CommandLayer
from core.commands.types import OutboundMessage
from core.config import Settings
from core.db import Database, ping
from core.notify import Notifier

log = logging.getLogger(__name__)

#: Each service's routers, and its default port (the brief's 8800-8804).
SERVICES: dict[str, tuple[ModuleType, ...]] = {
    "exchange": (tokens, public, exchange, proof),
    "optimizer": (wallet, billing),
    "importer": (strategies,),
    "compliance": (compliance, gateway),
    "dashboard": (admin,),
}
PORTS = {"exchange": 8800, "optimizer": 8801, "importer": 8802, "compliance": 8803, "dashboard": 8804}
ALL = "all"
ASSETS = "/docs-assets"
ASSET_DIR = Path(fastapi_offline.__file__).parent / "static"


class OutboxNotifier:
    """Queues pushed messages in the database outbox (delivered by ``arena serve``)."""

    def __init__(self, db: Database) -> None:
        from bot.outbox_store import DatabaseOutbox

        self.outbox = DatabaseOutbox(db)

    def notify(self, message: OutboundMessage) -> None:
        self.outbox.add(message)


def service_names(services: set[str]) -> list[str]:
    """The services to mount, in port order; ``all`` means every one. Unknown names are refused."""
    unknown = services - set(SERVICES) - {ALL}
    if unknown or not services:
        raise ValueError(f"unknown service(s) {sorted(unknown)}; choose from {', '.join([*SERVICES, ALL])}")
    return list(SERVICES) if ALL in services else [s for s in SERVICES if s in services]


def dashboard_router(db: Database, settings: Settings) -> APIRouter:
    """The dashboard's web UI router (server-rendered pages, sign-in, CSRF)."""
    from bot.web.dashboard import create_dashboard_router  # the UI's templates load only when served

    return create_dashboard_router(db, settings)


def create_app(
    db: Database,
    settings: Settings,
    services: set[str],
    *,
    hooks: Hooks | None = None,
    notifier: Notifier | None = None,
) -> FastAPI:
    """One FastAPI app serving ``services``; see the module docstring."""
    from bot.wiring import command_hooks, install_safety

    install_safety()  # the ledger refuses to trade until the pre-trade checks are installed
    names = service_names(services)
    title = "Treasury Arena API" + ("" if len(names) == len(SERVICES) else f" ({', '.join(names)})")
    app = FastAPI(
        title=title,
        version="1",
        docs_url=None,
        redoc_url=None,
        description="Educational treasury-optimisation service. Not investment advice. "
        "Money and quantities are decimal strings: every USD amount has exactly 6 decimals (the "
        "ledger's cash quantum; valuations rounded half-up to it), NAV and token quantities up to 18. "
        "Errors are RFC 9457 "
        "problem documents (application/problem+json).",
    )
    hooks = hooks if hooks is not None else command_hooks(db, settings)
    notifier = notifier if notifier is not None else OutboxNotifier(db)
    app.state.db, app.state.settings, app.state.hooks, app.state.notifier = db, settings, hooks, notifier
    app.state.layer = CommandLayer(db, settings, hooks=hooks, notifier=notifier)
    app.state.limiter = RateLimiter(settings.api_rate_limit)
    app.state.services = names
    problems.install(app)
    for name in names:
        for module in SERVICES[name]:
            app.include_router(module.api)
    if "dashboard" in names:
        app.include_router(dashboard_router(db, settings))
    _infrastructure(app)
    return app


def _infrastructure(app: FastAPI) -> None:
    """/healthz, /docs, /redoc and their local assets on every service."""
    app.mount(ASSETS, StaticFiles(directory=ASSET_DIR), name="docs-assets")

    @app.get("/healthz", include_in_schema=False)
    def healthz(request: Request) -> Response:
        try:
            ping(request.app.state.db.engine)
        except Exception as error:  # a down database is the answer, not a crash
            log.warning("healthz: database unreachable: %s", type(error).__name__)
            return problems.problem_response(request, 503, "The database is unreachable.", "unavailable")
        return JSONResponse({"status": "ok", "services": request.app.state.services})

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - reference",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )


def openapi_document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()
