"""The PMA agreement: versioned templates, each organisation's generated document, consent, and the
trading gate when the template changes.

Templates are Markdown files ``core/compliance/agreements/<version>.md`` with ``{{placeholders}}``
(:data:`FIELDS`); a change to the text is a new file and :data:`CURRENT_VERSION` moves to it. For an
organisation the platform renders its own document (organisation and trust names, signer, date,
version, fees and plan prices) as Markdown and PDF and stores both with their SHA-256 (hex). The
signer receives the PDF and :func:`summary` before the Agree button; an acceptance
(:class:`~core.models.agreements.AgreementConsent`) copies the document's hashes.

The gate (:func:`require_current_agreement`, called by the ledger for every buy and redeem a person
makes and by the exchange for every order): an organisation that accepted an earlier version may not
trade until it accepts the current one. The message says why and how (``/agreement``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from core.billing.plans import PLANS
from core.compliance.agreement_pdf import render_pdf
from core.db import insert_if_absent
from core.errors import ArenaError, NotFound, PermissionDenied, ValidationError
from core.formatting import cash as fmt_cash
from core.models import AuditLog, Organisation, OrgKind, Tier, User
from core.models.agreements import AgreementConsent, AgreementDocument

TEMPLATE_DIR = Path(__file__).with_name("agreements")
CURRENT_VERSION = "pma-v1"
FIELDS = ("version", "date", "organisation", "organisation_kind", "trust", "signer",
          "management_fee", "performance_fee", "basic_price", "premium_price")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
KIND_NAMES = {OrgKind.CHURCH: "a church", OrgKind.CHURCH_TRUST: "a church trust",
              OrgKind.RELIGIOUS_ORGANISATION: "a religious organisation"}


class AgreementRequired(ArenaError):
    """The organisation has not accepted the current agreement version."""

    code = "agreement_required"


def template_text(version: str) -> str:
    path = TEMPLATE_DIR / f"{version}.md"
    if not re.fullmatch(r"[a-z0-9-]{1,40}", version) or not path.is_file():
        raise NotFound(f"no agreement version {version[:40]!r}")
    return path.read_text(encoding="utf-8")


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def _clean(value: str) -> str:
    """One line, no template syntax or Markdown emphasis from user-supplied names."""
    return " ".join(value.replace("{", "(").replace("}", ")").replace("*", "").split())[:200]


def render_markdown(version: str, values: dict[str, str]) -> str:
    """The template with every placeholder filled; an unknown or missing one is an error."""
    text = template_text(version)
    used = set(_PLACEHOLDER.findall(text))
    unknown = used - set(FIELDS)
    if unknown:
        raise ValidationError(f"agreement {version} uses unknown placeholders: {', '.join(sorted(unknown))}")
    missing = [f for f in used if not values.get(f)]
    if missing:
        raise ValidationError(f"agreement {version} needs values for: {', '.join(sorted(missing))}")
    return _PLACEHOLDER.sub(lambda m: _clean(values[m.group(1)]), text)


@dataclass(frozen=True, slots=True)
class Signer:
    user: User
    name: str
    trust_name: str | None = None


def values_for(org: Organisation, signer: Signer, version: str, now: datetime) -> dict[str, str]:
    return {"version": version, "date": f"{now:%d %B %Y}", "organisation": org.name,
            "organisation_kind": KIND_NAMES[org.kind], "trust": signer.trust_name or "none named",
            "signer": signer.name, "management_fee": "1 %", "performance_fee": "10 %",
            "basic_price": fmt_cash(PLANS[Tier.BASIC].price),
            "premium_price": fmt_cash(PLANS[Tier.PREMIUM].price)}


_DOCUMENTS = cast(Table, AgreementDocument.__table__)
_CONSENTS = cast(Table, AgreementConsent.__table__)


def document_for(session: Session, now: datetime, org: Organisation, signer: Signer,
                 version: str | None = None) -> AgreementDocument:
    """The organisation's document of ``version`` (default: current) for this signer, generated
    once and then reused (so its hash stays what the signer was shown)."""
    version = version or CURRENT_VERSION
    query = select(AgreementDocument).where(
        AgreementDocument.organisation_id == org.id, AgreementDocument.version == version,
        AgreementDocument.signer_user_id == signer.user.id)
    found = session.scalar(query)
    if found is not None:
        return found
    markdown = render_markdown(version, values_for(org, signer, version, now))
    pdf = render_pdf(markdown, title=f"{org.name} - PMA agreement {version}", on=now.date())
    row = {"organisation_id": org.id, "version": version, "signer_user_id": signer.user.id,
           "signer_name": _clean(signer.name), "trust_name": signer.trust_name,
           "document_date": now.date(), "markdown": markdown, "pdf": pdf,
           "markdown_sha256": sha256(markdown), "pdf_sha256": sha256(pdf), "created_at": now}
    # Two /agreement requests at once both rendered it; the second insert used to die with a
    # unique violation. Now the first stored document stands and both return it.
    insert_if_absent(session, _DOCUMENTS, row, ("organisation_id", "version", "signer_user_id"))
    return session.scalars(query.execution_options(populate_existing=True)).one()


def summary(doc: AgreementDocument, org_name: str) -> str:
    """The short summary the signer reads with the PDF, before the Agree button."""
    return (f"Your PMA agreement ({doc.version}) for {org_name} is attached (PDF). In short:\n"
            "- Treasury Arena is a private membership association; you act for your church, trust or "
            "religious organisation.\n"
            "- It is an educational service, not investment advice; you make your own decisions.\n"
            "- Strategy tokens are access to a strategy's performance inside the association, not "
            "securities or deposits.\n"
            "- You can lose some or all of the money you allocate.\n"
            f"- Fees: 1 %/yr management, 10 % of gains above the benchmark; plans Free, Basic "
            f"{fmt_cash(PLANS[Tier.BASIC].price)}/month, Premium "
            f"{fmt_cash(PLANS[Tier.PREMIUM].price)}/month.\n"
            "- Disputes go to private arbitration, not to court.\n"
            f"Document fingerprint (SHA-256): {doc.pdf_sha256[:16]}...")


def agree(session: Session, now: datetime, user: User, document_id: int) -> tuple[AgreementConsent, bool]:
    """``user`` accepts the document; returns (consent, created). Pressing twice stores one row.
    Only the organisation's admin signs, and only a document of the current version."""
    doc = session.get(AgreementDocument, document_id)
    if doc is None or doc.organisation_id != user.organisation_id:
        raise NotFound("That agreement does not exist (or is not your organisation's); send /agreement.")
    if not user.is_org_admin:
        raise PermissionDenied("Only your organisation's admin can accept the agreement.")
    if doc.version != CURRENT_VERSION:
        raise ValidationError(f"That is agreement {doc.version}; the current one is {CURRENT_VERSION}. "
                              "Send /agreement to read it.")
    row = {"organisation_id": doc.organisation_id, "document_id": doc.id, "user_id": user.id,
           "version": doc.version, "pdf_sha256": doc.pdf_sha256, "markdown_sha256": doc.markdown_sha256,
           "accepted_at": now}
    # A double press handled concurrently: the second insert waits for the first and stores
    # nothing (it used to die with a unique violation); only the stored press is audited.
    created = insert_if_absent(session, _CONSENTS, row, ("document_id", "user_id"))
    if created:
        session.add(AuditLog(at=now, actor=f"user:{user.id}", action="agreement.accept",
                             subject=f"org:{doc.organisation_id}",
                             details={"version": doc.version, "pdf_sha256": doc.pdf_sha256}))
        session.flush()
    consent = session.scalars(select(AgreementConsent).where(
        AgreementConsent.document_id == doc.id, AgreementConsent.user_id == user.id)).one()
    return consent, created


_ACCEPTED = select(AgreementConsent.version).where(AgreementConsent.organisation_id == bindparam("org"))


def accepted_versions(session: Session, org_id: int) -> set[str]:
    """Versions the organisation accepted (one Core statement: it runs inside every trade)."""
    if session.new:  # Core statements do not autoflush
        session.flush()
    return {str(r[0]) for r in session.connection().execute(_ACCEPTED, {"org": org_id})}


def require_current_agreement(session: Session, org_id: int | None) -> None:
    """Refuse to trade for an organisation that accepted an older agreement but not the current one."""
    if org_id is None:
        return
    versions = accepted_versions(session, org_id)
    if versions and CURRENT_VERSION not in versions:
        raise AgreementRequired(
            f"trading is paused for your organisation: the PMA agreement changed to {CURRENT_VERSION} "
            "and your organisation has not accepted it yet. Send /agreement to read it (PDF) and press "
            "Agree; your holdings are unaffected.")
