"""What every dashboard route needs, built once per router, and the page guard."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.web.dashboard import auth
from bot.web.dashboard.render import Renderer
from core.commands.dispatcher import CommandLayer
from core.compliance.dashboard_login import Viewer
from core.config import Settings
from core.db import Database
from core.errors import ArenaError, NotFound
from core.formatting import sentence

log = logging.getLogger(__name__)
P = ParamSpec("P")
NOTE_MAX = 1500  # characters of an action's outcome carried to the next page


@dataclass(slots=True)
class Deps:
    db: Database
    settings: Settings
    layer: CommandLayer
    renderer: Renderer

    def viewer(self, request: Request) -> Viewer | None:
        return auth.current_viewer(self.db, self.settings, request)

    def signed_in(self, request: Request) -> Viewer:
        return auth.require_viewer(self.db, self.settings, request)

    def admin(self, request: Request) -> Viewer:
        return auth.require_admin(self.db, self.settings, request)

    def page(self, request: Request, name: str, viewer: Viewer | None, status: int = 200,
             **context: Any) -> HTMLResponse:
        csrf = ""
        if viewer is not None:
            csrf = auth.csrf_for(request.cookies.get(auth.COOKIE, ""))
        return self.renderer.page(request, name, status, viewer=viewer, csrf=csrf, **context)

    def error_page(self, request: Request, status: int, message: str) -> HTMLResponse:
        viewer = self.viewer(request) if status != 401 else None
        return self.page(request, "message.html", viewer, status, message=message)


def back_to(path: str, note: str) -> RedirectResponse:
    """After a form post: 303 to ``path`` with the outcome shown once at the top of the page."""
    return RedirectResponse(f"{path}?note={quote(note[:NOTE_MAX])}", status_code=303)


def guarded(deps: Deps) -> Callable[[Callable[P, Response]], Callable[P, Response]]:
    """Turn PageError (401/403/...) and user errors into a one-line HTML page; log anything else
    and show an apology (never a traceback). Routes are plain functions: FastAPI runs them in its
    thread pool, so database work never blocks the event loop."""

    def decorator(fn: Callable[P, Response]) -> Callable[P, Response]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
            request = kwargs["request"]
            assert isinstance(request, Request)
            try:
                return fn(*args, **kwargs)
            except auth.PageError as error:
                return deps.error_page(request, error.status, error.message)
            except ArenaError as error:
                status = 404 if isinstance(error, NotFound) else 400
                return deps.error_page(request, status, sentence(error.message))
            except Exception:
                log.exception("dashboard page %s failed", request.url.path)
                return deps.error_page(request, 500, "Sorry, something went wrong on our side.")

        return wrapper

    return decorator
