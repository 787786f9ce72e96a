"""Onboarding, attestations and organisation verification (the compliance service)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request

from bot.web.auth import Caller, Gate, caller_ctx, optional_key
from bot.web.commands import run_command
from bot.web.routes import PUBLIC, router
from bot.web.schemas import AttestBody, Message, OrgBody, PendingOrganisation
from core.commands import api_views
from core.compliance.disclosures import current

api = router("compliance")
OrgId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MaybeKey = Annotated[str | None, Depends(optional_key)]


@api.get("/api/compliance/disclosures", **PUBLIC)
def disclosures(caller: Annotated[Caller, Depends(Gate("disclosures", public=True))]) -> dict[str, Any]:
    """The current risk disclosures and the attestations to give (public)."""
    d = current()
    return {
        "version": d.version,
        "general": d.general,
        "attestations": [
            {"kind": kind.value, "label": label, "text": text}
            for kind, (label, text) in d.attestations.items()
        ],
    }


@api.post("/api/compliance/attestations", response_model=Message)
def attest(
    request: Request, caller: Annotated[Caller, Depends(Gate("attest"))], body: AttestBody, key: MaybeKey
) -> Any:
    """Give one attestation for the current disclosure version."""
    return run_command(request, caller, "attest", (body.kind,), key)


@api.post("/api/compliance/organisations", response_model=Message)
def register(
    request: Request, caller: Annotated[Caller, Depends(Gate("org"))], body: OrgBody, key: MaybeKey
) -> Any:
    """Submit your organisation for verification (after every attestation)."""
    return run_command(request, caller, "org", ("register", body.kind, *body.name.split()), key)


@api.get("/api/compliance/organisations/pending", response_model=list[PendingOrganisation])
def pending(request: Request, caller: Annotated[Caller, Depends(Gate("verify"))]) -> list[dict[str, Any]]:
    """Organisations waiting for verification (platform admins)."""
    with caller_ctx(request, caller) as ctx:
        return api_views.pending_organisations(ctx.session)


@api.post("/api/compliance/organisations/{id}/verify", response_model=Message)
def verify(
    request: Request, caller: Annotated[Caller, Depends(Gate("verify"))], id: OrgId, key: MaybeKey
) -> Any:
    """Verify an organisation and open its wallet (platform admins; idempotent)."""
    return run_command(request, caller, "verify", (str(id),), key)
