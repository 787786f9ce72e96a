"""The verification gateway: an organisation's application, identity providers, admin decisions.

An application records the organisation's type (508(c)(1)(A) church, church trust, religious
organisation), legal name, registration / EIN where it has one, trust name, trustees, and the
signer's self-attestation (the hash of the statement they accepted at onboarding). It is handed to an
:class:`IdentityProvider`; the default, :class:`ManualReviewProvider`, queues it for a platform admin
(no external KYC service is reachable here; a real provider implements the same interface and is
chosen in :func:`provider`). Admins decide from ``/pending``: verify, or reject with a reason. Every
decision is audited (``audit_log``) and the organisation's members are told in their chats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.compliance import agreement
from core.compliance.disclosures import VERSIONS
from core.errors import NotFound, ValidationError
from core.formatting import date_text
from core.models import AuditLog, Organisation, OrgStatus, User
from core.models.agreements import VerificationApplication
from core.models.compliance import Attestation, AttestationKind

#: What onboarding tells a new member about the wait (manual review by a platform admin).
USUAL_WAIT = "usually within one to two business days"
KIND_TEXT = {"church": "508(c)(1)(A) church", "church_trust": "church trust",
             "religious_organisation": "religious organisation"}


@dataclass(frozen=True, slots=True)
class ProviderResult:
    status: str  # "manual_review" | "verified" | "rejected"
    reference: str | None = None
    reason: str | None = None


class IdentityProvider(Protocol):
    """Checks an application's identity; returns at once (a real provider may call out)."""

    name: str

    def submit(self, application: VerificationApplication) -> ProviderResult: ...


class ManualReviewProvider:
    """The default: every application waits for a platform admin in ``/pending``."""

    name = "manual"

    def submit(self, application: VerificationApplication) -> ProviderResult:
        return ProviderResult("manual_review", f"manual-{application.id}")


def provider() -> IdentityProvider:
    return ManualReviewProvider()


def latest(user: User) -> VerificationApplication | None:
    """The newest application of the user's organisation (from the session the user came from)."""
    from sqlalchemy.orm import object_session

    session = object_session(user)
    if session is None or user.organisation_id is None:
        return None
    return session.scalar(select(VerificationApplication).where(
        VerificationApplication.organisation_id == user.organisation_id)
        .order_by(VerificationApplication.id.desc()).limit(1))


def _signer_attestation(session: Session, user: User) -> str:
    row = session.scalar(select(Attestation).where(
        Attestation.user_id == user.id, Attestation.kind == AttestationKind.CHURCH_STATUS)
        .order_by(Attestation.id.desc()).limit(1))
    if row is None:
        return VERSIONS["v1"].sha256(AttestationKind.CHURCH_STATUS)
    return row.text_sha256


def open_application(session: Session, now: datetime, org: Organisation,
                     signer: User) -> VerificationApplication:
    """Create the organisation's application (at registration) and hand it to the identity provider."""
    app = VerificationApplication(
        organisation_id=org.id, org_kind=org.kind.value, legal_name=org.name,
        registration_ref=org.registration_ref, trust_name=None, trustees=[],
        signer_user_id=signer.id, signer_attestation_sha256=_signer_attestation(session, signer),
        status="pending", provider=provider().name, created_at=now)
    session.add(app)
    session.flush()
    result = provider().submit(app)
    app.provider_ref = result.reference
    return app


FIELDS = {"ein": "registration_ref", "registration": "registration_ref", "trust": "trust_name",
          "trustees": "trustees", "legal": "legal_name"}


def update_application(session: Session, now: datetime, user: User, field: str,
                       value: str) -> VerificationApplication:
    """Fill in one field of the organisation's pending application (its admin only)."""
    app = latest(user)
    if app is None:
        raise NotFound("Register your organisation first: send /start.")
    if app.status != "pending":
        raise ValidationError(f"application #{app.id} was already {app.status}; it can no longer change")
    if not user.is_org_admin:
        raise ValidationError("Only your organisation's admin can change its application.")
    key = FIELDS.get(field.lower())
    text = " ".join(value.split())
    if key is None:
        raise ValidationError("Usage: /apply ein|trust|trustees|legal VALUE")
    if not 1 <= len(text) <= 200 or any(ch in text for ch in "<>`{}"):
        raise ValidationError("The value must be 1 to 200 characters, without < > ` { }.")
    if key == "registration_ref" and not re.fullmatch(r"[A-Za-z0-9 ./-]{2,40}", text):
        raise ValidationError("An EIN or registration number looks like 12-3456789.")
    if key == "trustees":
        setattr(app, key, [t.strip() for t in re.split(r"[;,]", text) if t.strip()][:20])
    else:
        setattr(app, key, text)
    session.add(AuditLog(at=now, actor=f"user:{user.id}", action="application.update",
                         subject=f"application:{app.id}", details={"field": key}))
    return app


