"""The treasurer view: an organisation admin's own organisation only — wallet, holdings, allocation
against the last target, proposals with Approve / Reject (the same ``/approve`` and ``/reject``
commands as the chat buttons, so only the wallet's owners can decide and a proposal of another
organisation reads exactly like a missing one)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from bot.web.dashboard import auth
from bot.web.dashboard.actions import run_command
from bot.web.dashboard.business_pages import business_context
from bot.web.dashboard.deps import Deps, back_to, guarded
from core.compliance.dashboard_login import Viewer
from core.errors import NotFound
from core.models import Organisation
from core.reports import wallets


def treasurer_page(deps: Deps, request: Request, viewer: Viewer) -> Response:
    """``/dashboard`` for an organisation admin (their organisation, nothing else)."""
    if viewer.organisation_id is None:
        raise auth.PageError(403, "You have no organisation yet; send /start to the bot.")
    with deps.db.uow(read_only=True) as uow:
        org = uow.session.get(Organisation, viewer.organisation_id)
        assert org is not None
        org_name = org.name
        try:
            view = wallets.wallet_view(uow.session, wallets.organisation_wallet(uow.session, org.id))
        except NotFound as missing:
            return deps.page(request, "message.html", viewer, message=missing.message)
        extra = business_context(uow.session, org, view.summary.wallet_id, deps.db.clock.now())
    return deps.page(request, "treasurer.html", viewer, org_name=org_name, w=view, **extra)


def add_treasurer_routes(router: APIRouter, deps: Deps) -> None:
    @router.post("/dashboard/proposals/{proposal_id}/{decision}", include_in_schema=False)
    @guarded(deps)
    def decide(request: Request, proposal_id: int, decision: str, csrf: str = Form(""),
               nonce: str = Form("")) -> Response:
        auth.check_csrf(request, csrf)
        viewer = deps.signed_in(request)
        if decision not in ("approve", "reject"):
            raise auth.PageError(404, "No such action.")
        text = run_command(deps.layer, viewer, decision, (str(proposal_id),), nonce)
        return back_to("/dashboard", text)
