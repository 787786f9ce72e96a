"""Passwordless sign-in to the web dashboard: one-time links issued in chat, browser sessions.

Conventions:

* A link's secret and a session's secret are 256-bit ``secrets.token_urlsafe`` strings; only
  their SHA-256 (hex) is stored (:mod:`core.models.web`).
* A link is valid for :data:`LINK_TTL` (10 minutes) from issue and can be used once. Using it is
  one conditional ``UPDATE ... WHERE used_at IS NULL AND expires_at > now`` in the transaction that
  creates the session, so two browsers racing with one link get one session between them.
* Only organisation admins and platform admins get links (the ``/dashboard`` row of the
  permission table says the same); the role is recomputed on every request, so a user who loses
  the role loses the dashboard at their next click.
* Times are the business clock's (UTC), like every other expiry in the platform.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.commands.types import role_rank
from core.compliance.identity import resolve
from core.config import Settings
from core.errors import ArenaError, PermissionDenied
from core.models.compliance import Role, User
from core.models.ledger import AuditLog
from core.models.web import DashboardLoginLink, DashboardSession

LINK_TTL = timedelta(minutes=10)
LINK_PATH = "/dashboard/login/"
REFUSED = ("This sign-in link is not valid: it was already used or has expired. Send /dashboard to the "
           "bot for a new one.")
UNKNOWN = "This sign-in link is not valid. Send /dashboard to the bot for a new one."


class LoginRefused(ArenaError):
    """A login link that is unknown, used or expired (one line for the browser)."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who a dashboard session belongs to, with the role recomputed for this request."""

    session_id: int
    user_id: int
    platform: str
    platform_user_id: int
    display_name: str
    role: Role
    organisation_id: int | None

    @property
    def is_platform_admin(self) -> bool:
        return self.role is Role.PLATFORM_ADMIN


def digest(secret: str) -> str:
    """SHA-256 hex of a link or session secret (what the database stores)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def may_use_dashboard(role: Role) -> bool:
    """Organisation admins (their own organisation) and platform admins (everything)."""
    return role_rank(role) >= role_rank(Role.ORG_ADMIN)


def role_of(session: Session, settings: Settings, user: User) -> Role:
    return resolve(session, settings, user.platform.value, user.platform_user_id)[1]


def issue_link(session: Session, settings: Settings, user: User, now: datetime) -> str:
    """A new single-use login link for ``user`` (the full URL); refused below organisation admin."""
    if not may_use_dashboard(role_of(session, settings, user)):
        raise PermissionDenied("The dashboard is for organisation admins and platform administrators.")
    secret = secrets.token_urlsafe(32)
    session.add(DashboardLoginLink(token_sha256=digest(secret), user_id=user.id, created_at=now,
                                   expires_at=now + LINK_TTL))
    session.add(AuditLog(at=now, actor=f"user:{user.id}", action="dashboard.link", subject=f"user:{user.id}"))
    return settings.dashboard_url.rstrip("/") + LINK_PATH + secret


def redeem_link(session: Session, settings: Settings, secret: str, now: datetime) -> str:
    """Use a link once: marks it used and returns a new session secret (for the cookie)."""
    link = session.scalar(select(DashboardLoginLink).where(DashboardLoginLink.token_sha256 == digest(secret)))
    if link is None:
        raise LoginRefused(UNKNOWN)
    claimed = session.execute(
        update(DashboardLoginLink)
        .where(DashboardLoginLink.id == link.id, DashboardLoginLink.used_at.is_(None),
               DashboardLoginLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        raise LoginRefused(REFUSED)
    user = session.get(User, link.user_id)
    if user is None or not may_use_dashboard(role_of(session, settings, user)):
        raise LoginRefused("Your account may no longer use the dashboard.")
    token = secrets.token_urlsafe(32)
    hours = timedelta(hours=settings.dashboard_session_hours)
    session.add(DashboardSession(token_sha256=digest(token), user_id=user.id, link_id=link.id,
                                 created_at=now, expires_at=now + hours))
    session.add(AuditLog(at=now, actor=f"user:{user.id}", action="dashboard.login",
                         subject=f"user:{user.id}"))
    return token


def viewer_for(session: Session, settings: Settings, token: str, now: datetime) -> Viewer | None:
    """The signed-in viewer of a session secret, or None (unknown, expired, logged out, or no
    longer an admin)."""
    row = session.scalar(select(DashboardSession).where(DashboardSession.token_sha256 == digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None:
        return None
    role = role_of(session, settings, user)
    if not may_use_dashboard(role):
        return None
    return Viewer(row.id, user.id, user.platform.value, user.platform_user_id, user.display_name or "",
                  role, user.organisation_id)


def end_session(session: Session, token: str, now: datetime) -> bool:
    """Log out: the session secret stops working. Returns whether a live session ended."""
    done = session.execute(
        update(DashboardSession)
        .where(DashboardSession.token_sha256 == digest(token), DashboardSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return bool(done)
