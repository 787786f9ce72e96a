"""The PMA agreement and the verification gateway (issue 14; the compliance service): read the
organisation's agreement as JSON, PDF or Markdown and accept it; fill in and read the application;
the platform admins' queue with every detail, and rejection with a reason (``/deny``). Thin callers
of :mod:`core.commands.api_business` and the chat commands."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response

from bot.web.auth import Caller, Gate, caller_ctx, optional_key
from bot.web.commands import run_command
from bot.web.routes import router
from bot.web.schemas import Message
from bot.web.schemas_business import AcceptBody, AgreementOut, ApplicationBody, ApplicationOut, DenyBody
from core.commands import api_business

api = router("compliance")
OrgId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MaybeKey = Annotated[str | None, Depends(optional_key)]
BINARY = {"schema": {"type": "string", "format": "binary"}}
DOCUMENT: dict[int | str, dict[str, Any]] = {200: {"description": "The agreement", "content": {
    "application/json": {"schema": AgreementOut.model_json_schema()},
    "application/pdf": BINARY, "text/markdown": {"schema": {"type": "string"}}}}}


@api.get("/api/compliance/agreement", response_class=Response, responses=DOCUMENT)
def agreement(
    request: Request,
    caller: Annotated[Caller, Depends(Gate("agreement"))],
    format: Annotated[str, Query(pattern="^(json|pdf|md)$")] = "json",
) -> Response:
    """Your organisation's current PMA agreement, generated for it (names, signer, date, version):
    JSON (summary, fingerprints, the document id to accept), the PDF, or the Markdown (members)."""
    with caller_ctx(request, caller) as ctx:
        doc = api_business.agreement_document(ctx)
    if format == "json":
        meta = AgreementOut.model_validate(doc).model_dump_json()
        return Response(meta, media_type="application/json")
    data, media = (doc["pdf"], "application/pdf") if format == "pdf" else (
        doc["markdown"].encode(), "text/markdown; charset=utf-8")
    name = f"{doc['filename']}.{format}"
    return Response(data, media_type=media, headers={"Content-Disposition": f'inline; filename="{name}"'})


@api.post("/api/compliance/agreement/accept", response_model=Message)
def accept(
    request: Request, caller: Annotated[Caller, Depends(Gate("agreement"))], body: AcceptBody, key: MaybeKey
) -> Any:
    """Accept the agreement document you read for your organisation (its admin; idempotent)."""
    return run_command(request, caller, "agreement", ("agree", str(body.document_id)), key)


@api.get("/api/compliance/application", response_model=ApplicationOut)
def application(request: Request, caller: Annotated[Caller, Depends(Gate("apply"))]) -> Any:
    """Your organisation's verification application and its status (members)."""
    with caller_ctx(request, caller) as ctx:
        return api_business.my_application(ctx)


@api.post("/api/compliance/application", response_model=ApplicationOut)
def update_application(
    request: Request, caller: Annotated[Caller, Depends(Gate("apply"))], body: ApplicationBody
) -> Any:
    """Fill in the pending application: EIN or registration, trust name, trustees, legal name
    (the organisation's admin; all fields in one change)."""
    with caller_ctx(request, caller) as ctx:
        return api_business.update_my_application(ctx, body.fields())


@api.get("/api/compliance/applications/pending", response_model=list[ApplicationOut])
def pending(request: Request, caller: Annotated[Caller, Depends(Gate("pending"))]) -> Any:
    """The verification queue with each application's details, oldest first (platform admins)."""
    with caller_ctx(request, caller) as ctx:
        return api_business.pending_applications(ctx.session)


@api.post("/api/compliance/organisations/{id}/deny", response_model=Message)
def deny(
    request: Request, caller: Annotated[Caller, Depends(Gate("deny"))], id: OrgId, body: DenyBody,
    key: MaybeKey,
) -> Any:
    """Reject an organisation's application with a reason its members are told (platform admins;
    audited; rejecting twice changes nothing)."""
    return run_command(request, caller, "deny", (str(id), *body.reason.split()), key)
