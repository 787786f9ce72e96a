"""The REST API's business operations (issue 14 on the web): plans, the risk profile, the PMA
agreement, the verification application and queue, statements and the import bounty.

Each function calls the same core function the chat command calls (``core.billing``,
``core.compliance.agreement`` / ``applications``, ``core.statements``, ``core.bounty``) for a
:class:`~core.commands.context.Ctx` built for the API caller over a read-only session; changes open
their own unit of work. Amounts are decimal strings (:func:`~core.commands.api_views.dec`, USD),
dates ISO 8601 (UTC). A plan change moves money, so it runs once per ``Idempotency-Key`` through
:func:`core.ledger.idempotency.run_idempotent`, namespaced per user like a buy.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from core.billing import charges
from core.billing.plans import PLANS, committed_tokens, parse_tier
from core.bounty import bounty_report
from core.commands.api_ops import scoped_key, wallet_for
from core.commands.api_views import usd, when
from core.commands.context import Ctx
from core.commands.handlers.agreement import signer_for
from core.commands.handlers.bounty import UNAVAILABLE, check_submission
from core.commands.handlers.common import ensure_user
from core.commands.handlers.plans import _changer
from core.compliance import agreement, applications
from core.errors import NotFound, ValidationError
from core.exchange.plan_bids import lock_for_plan_change
from core.ledger.idempotency import run_idempotent
from core.models import User
from core.models.billing import WalletBilling
from core.models.compliance import Organisation, Role
from core.models.wallets import AIWallet, Tier
from core.statements import build_statement, render_pdf
from core.statements.csv_out import render_csv

NO_ORG = "You have no organisation yet; register one first (POST /api/compliance/organisations)."


def plan_view(session: Session, wallet: AIWallet) -> dict[str, Any]:
    """The wallet's plan, price (USD/month), limits, usage, scheduled change and unpaid month."""
    plan = PLANS[Tier(wallet.tier)]
    row = session.get(WalletBilling, wallet.id)
    return {
        "wallet_id": wallet.id,
        "plan": plan.tier.value,
        "name": plan.name,
        "price_per_month": usd(plan.price),
        "limits": plan.limits(),
        "max_tokens": plan.max_tokens,
        "tokens_held": len(committed_tokens(session, wallet.id)),
        "scheduled_plan": row.next_tier if row is not None and row.next_tier else None,
        "scheduled_from": str(row.next_tier_on) if row is not None and row.next_tier_on else None,
        "unpaid_month": row.grace_period if row is not None and row.grace_period else None,
        "plans": [{"plan": p.tier.value, "name": p.name, "price_per_month": usd(p.price),
                   "limits": p.limits()} for p in PLANS.values()],
    }


def change_plan(ctx: Ctx, wallet_id: int, plan: str, key: str) -> dict[str, Any]:
    """Upgrade now (prorated charge) or schedule a downgrade, as ``/plan X`` + Confirm does in chat;
    once per key (same key and body: the stored response)."""
    tier = parse_tier(plan)
    _changer(ctx)  # organisation admins who own the wallet, as in chat
    wallet = wallet_for(ctx, wallet_id, owner=True)
    scoped = scoped_key(ctx, key)
    request: dict[str, Any] = {"wallet": wallet.id, "plan": tier.value}
    actor = f"user:{ctx.user.id if ctx.user is not None else 0}"

    def effect(session: Session) -> dict[str, Any]:
        locked = lock_for_plan_change(session, wallet.id)  # a downgrade may cancel bids: tokens first
        quote = charges.quote_change(session, ctx.now(), locked, tier)
        message = charges.change_plan_in(session, ctx.now(), wallet.id, tier.value, actor=actor)
        charged = quote.charge if quote.kind == "upgrade" else Decimal(0)
        return {"message": message, "charged": usd(charged), **plan_view(session, locked)}

    return run_idempotent(ctx.db.uow(), scoped, "api.plan", request, effect, dict)


