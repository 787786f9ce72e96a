"""Organisations, users and attestations (who is allowed to do what).

Identity is the numeric platform user id (``platform``, ``platform_user_id``), never a username.
Attestations are immutable rows (a database trigger refuses UPDATE and DELETE), each with the
SHA-256 of the exact disclosure text version the user accepted.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, enum_column


class OrgKind(enum.StrEnum):
    CHURCH = "church"
    CHURCH_TRUST = "church_trust"
    RELIGIOUS_ORGANISATION = "religious_organisation"


class OrgStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Platform(enum.StrEnum):
    TELEGRAM = "telegram"
    DISCORD = "discord"
    CONSOLE = "console"
    REST = "rest"
    SYSTEM = "system"


class Role(enum.StrEnum):
    """Ordered from least to most privileged; a user's effective role is derived (see compliance)."""

    VISITOR = "visitor"
    MEMBER = "member"
    VERIFIED_MEMBER = "verified_member"
    ORG_ADMIN = "org_admin"
    PLATFORM_ADMIN = "platform_admin"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return enum_column(cls, name)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrgKind] = mapped_column(_enum(OrgKind, "org_kind"))
    status: Mapped[OrgStatus] = mapped_column(_enum(OrgStatus, "org_status"), default=OrgStatus.PENDING)
    registration_ref: Mapped[str | None] = mapped_column(String(100))  # e.g. EIN / charity number
    created_at: Mapped[datetime]
    verified_at: Mapped[datetime | None]
    verified_by_user_id: Mapped[int | None]  # users.id; no FK: users and organisations refer to each other

    members: Mapped[list[User]] = relationship(
        back_populates="organisation", foreign_keys="User.organisation_id"
    )


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[Platform] = mapped_column(_enum(Platform, "platform"))
    platform_user_id: Mapped[int] = mapped_column(BigInteger)
    display_name: Mapped[str | None] = mapped_column(String(200))  # display only, never identity
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.VISITOR)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    is_org_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]

    organisation: Mapped[Organisation | None] = relationship(
        back_populates="members", foreign_keys=[organisation_id]
    )


class AttestationKind(enum.StrEnum):
    CHURCH_STATUS = "church_status"
    EDUCATIONAL = "educational"
    RISK = "risk"
    ARBITRATION = "arbitration"


class Attestation(Base):
    """One accepted statement. Immutable: corrections are new rows, never edits."""

    __tablename__ = "attestations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[AttestationKind] = mapped_column(_enum(AttestationKind, "attestation_kind"))
    disclosure_version: Mapped[str] = mapped_column(String(40))
    text_sha256: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime]
