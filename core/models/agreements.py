"""PMA agreements: each organisation's generated document and its members' acceptances.

``agreement_documents``: one generated document per (organisation, template version, signer): the
rendered Markdown, the PDF bytes, and the SHA-256 (hex) of each. ``agreement_consents``: an
acceptance of exactly one document, with the document's hashes copied in (what was accepted can be
proven from this row alone). Times are aware UTC; ``document_date`` is the UTC date printed on it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base


class AgreementDocument(Base):
    __tablename__ = "agreement_documents"
    __table_args__ = (UniqueConstraint("organisation_id", "version", "signer_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    version: Mapped[str] = mapped_column(String(40))
    signer_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer_name: Mapped[str] = mapped_column(String(200))
    trust_name: Mapped[str | None] = mapped_column(String(200))
    document_date: Mapped[date] = mapped_column(Date)
    markdown: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    markdown_sha256: Mapped[str] = mapped_column(String(64))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class AgreementConsent(Base):
    __tablename__ = "agreement_consents"
    __table_args__ = (UniqueConstraint("document_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("agreement_documents.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    version: Mapped[str] = mapped_column(String(40))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    markdown_sha256: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime]


class VerificationApplication(Base):
    """An organisation's application to be verified (the gateway a platform admin decides).

    ``status``: pending -> verified | rejected. ``trustees`` is a list of names. The signer's
    self-attestation is the text they accepted at onboarding; its SHA-256 is copied here.
    ``provider`` names the identity provider that handled it (``manual`` by default) and
    ``provider_ref`` its reference.
    """

    __tablename__ = "verification_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    org_kind: Mapped[str] = mapped_column(String(40))
    legal_name: Mapped[str] = mapped_column(String(200))
    registration_ref: Mapped[str | None] = mapped_column(String(100))
    trust_name: Mapped[str | None] = mapped_column(String(200))
    trustees: Mapped[list[Any]]
    signer_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer_attestation_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    provider: Mapped[str] = mapped_column(String(40))
    provider_ref: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
