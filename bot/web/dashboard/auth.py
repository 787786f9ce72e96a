"""Dashboard sign-in on the HTTP side: the session cookie, the viewer of a request, CSRF.

* Cookie ``arena_dashboard``: the session secret; HttpOnly, SameSite=Strict, ``Secure`` when the
  request came over HTTPS (directly or as told by a proxy's ``X-Forwarded-Proto``), path ``/``.
* CSRF is session-bound: every form carries ``csrf = HMAC-SHA256(session secret, "csrf")`` (hex);
  a POST whose field does not match is refused before anything runs. No secret is stored for it,
  and a page from another site can neither read the cookie nor compute the field.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request, Response

from core.compliance import dashboard_login
from core.compliance.dashboard_login import Viewer
from core.config import Settings
from core.db import Database

COOKIE = "arena_dashboard"
CSRF_FIELD = "csrf"
CSRF_REFUSED = "This form is out of date or did not come from this dashboard: reload the page and try again."


class PageError(Exception):
    """Ends a request with an HTML page showing one line (status 401, 403, 404 or 400)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def csrf_for(session_secret: str) -> str:
    return hmac.new(session_secret.encode(), b"csrf", hashlib.sha256).hexdigest()


def is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_session_cookie(response: Response, request: Request, secret: str, settings: Settings) -> None:
    response.set_cookie(COOKIE, secret, max_age=settings.dashboard_session_hours * 3600, path="/",
                        httponly=True, samesite="strict", secure=is_https(request))


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=is_https(request))


def current_viewer(db: Database, settings: Settings, request: Request) -> Viewer | None:
    """The signed-in viewer, or None (no cookie, unknown/expired/ended session, role lost)."""
    secret = request.cookies.get(COOKIE)
    if not secret or len(secret) > 200:
        return None
    with db.uow(read_only=True) as uow:
        return dashboard_login.viewer_for(uow.session, settings, secret, db.clock.now())


def require_viewer(db: Database, settings: Settings, request: Request) -> Viewer:
    viewer = current_viewer(db, settings, request)
    if viewer is None:
        raise PageError(401, "Please sign in: send /dashboard to the bot in a private chat and open "
                             "the link.")
    return viewer


def require_admin(db: Database, settings: Settings, request: Request) -> Viewer:
    viewer = require_viewer(db, settings, request)
    if not viewer.is_platform_admin:
        raise PageError(403, "This page is for platform administrators.")
    return viewer


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a POST whose CSRF field does not belong to this browser's session."""
    secret = request.cookies.get(COOKIE) or ""
    if not secret or not submitted or not hmac.compare_digest(csrf_for(secret).encode(), submitted.encode()):
        raise PageError(403, CSRF_REFUSED)
