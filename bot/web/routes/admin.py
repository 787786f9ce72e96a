"""Platform administration (the dashboard service's API): risk, audit log, job runs, statistics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request

from bot.web.auth import Caller, Gate, caller_ctx, optional_key
from bot.web.commands import run_command
from bot.web.routes import router
from bot.web.schemas import AuditEntry, HaltBody, JobRunOut, Message, RiskOut
from core.commands import api_views

api = router("admin")
Limit = Annotated[int, Query(ge=1, le=500)]
MaybeKey = Annotated[str | None, Depends(optional_key)]


@api.get("/api/risk", response_model=RiskOut)
def risk(request: Request, caller: Annotated[Caller, Depends(Gate("stats"))]) -> dict[str, Any]:
    """The circuit breaker (halted or not, why, trips) and the redemption queue."""
    with caller_ctx(request, caller) as ctx:
        return api_views.risk_view(ctx.session)


@api.post("/api/risk/halt", response_model=Message)
def halt(
    request: Request, caller: Annotated[Caller, Depends(Gate("halt"))], body: HaltBody, key: MaybeKey
) -> Any:
    """Halt trading and rebalancing platform-wide; open exchange orders are cancelled."""
    return run_command(request, caller, "halt", tuple(body.reason.split()), key)


@api.post("/api/risk/resume", response_model=Message)
def resume(request: Request, caller: Annotated[Caller, Depends(Gate("resume"))], key: MaybeKey) -> Any:
    """Resume trading after a halt."""
    return run_command(request, caller, "resume", (), key)


@api.get("/api/audit", response_model=list[AuditEntry])
def audit(
    request: Request,
    caller: Annotated[Caller, Depends(Gate("stats"))],
    action: Annotated[str | None, Query(max_length=80)] = None,
    actor: Annotated[str | None, Query(max_length=120)] = None,
    limit: Limit = 100,
) -> list[dict[str, Any]]:
    """The audit log, newest first; `action` filters by prefix (e.g. `wallet.`), `actor` exactly."""
    with caller_ctx(request, caller) as ctx:
        return api_views.audit_log(ctx.session, action=action, actor=actor, limit=limit)


@api.get("/api/jobs", response_model=list[JobRunOut])
def jobs(
    request: Request,
    caller: Annotated[Caller, Depends(Gate("stats"))],
    status: Annotated[str | None, Query(pattern="^(running|done|partial|failed)$")] = None,
    limit: Limit = 100,
) -> list[dict[str, Any]]:
    """Scheduler job runs, newest first, with their outcome and failures."""
    with caller_ctx(request, caller) as ctx:
        return api_views.job_runs(ctx.session, status=status, limit=limit)


@api.get("/api/stats", response_model=Message)
def stats(request: Request, caller: Annotated[Caller, Depends(Gate("stats"))]) -> Any:
    """Platform counts and totals (as /stats in chat)."""
    return run_command(request, caller, "stats")