def risk_view(ctx: Ctx, wallet_id: int) -> dict[str, Any]:
    """The wallet's risk profile (None: the default, maximum Sharpe) and whether its plan allows
    a custom one."""
    wallet = wallet_for(ctx, wallet_id, owner=True)
    return {"wallet_id": wallet.id, "plan": Tier(wallet.tier).value,
            "custom_allowed": PLANS[Tier(wallet.tier)].custom_risk, "profile": wallet.risk_profile}


def _own_org(ctx: Ctx, org_id: int | None = None) -> Organisation:
    """The caller's organisation (any organisation for a platform admin when ``org_id`` is given);
    another organisation reads exactly like a missing one."""
    user = ctx.user
    if org_id is not None and ctx.role is Role.PLATFORM_ADMIN:
        org = ctx.session.get(Organisation, org_id)
    else:
        org = user.organisation if user is not None else None
        if org is not None and org_id is not None and org.id != org_id:
            org = None
    if org is None:
        raise NotFound(f"No organisation #{org_id} of yours." if org_id else NO_ORG)
    return org


def agreement_document(ctx: Ctx) -> dict[str, Any]:
    """The caller's organisation's current PMA agreement (see :func:`agreement_for`)."""
    with ctx.db.uow() as uow:
        user = ensure_user(dataclasses.replace(ctx, session=uow.session, user=None))
        out = agreement_for(uow.session, ctx.now(), user)
        uow.commit()
    return out


def agreement_for(session: Session, now: datetime, user: User) -> dict[str, Any]:
    """The user's organisation's current PMA agreement, generated once for this signer and then
    reused (so its hash stays what the signer read): metadata plus the Markdown and PDF bytes.
    Writes the document row on first use; the caller commits."""
    org = user.organisation
    if org is None:
        raise NotFound(NO_ORG)
    doc = agreement.document_for(session, now, org, signer_for(user))
    accepted = agreement.CURRENT_VERSION in agreement.accepted_versions(session, org.id)
    return {"document_id": doc.id, "version": doc.version, "organisation_id": org.id,
            "organisation": org.name, "signer": doc.signer_name, "date": str(doc.document_date),
            "pdf_sha256": doc.pdf_sha256, "markdown_sha256": doc.markdown_sha256,
            "accepted": accepted, "can_accept": user.is_org_admin and not accepted,
            "summary": agreement.summary(doc, org.name),
            "markdown": doc.markdown, "pdf": bytes(doc.pdf),
            "filename": f"pma-agreement-{doc.version}-org{org.id}"}


def application_view(app: Any, org: Organisation, agreed: bool) -> dict[str, Any]:
    """One verification application with every detail an admin decides on."""
    return {"id": app.id, "organisation_id": org.id, "organisation": org.name,
            "organisation_status": org.status.value, "kind": app.org_kind,
            "kind_text": applications.KIND_TEXT.get(app.org_kind, app.org_kind),
            "legal_name": app.legal_name, "registration_ref": app.registration_ref,
            "trust_name": app.trust_name, "trustees": [str(t) for t in app.trustees],
            "signer_attestation_sha256": app.signer_attestation_sha256, "status": app.status,
            "provider": app.provider, "agreement_accepted": agreed, "created_at": when(app.created_at),
            "decided_at": when(app.decided_at), "reason": app.reason}


def my_application(ctx: Ctx) -> dict[str, Any]:
    """The caller's organisation's latest application."""
    user = ctx.user
    app = applications.latest(user) if user is not None else None
    if user is None or app is None or user.organisation is None:
        raise NotFound("No application yet: register your organisation first "
                       "(POST /api/compliance/organisations).")
    org = user.organisation
    return application_view(app, org, agreement.CURRENT_VERSION in agreement.accepted_versions(
        ctx.session, org.id))


