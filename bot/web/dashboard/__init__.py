"""The admin dashboard, its passwordless login and the public performance pages.

Server-rendered (Jinja2 templates in ``templates/``, one stylesheet in ``static/``, PNG charts
drawn by matplotlib on the server): no front-end build and no asset from another host.
:func:`create_dashboard_router` is what ``arena api --service dashboard`` mounts;
``bot.web.dashboard.standalone`` runs it alone (``arena dashboard``).

Routes: ``/dashboard`` (sign-in help, the admin overview, or an organisation admin's treasurer
view), ``/dashboard/login/{secret}``, ``/dashboard/{tokens,organisations,wallets,candidates,risk,
jobs,audit}``, their POST actions, ``/performance``, ``/performance/{symbol}``, ``/methodology``.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from bot.web.dashboard.admin_pages import add_admin_routes
from bot.web.dashboard.business_pages import add_business_routes
from bot.web.dashboard.deps import Deps
from bot.web.dashboard.login import add_login_routes
from bot.web.dashboard.public_pages import add_public_routes
from bot.web.dashboard.render import Renderer
from bot.web.dashboard.treasurer_pages import add_treasurer_routes
from core.commands.dispatcher import CommandLayer
from core.commands.types import OutboundMessage
from core.config import Settings
from core.db import Database
from core.notify import Notifier

STATIC = Path(__file__).with_name("static")
STATIC_NAME = re.compile(r"^[a-z0-9_-]+\.(css|png|svg)$")
MEDIA = {"css": "text/css", "png": "image/png", "svg": "image/svg+xml"}


class _OutboxNotifier:
    """Pushes from dashboard actions (an organisation told it is verified) go to the durable
    outbox that ``arena serve`` delivers."""

    def __init__(self, db: Database) -> None:
        from bot.outbox_store import DatabaseOutbox

        self.outbox = DatabaseOutbox(db)

    def notify(self, message: OutboundMessage) -> None:
        self.outbox.add(message)


def create_dashboard_router(
    db: Database, settings: Settings, *, notifier: Notifier | None = None
) -> APIRouter:
    """Every dashboard and public page over ``db``; commands run through one command layer."""
    from bot.wiring import command_hooks

    layer = CommandLayer(db, settings, hooks=command_hooks(db, settings),
                         notifier=notifier if notifier is not None else _OutboxNotifier(db))
    deps = Deps(db, settings, layer, Renderer())
    router = APIRouter()
    add_login_routes(router, deps)
    add_admin_routes(router, deps)
    add_treasurer_routes(router, deps)
    add_business_routes(router, deps)
    add_public_routes(router, deps)

    @router.get("/dashboard/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if not STATIC_NAME.match(name) or not (STATIC / name).is_file():
            return Response("Not found", status_code=404, media_type="text/plain")
        return FileResponse(STATIC / name, media_type=MEDIA[name.rsplit(".", 1)[1]],
                            headers={"Cache-Control": "max-age=3600"})

    return router
