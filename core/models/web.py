"""Web dashboard sign-in: one-time login links and browser sessions.

Both store only the SHA-256 of their secret (hex), never the secret itself, so a copy of the
database cannot be used to sign in.

* :class:`DashboardLoginLink` — issued by ``/dashboard`` in a private chat (or
  ``arena dashboard-link``): valid until ``expires_at`` (10 minutes), used at most once
  (``used_at`` is set in the same transaction that creates the session).
* :class:`DashboardSession` — the browser's session cookie; ends at ``expires_at`` or when
  ``revoked_at`` is set (logout).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base


class DashboardLoginLink(Base):
    __tablename__ = "dashboard_login_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class DashboardSession(Base):
    __tablename__ = "dashboard_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("dashboard_login_links.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
