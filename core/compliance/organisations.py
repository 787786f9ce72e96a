"""Organisation registration (pending) and platform-admin verification."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import Clock
from core.compliance.attestations import has_all_current
from core.errors import NotFound, PermissionDenied, ValidationError
from core.models.compliance import Organisation, OrgKind, OrgStatus, User
from core.models.ledger import AuditLog

KIND_LABELS: dict[OrgKind, str] = {
    OrgKind.CHURCH: "Church",
    OrgKind.CHURCH_TRUST: "Church trust",
    OrgKind.RELIGIOUS_ORGANISATION: "Religious organisation",
}


def parse_org_kind(value: str) -> OrgKind:
    try:
        return OrgKind(value.strip().lower())
    except ValueError:
        names = ", ".join(kind.value for kind in OrgKind)
        raise ValidationError(f"Organisation kind must be one of: {names}.") from None


def clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not 2 <= len(cleaned) <= 200:
        raise ValidationError("The organisation name must be 2 to 200 characters.")
    if any(ch in cleaned for ch in "<>`"):
        raise ValidationError("The organisation name may not contain < > or `.")
    return cleaned


def register(session: Session, user: User, kind: OrgKind, name: str, clock: Clock) -> Organisation:
    """Register ``user``'s organisation (pending); the registrant becomes its admin."""
    if not has_all_current(session, user):
        raise PermissionDenied("Please complete the attestations first: send /start.")
    # Lock and re-read the user first: a double /org register handled concurrently made two
    # organisations (both saw none), the user ending in the later one and the other orphaned.
    session.flush()  # a refresh would drop pending changes to the user
    session.refresh(user, with_for_update=True)
    if user.organisation is not None:
        current_org = user.organisation
        raise ValidationError(f"You already belong to {current_org.name} (#{current_org.id}).")
    org = Organisation(name=clean_name(name), kind=kind, status=OrgStatus.PENDING, created_at=clock.now())
    session.add(org)
    session.flush()
    user.organisation_id = org.id
    user.organisation = org
    user.is_org_admin = True
    session.add(
        AuditLog(
            at=clock.now(),
            actor=f"user:{user.id}",
            action="org.register",
            subject=f"org:{org.id}",
            details={"kind": kind.value},
        )
    )
    return org


def verify(session: Session, admin: User, org_id: int, clock: Clock) -> tuple[Organisation, bool]:
    """Mark a pending organisation verified; returns (org, changed). Verifying twice is a no-op."""
    org = session.get(Organisation, org_id, with_for_update=True)
    if org is None:
        raise NotFound(f"No organisation #{org_id}.")
    if org.status is OrgStatus.VERIFIED:
        return org, False
    org.status = OrgStatus.VERIFIED
    org.verified_at = clock.now()
    org.verified_by_user_id = admin.id
    session.add(
        AuditLog(at=clock.now(), actor=f"user:{admin.id}", action="org.verify", subject=f"org:{org.id}")
    )
    return org, True


def reject(
    session: Session, admin: User, org_id: int, reason: str, clock: Clock
) -> tuple[Organisation, bool]:
    """Refuse a pending organisation (platform admins; audited); returns (org, changed). Rejecting a
    rejected one again is a no-op; a verified one cannot be rejected."""
    cleaned = " ".join(reason.split())
    if not 3 <= len(cleaned) <= 500:
        raise ValidationError("Give a reason of 3 to 500 characters for the rejection.")
    org = session.get(Organisation, org_id, with_for_update=True)
    if org is None:
        raise NotFound(f"No organisation #{org_id}.")
    if org.status is OrgStatus.REJECTED:
        return org, False
    if org.status is OrgStatus.VERIFIED:
        raise ValidationError(f"Organisation #{org_id} is already verified; it cannot be rejected.")
    org.status = OrgStatus.REJECTED
    session.add(AuditLog(at=clock.now(), actor=f"user:{admin.id}", action="org.reject",
                         subject=f"org:{org.id}", details={"reason": cleaned}))
    return org, True


def pending_count(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Organisation).where(Organisation.status == OrgStatus.PENDING)
        )
        or 0
    )