def update_my_application(ctx: Ctx, fields: dict[str, str]) -> dict[str, Any]:
    """Fill in fields of the pending application (``ein``, ``trust``, ``trustees``, ``legal``), all
    in one transaction: one bad field writes nothing."""
    if not fields:
        raise ValidationError("Send at least one of ein, trust, trustees, legal.")
    with ctx.db.uow() as uow:
        inner = dataclasses.replace(ctx, session=uow.session, user=None)
        user = ensure_user(inner)
        for field, value in fields.items():
            applications.update_application(uow.session, ctx.now(), user, field, value)
        uow.commit()
    with ctx.db.uow(read_only=True) as uow:
        return my_application(_reload(ctx, uow.session))


def _reload(ctx: Ctx, session: Session) -> Ctx:
    user = session.get(User, ctx.user.id) if ctx.user is not None else None
    return dataclasses.replace(ctx, session=session, user=user)


def pending_applications(session: Session) -> list[dict[str, Any]]:
    """The verification queue with each application's details (oldest first)."""
    return [application_view(app, org, agreement.CURRENT_VERSION in agreement.accepted_versions(
        session, org.id)) for app, org in applications.pending(session)]


def statement_file(ctx: Ctx, org_id: int, month: str, fmt: str) -> tuple[bytes, str, str]:
    """The organisation's statement for ``month`` (YYYY-MM) as (bytes, media type, file name);
    members of the organisation, platform admins any organisation."""
    org = _own_org(ctx, org_id)
    rates = ctx.hooks.risk_free() if ctx.hooks.risk_free is not None else None
    return statement_bytes(ctx.session, org.id, month, ctx.now(), rates, fmt)


def statement_bytes(session: Session, org_id: int, month: str, now: datetime, rates: Any,
                    fmt: str) -> tuple[bytes, str, str]:
    """``arena statement``'s document for one organisation and month: PDF or CSV."""
    data = build_statement(session, org_id, month, now, rates)
    name = f"statement-org{org_id}-{month}.{fmt}"
    if fmt == "csv":
        return render_csv(data), "text/csv; charset=utf-8", name
    return render_pdf(data), "application/pdf", name


def recent_months(now: datetime, since: datetime, count: int = 3) -> list[str]:
    """Up to ``count`` months (YYYY-MM, newest first) that have a statement: the current month
    (to date) and the ones before it, none before ``since`` (the organisation's registration)."""
    year, month = now.year, now.month
    out: list[str] = []
    while len(out) < count and (year, month) >= (since.year, since.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out


def submit(ctx: Ctx, source: str) -> dict[str, str]:
    """Submit a strategy (URL or write-up) credited to the caller's organisation, through the same
    hook as ``/submit`` with channel ``api`` (the import bounty's submission record)."""
    org = _own_org(ctx).id
    cleaned = check_submission(source)
    if ctx.hooks.submit_source is None:
        return {"message": UNAVAILABLE}
    assert ctx.user is not None
    return {"message": ctx.hooks.submit_source(cleaned, org, ctx.user.id, channel="api")}


def bounties(ctx: Ctx) -> dict[str, Any]:
    """The caller's organisation's import bounty: per token earned (USD), accrued, unfunded, paid."""
    report = bounty_report(ctx.session, _own_org(ctx).id)
    return {"submissions": report.submissions, "accrued": usd(report.accrued),
            "unfunded": usd(report.unfunded), "paid": usd(report.paid),
            "tokens": [{"symbol": t.symbol, "window_ends_at": when(t.ends_at), "earned": usd(t.earned),
                        "funded": usd(t.funded)} for t in report.tokens]}


def signed_agreement(session: Session, org_id: int) -> tuple[Any, Any] | None:
    """The organisation's latest acceptance and the document it accepted, or None."""
    from sqlalchemy import select

    from core.models.agreements import AgreementConsent, AgreementDocument

    consent = session.scalar(select(AgreementConsent).where(AgreementConsent.organisation_id == org_id)
                             .order_by(AgreementConsent.id.desc()).limit(1))
    if consent is None:
        return None
    return consent, session.get(AgreementDocument, consent.document_id)
