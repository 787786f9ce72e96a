"""Sign-in routes: the one-time link's page, the POST that uses it, logout, and ``/dashboard``.

Opening the link (GET) changes nothing: it shows a "Sign in" button whose POST uses the link. So
a chat client or mail scanner that fetches the URL for a preview cannot spend it, and the session
cookie (SameSite=Strict) is set by a same-site request.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from bot.web.dashboard import auth
from bot.web.dashboard.deps import Deps, guarded
from core.compliance import dashboard_login
from core.compliance.dashboard_login import LoginRefused

SECRET_MAX = 200


def add_login_routes(router: APIRouter, deps: Deps) -> None:
    @router.get("/dashboard/login/{secret}", include_in_schema=False)
    @guarded(deps)
    def login_page(request: Request, secret: str) -> Response:
        return deps.page(request, "login.html", None, secret=secret[:SECRET_MAX])

    @router.post("/dashboard/login", include_in_schema=False)
    @guarded(deps)
    def login(request: Request, secret: str = Form("")) -> Response:
        if not secret or len(secret) > SECRET_MAX:
            raise auth.PageError(403, dashboard_login.UNKNOWN)
        try:
            with deps.db.uow() as uow:
                session_secret = dashboard_login.redeem_link(uow.session, deps.settings, secret,
                                                             deps.db.clock.now())
                uow.commit()
        except LoginRefused as refused:
            raise auth.PageError(403, refused.message) from None
        response = RedirectResponse("/dashboard", status_code=303)
        auth.set_session_cookie(response, request, session_secret, deps.settings)
        return response

    @router.post("/dashboard/logout", include_in_schema=False)
    @guarded(deps)
    def logout(request: Request, csrf: str = Form("")) -> Response:
        auth.check_csrf(request, csrf)
        with deps.db.uow() as uow:
            secret = request.cookies.get(auth.COOKIE, "")
            dashboard_login.end_session(uow.session, secret, deps.db.clock.now())
            uow.commit()
        response = RedirectResponse("/dashboard?note=Signed%20out.", status_code=303)
        auth.clear_session_cookie(response, request)
        return response
