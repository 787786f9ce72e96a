"""The treasurer view's business parts (issue 14): the plan, statement downloads for recent months,
and the signed PMA agreement (view / download). Each download is gated by its permission-table row
(``statement``, ``agreement``) for the signed-in viewer, and reads through the same core functions
as the API and the chat (:mod:`core.commands.api_business`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bot.web.dashboard import auth
from bot.web.dashboard.deps import Deps, guarded
from core.commands import api_business
from core.commands.permissions import allowed, denial, lookup
from core.commands.types import ChatType
from core.compliance.dashboard_login import Viewer
from core.models import Organisation
from core.models.wallets import AIWallet


def _gate(viewer: Viewer, name: str) -> int:
    """The viewer's organisation id if their role passes the permission row ``name``."""
    permission = lookup(name)
    assert permission is not None
    if not allowed(viewer.role, ChatType.PRIVATE, permission):
        raise auth.PageError(403, denial(viewer.role, ChatType.PRIVATE, permission))
    if viewer.organisation_id is None:
        raise auth.PageError(403, "You have no organisation yet; send /start to the bot.")
    return viewer.organisation_id


def business_context(session: Session, org: Organisation, wallet_id: int, now: Any) -> dict[str, Any]:
    """What the treasurer page shows besides the wallet: plan, statement months, signed agreement."""
    wallet = session.get(AIWallet, wallet_id)
    assert wallet is not None
    signed = api_business.signed_agreement(session, org.id)
    return {
        "plan": api_business.plan_view(session, wallet),
        "months": api_business.recent_months(now, org.created_at),
        "signed": None if signed is None else {
            "version": signed[0].version, "accepted_at": signed[0].accepted_at,
            "pdf_sha256": signed[0].pdf_sha256, "signer": signed[1].signer_name},
    }


def add_business_routes(router: APIRouter, deps: Deps) -> None:
    @router.get("/dashboard/statements/{month}.{fmt}", include_in_schema=False)
    @guarded(deps)
    def statement(request: Request, month: str, fmt: str) -> Response:
        org_id = _gate(deps.signed_in(request), "statement")
        if fmt not in ("pdf", "csv"):
            raise auth.PageError(404, "Statements are PDF or CSV.")
        hooks = deps.layer.hooks
        rates = hooks.risk_free() if hooks.risk_free is not None else None
        with deps.db.uow(read_only=True) as uow:
            data, media, name = api_business.statement_bytes(
                uow.session, org_id, month, deps.db.clock.now(), rates, fmt)
        return Response(data, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @router.get("/dashboard/agreement.{fmt}", include_in_schema=False)
    @guarded(deps)
    def agreement(request: Request, fmt: str) -> Response:
        org_id = _gate(deps.signed_in(request), "agreement")
        if fmt not in ("pdf", "md"):
            raise auth.PageError(404, "The agreement is a PDF or Markdown.")
        with deps.db.uow(read_only=True) as uow:
            signed = api_business.signed_agreement(uow.session, org_id)
            if signed is None:
                raise auth.PageError(404, "Your organisation has not signed the PMA agreement yet; "
                                          "send /agreement to the bot.")
            doc = signed[1]
            data = bytes(doc.pdf) if fmt == "pdf" else doc.markdown.encode()
            name = f"pma-agreement-{doc.version}-org{org_id}.{fmt}"
        media = "application/pdf" if fmt == "pdf" else "text/markdown; charset=utf-8"
        disposition = "inline" if request.query_params.get("download") is None else "attachment"
        return Response(data, media_type=media,
                        headers={"Content-Disposition": f'{disposition}; filename="{name}"'})
