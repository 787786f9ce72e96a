"""The AI wallet (the optimizer service): create, status, mode, suggestion, rebalance, proposals."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Request

from bot.web.auth import Caller, Gate, caller_ctx, idempotency_key, optional_key
from bot.web.routes import router
from bot.web.schemas import (
    DecisionOut,
    ModeBody,
    ModeOut,
    ProposalOut,
    RebalanceOut,
    SuggestionOut,
    WalletCreateBody,
    WalletCreatedOut,
    WalletStatus,
)
from core.commands import api_ops, api_views

api = router("wallet")
WalletId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Your organisation's wallet id")]
ProposalId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Key = Annotated[str, Depends(idempotency_key)]
MaybeKey = Annotated[str | None, Depends(optional_key)]


@api.post("/api/wallet/create", response_model=WalletCreatedOut)
def create_wallet(
    request: Request,
    caller: Annotated[Caller, Depends(Gate("wallet_create"))],
    body: WalletCreateBody,
    key: MaybeKey,
) -> dict[str, Any]:
    """Your verified organisation's wallet: created (manual mode, you as owner) if it has none,
    otherwise the existing one with `created: false` (organisation admins)."""
    with caller_ctx(request, caller) as ctx:
        return api_ops.create_wallet(ctx, body.name, key or f"wallet-create:{uuid.uuid4()}")


@api.get("/api/wallet/{id}/status", response_model=WalletStatus)
def status(request: Request, caller: Annotated[Caller, Depends(Gate("wallet"))], id: WalletId) -> Any:
    """Cash, holdings at NAV, total, mode and tier of your organisation's wallet."""
    with caller_ctx(request, caller) as ctx:
        return api_views.wallet_status(ctx.session, api_ops.wallet_for(ctx, id))


@api.post("/api/wallet/{id}/mode", response_model=ModeOut)
def mode(
    request: Request,
    caller: Annotated[Caller, Depends(Gate("mode"))],
    id: WalletId,
    body: ModeBody,
    key: MaybeKey,
) -> dict[str, Any]:
    """Switch the wallet between full_ai, hybrid and manual (owners who are organisation admins)."""
    with caller_ctx(request, caller) as ctx:
        return api_ops.set_mode(ctx, id, body.mode, key or f"mode:{uuid.uuid4()}")


@api.get("/api/wallet/{id}/suggested", response_model=SuggestionOut)
def suggested(
    request: Request, caller: Annotated[Caller, Depends(Gate("suggest"))], id: WalletId
) -> dict[str, Any]:
    """What the optimizer would do now: target allocation, reasons and trades (stored as a
    snapshot, never executed; owners)."""
    with caller_ctx(request, caller) as ctx:
        return api_ops.suggested(ctx, id)


@api.post("/api/wallet/{id}/rebalance", response_model=RebalanceOut)
def rebalance(
    request: Request, caller: Annotated[Caller, Depends(Gate("rebalance"))], id: WalletId, key: Key
) -> dict[str, Any]:
    """Hybrid: make a proposal to approve. Full AI and manual: rebalance now. Requires
    Idempotency-Key."""
    with caller_ctx(request, caller) as ctx:
        return api_ops.rebalance(ctx, id, key)


@api.get("/api/wallet/{id}/proposals", response_model=list[ProposalOut])
def proposals(
    request: Request, caller: Annotated[Caller, Depends(Gate("proposals"))], id: WalletId
) -> list[dict[str, Any]]:
    """Hybrid proposals of the wallet waiting for a decision, newest first."""
    with caller_ctx(request, caller) as ctx:
        return api_views.proposals(ctx.session, api_ops.wallet_for(ctx, id).id)


@api.post("/api/proposals/{id}/approve", response_model=DecisionOut)
def approve(
    request: Request, caller: Annotated[Caller, Depends(Gate("approve"))], id: ProposalId, key: Key
) -> dict[str, Any]:
    """Approve a hybrid proposal: its trades run now (owners; once per Idempotency-Key)."""
    with caller_ctx(request, caller) as ctx:
        return api_ops.decide(ctx, id, True, key)


@api.post("/api/proposals/{id}/reject", response_model=DecisionOut)
def reject(
    request: Request, caller: Annotated[Caller, Depends(Gate("reject"))], id: ProposalId, key: MaybeKey
) -> dict[str, Any]:
    """Reject a hybrid proposal (owners)."""
    with caller_ctx(request, caller) as ctx:
        return api_ops.decide(ctx, id, False, key or f"reject:{uuid.uuid4()}")
