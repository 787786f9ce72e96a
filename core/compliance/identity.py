"""Users, platform admins and effective roles, keyed on numeric platform ids (never usernames).

Effective role: platform admin (configured in ``ARENA_PLATFORM_ADMINS`` or stored) > org admin
(organisation verified and ``is_org_admin``) > verified member (organisation verified) > member
(all current attestations given) > visitor. The stored ``users.role`` mirrors it for reporting and
is refreshed whenever an input changes; authorisation always recomputes it.
"""

from __future__ import annotations

import hashlib
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, distinct, func, select
from sqlalchemy.orm import Session

from core.clock import Clock
from core.compliance.attestations import has_all_current
from core.compliance.disclosures import ATTESTATION_ORDER, current
from core.config import Settings
from core.db import insert_if_absent
from core.models.compliance import Attestation, Organisation, OrgStatus, Platform, Role, User


def console_user_id(name: str) -> int:
    """A stable numeric id for a console user name (48 bits, never 0): ``arena chat --user alice``
    speaks as ``console:<this id>``, and ``--user console:alice`` on the CLI names the same user."""
    return int(hashlib.sha256(name.strip().lower().encode()).hexdigest()[:12], 16) or 1


def admin_ids(settings: Settings) -> frozenset[tuple[str, int]]:
    """Parse ``ARENA_PLATFORM_ADMINS`` ("telegram:123,discord:456"); bad entries are ignored."""
    result: set[tuple[str, int]] = set()
    for item in settings.platform_admins.split(","):
        platform, _, number = item.strip().partition(":")
        if platform and number.strip().isdigit():
            result.add((platform.strip().lower(), int(number)))
    return frozenset(result)


def _user_query(platform: str, platform_user_id: int) -> Select[Any]:
    return select(User).where(User.platform == Platform(platform), User.platform_user_id == platform_user_id)


def find_user(session: Session, platform: str, platform_user_id: int) -> User | None:
    return session.scalar(_user_query(platform, platform_user_id))


_USERS = cast(Table, User.__table__)


def get_or_create_user(
    session: Session, platform: str, platform_user_id: int, display_name: str, clock: Clock
) -> User:
    """The user row for a platform identity, created as a visitor on first write.

    Two first messages of a new user run at once (chat adapters handle updates concurrently, the
    API beside the chat): both found no row and both inserted, and the loser died with a unique
    violation. The row is therefore created with ON CONFLICT DO NOTHING and then read.
    """
    user = find_user(session, platform, platform_user_id)
    if user is None:
        row = {
            "platform": Platform(platform),
            "platform_user_id": platform_user_id,
            "display_name": display_name[:200] or None,
            "role": Role.VISITOR,
            "is_org_admin": False,
            "created_at": clock.now(),
        }
        insert_if_absent(session, _USERS, row, ("platform", "platform_user_id"))
        user = session.scalars(_user_query(platform, platform_user_id)).one()  # ours or the winner's
    return user


def effective_role(
    session: Session, user: User | None, settings: Settings, *, platform: str, platform_user_id: int
) -> Role:
    """Recompute the role from attestations, organisation status and the admin list."""
    if (platform, platform_user_id) in admin_ids(settings):
        return Role.PLATFORM_ADMIN
    if user is None:
        return Role.VISITOR
    if user.role is Role.PLATFORM_ADMIN:
        return Role.PLATFORM_ADMIN
    if not has_all_current(session, user):
        return Role.VISITOR
    org = user.organisation
    if org is None or org.status is not OrgStatus.VERIFIED:
        return Role.MEMBER
    return Role.ORG_ADMIN if user.is_org_admin else Role.VERIFIED_MEMBER


# Built once: constructing the statement costs more than running it on the hot path.
_RESOLVE = (
    select(User, Organisation.status, func.count(distinct(Attestation.kind)))
    .outerjoin(Organisation, Organisation.id == User.organisation_id)
    .outerjoin(
        Attestation,
        (Attestation.user_id == User.id) & (Attestation.disclosure_version == bindparam("version")),
    )
    .where(User.platform == bindparam("platform"), User.platform_user_id == bindparam("uid"))
    .group_by(User.id, Organisation.status)
)


def resolve(
    session: Session, settings: Settings, platform: str, platform_user_id: int
) -> tuple[User | None, Role]:
    """The user row and effective role in one query (the hot path of every command)."""
    row = session.execute(
        _RESOLVE,
        {"platform": Platform(platform).value, "uid": platform_user_id, "version": current().version},
    ).first()
    if (platform, platform_user_id) in admin_ids(settings):
        return (row[0] if row else None), Role.PLATFORM_ADMIN
    if row is None:
        return None, Role.VISITOR
    user, org_status, attested = row
    if user.role is Role.PLATFORM_ADMIN:
        return user, Role.PLATFORM_ADMIN
    if attested < len(ATTESTATION_ORDER):
        return user, Role.VISITOR
    if org_status is not OrgStatus.VERIFIED:
        return user, Role.MEMBER
    return user, Role.ORG_ADMIN if user.is_org_admin else Role.VERIFIED_MEMBER


def refresh_role(session: Session, user: User, settings: Settings) -> Role:
    """Store the recomputed role on the user row (reporting only) and return it."""
    role = effective_role(
        session,
        user,
        settings,
        platform=user.platform.value,
        platform_user_id=user.platform_user_id,
    )
    if user.role is not Role.PLATFORM_ADMIN and user.role is not role:
        user.role = role
    return role