def pending(session: Session) -> list[tuple[VerificationApplication, Organisation]]:
    rows = session.execute(select(VerificationApplication, Organisation).join(
        Organisation, Organisation.id == VerificationApplication.organisation_id).where(
        VerificationApplication.status == "pending").order_by(VerificationApplication.id)).all()
    return [(a, o) for a, o in rows]


#: How each identity provider checks an application, as the applicant and the reviewer read it.
CHECK_TEXT = {"manual": "reviewed by a platform admin"}


def describe(app: VerificationApplication, org: Organisation, agreed: bool, *,
             for_admin: bool = False) -> str:
    """One application as a line. The reviewer (``for_admin``) also gets the fingerprint of what the
    signer accepted at onboarding, to compare with the attestation records; the applicant does not
    need it."""
    trustees = ", ".join(str(t) for t in app.trustees) or "none named"
    fingerprint = f" (SHA-256 {app.signer_attestation_sha256[:12]})" if for_admin else ""
    return (f"#{org.id} {app.legal_name} — {KIND_TEXT.get(app.org_kind, app.org_kind)}; "
            f"EIN/registration: {app.registration_ref or 'none given'}; trust: {app.trust_name or 'none'}; "
            f"trustees: {trustees}; signer's attestations: recorded{fingerprint}; "
            f"PMA agreement: {'accepted' if agreed else 'not accepted yet'}; "
            f"applied {date_text(app.created_at)}; "
            f"identity check: {CHECK_TEXT.get(app.provider, app.provider)}")


def decide(session: Session, now: datetime, admin: User, org_id: int, verified: bool,
           reason: str | None) -> tuple[Organisation, VerificationApplication | None, bool]:
    """Record a platform admin's decision on the organisation's pending application; returns
    (org, application, changed). Verifying or rejecting twice changes nothing the second time."""
    org = session.get(Organisation, org_id, with_for_update=True)
    if org is None:
        raise NotFound(f"No organisation #{org_id}.")
    app = session.scalar(select(VerificationApplication).where(
        VerificationApplication.organisation_id == org.id)
        .order_by(VerificationApplication.id.desc()).limit(1))
    target = OrgStatus.VERIFIED if verified else OrgStatus.REJECTED
    if org.status is target:
        return org, app, False
    if not verified and (reason is None or not reason.strip()):
        raise ValidationError(f"Rejecting needs a reason: /deny {org_id} REASON")
    if not verified and len(" ".join((reason or "").split())) < 3:
        raise ValidationError("Give a reason of 3 to 500 characters for the rejection.")
    if not verified and org.status is OrgStatus.VERIFIED:
        raise ValidationError(f"Organisation #{org.id} is already verified; it cannot be rejected.")
    if verified and app is not None and agreement.CURRENT_VERSION not in agreement.accepted_versions(
            session, org.id):
        raise ValidationError(
            f"Organisation #{org.id} has not accepted the PMA agreement {agreement.CURRENT_VERSION} yet, "
            "so it cannot be verified: its admin sends /agreement and presses Agree (they were told how "
            "when they registered)")
    if app is not None:
        app.status, app.decided_at, app.decided_by_user_id = target.value, now, admin.id
        app.reason = None if verified else " ".join(reason.split())[:500] if reason else None
    org.status = target
    if verified:
        org.verified_at, org.verified_by_user_id = now, admin.id
    session.add(AuditLog(at=now, actor=f"user:{admin.id}", action="org.verify" if verified else "org.reject",
                         subject=f"org:{org.id}",
                         details={"application": app.id if app else None,
                                  "reason": None if verified else reason,
                                  "provider": app.provider if app else None}))
    return org, app, True
