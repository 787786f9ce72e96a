"""Strategies and the import pipeline (the importer service)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request

from bot.web.auth import Caller, Gate, caller_ctx, optional_key
from bot.web.routes import PUBLIC, router
from bot.web.schemas import CandidateDetail, CandidateOut, Message
from bot.web.schemas_business import BountiesOut, SubmitBody
from core.commands import api_business, api_views
from core.models.pipeline import CandidateState

api = router("strategies")
CandidateId = Annotated[int, Path(ge=1, le=2**31 - 1)]
STATES = "|".join(s.value for s in CandidateState)


@api.get("/api/strategies/available", response_model=list[CandidateOut], **PUBLIC)
def available(
    request: Request, caller: Annotated[Caller, Depends(Gate("strategies", public=True))]
) -> list[dict[str, Any]]:
    """Imported strategies still in play or tokenized (not rejected, not failed), newest first."""
    with caller_ctx(request, caller) as ctx:
        return api_views.candidates(ctx.session, exclude=("rejected", "failed_gate"))


@api.get("/api/strategies/candidates", response_model=list[CandidateOut], **PUBLIC)
def candidates(
    request: Request,
    caller: Annotated[Caller, Depends(Gate("strategies", public=True))],
    state: Annotated[str | None, Query(pattern=f"^({STATES})$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Every import candidate and its state (optionally one state), with rejection reasons."""
    with caller_ctx(request, caller) as ctx:
        return api_views.candidates(ctx.session, state=state, limit=limit)


@api.get("/api/strategies/{id}/backtest", response_model=CandidateDetail)
def backtest(
    request: Request, caller: Annotated[Caller, Depends(Gate("backtest"))], id: CandidateId
) -> dict[str, Any]:
    """A candidate's stored backtest: metrics over the risk-free rate, the gate report, the spec."""
    with caller_ctx(request, caller) as ctx:
        return api_views.candidate(ctx.session, id)


@api.post("/api/strategies/import", response_model=Message)
def import_strategy(
    request: Request,
    caller: Annotated[Caller, Depends(Gate("submit"))],
    body: SubmitBody,
    key: Annotated[str | None, Depends(optional_key)],  # accepted; a repeat keeps the first submitter
) -> Any:
    """Submit a strategy (a URL or a write-up) to the import pipeline, credited to your organisation
    as its submitter (the import bounty, channel `api`); the pipeline parses it at its next run."""
    with caller_ctx(request, caller) as ctx:
        return api_business.submit(ctx, body.url or body.text or "")


@api.get("/api/strategies/bounties", response_model=BountiesOut)
def bounties(request: Request, caller: Annotated[Caller, Depends(Gate("bounties"))]) -> Any:
    """Your organisation's import bounty: submissions, per token earned (USD), accrued, paid."""
    with caller_ctx(request, caller) as ctx:
        return api_business.bounties(ctx)
