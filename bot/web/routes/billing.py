"""Plans, the risk profile and monthly statements (issue 14; the optimizer service). Thin callers of
:mod:`core.commands.api_business` and the chat's ``/risk`` command."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response

from bot.web.auth import Caller, Gate, caller_ctx, idempotency_key, optional_key
from bot.web.commands import run_command
from bot.web.routes import router
from bot.web.schemas import Message
from bot.web.schemas_business import PlanBody, PlanChangeOut, PlanOut, RiskBody, RiskOut
from core.commands import api_business, api_ops

api = router("billing")
WalletId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Your organisation's wallet id")]
OrgId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Your organisation's id")]
Month = Annotated[str, Path(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM (UTC)")]
BINARY = {"schema": {"type": "string", "format": "binary"}}
FILES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The statement file", "content": {"application/pdf": BINARY, "text/csv": BINARY}}
}


@api.get("/api/wallet/{id}/plan", response_model=PlanOut)
def plan(request: Request, caller: Annotated[Caller, Depends(Gate("plan"))], id: WalletId) -> Any:
    """The wallet's plan, its price (USD a month) and limits, tokens held, any scheduled change or
    unpaid month, and every plan on offer (members)."""
    with caller_ctx(request, caller) as ctx:
        return api_business.plan_view(ctx.session, api_ops.wallet_for(ctx, id))


@api.post("/api/wallet/{id}/plan", response_model=PlanChangeOut)
def change_plan(
    request: Request,
    caller: Annotated[Caller, Depends(Gate("plan"))],
    id: WalletId,
    body: PlanBody,
    key: Annotated[str, Depends(idempotency_key)],
) -> Any:
    """Upgrade now (the prorated difference is charged from the wallet's cash) or downgrade from the
    1st of next month (organisation admins who own the wallet). Requires Idempotency-Key."""
    with caller_ctx(request, caller) as ctx:
        return api_business.change_plan(ctx, id, body.plan, key)


@api.get("/api/wallet/{id}/risk", response_model=RiskOut)
def risk(request: Request, caller: Annotated[Caller, Depends(Gate("risk"))], id: WalletId) -> Any:
    """The optimizer's risk profile for the wallet (null: the default, maximum Sharpe)."""
    with caller_ctx(request, caller) as ctx:
        return api_business.risk_view(ctx, id)


@api.post("/api/wallet/{id}/risk", response_model=Message)
def set_risk(
    request: Request,
    caller: Annotated[Caller, Depends(Gate("risk"))],
    id: WalletId,
    body: RiskBody,
    key: Annotated[str | None, Depends(optional_key)],
) -> Any:
    """Premium: choose a preset, a target volatility (5-50 %), a cap per token (5-20 %) or the
    default (runs ``/risk``)."""
    with caller_ctx(request, caller) as ctx:
        api_ops.wallet_for(ctx, id, owner=True)
    return run_command(request, caller, "risk", body.args(), key)


@api.get("/api/orgs/{id}/statements/{month}", response_class=Response, responses=FILES)
def statement(
    request: Request,
    caller: Annotated[Caller, Depends(Gate("statement"))],
    id: OrgId,
    month: Month,
    format: Annotated[str, Query(pattern="^(pdf|csv)$")] = "pdf",
) -> Response:
    """Your organisation's statement for a month as PDF (default) or CSV (members; platform admins:
    any organisation)."""
    with caller_ctx(request, caller) as ctx:
        data, media, name = api_business.statement_file(ctx, id, month, format)
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
