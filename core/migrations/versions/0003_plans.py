"""plans and billing (wallet billing state, plan charges), PMA agreements (documents, consents),
verification applications

Revision ID: 0003_plans
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.models.base

revision: str = "0003_plans"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wallet_billing",
        sa.Column("wallet_id", sa.Integer(), nullable=False),
        sa.Column("next_tier", sa.String(length=20), nullable=True),
        sa.Column("next_tier_on", sa.Date(), nullable=True),
        sa.Column("grace_period", sa.String(length=7), nullable=True),
        sa.Column("grace_started_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("grace_reminded_on", sa.Date(), nullable=True),
        sa.Column("updated_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["ai_wallets.id"], name=op.f("fk_wallet_billing_wallet_id_ai_wallets")
        ),
        sa.PrimaryKeyConstraint("wallet_id", name=op.f("pk_wallet_billing")),
    )
    op.create_table(
        "plan_charges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wallet_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount", core.models.base.Money(), nullable=False),
        sa.Column("days_charged", sa.Integer(), nullable=False),
        sa.Column("days_in_month", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["ledger_transactions.id"],
            name=op.f("fk_plan_charges_transaction_id_ledger_transactions"),
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["ai_wallets.id"], name=op.f("fk_plan_charges_wallet_id_ai_wallets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_charges")),
        sa.UniqueConstraint("wallet_id", "period", "tier", name=op.f("uq_plan_charges_wallet_id")),
    )
    with op.batch_alter_table("plan_charges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_charges_period"), ["period"], unique=False)
        batch_op.create_index(batch_op.f("ix_plan_charges_wallet_id"), ["wallet_id"], unique=False)


    op.create_table(
        "agreement_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("signer_user_id", sa.Integer(), nullable=False),
        sa.Column("signer_name", sa.String(length=200), nullable=False),
        sa.Column("trust_name", sa.String(length=200), nullable=True),
        sa.Column("document_date", sa.Date(), nullable=False),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("markdown_sha256", sa.String(length=64), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"],
            name=op.f("fk_agreement_documents_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["signer_user_id"], ["users.id"], name=op.f("fk_agreement_documents_signer_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_documents")),
        sa.UniqueConstraint(
            "organisation_id", "version", "signer_user_id", name=op.f("uq_agreement_documents_organisation_id")
        ),
    )
    with op.batch_alter_table("agreement_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_documents_organisation_id"), ["organisation_id"], unique=False
        )
    op.create_table(
        "agreement_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("markdown_sha256", sa.String(length=64), nullable=False),
        sa.Column("accepted_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["agreement_documents.id"],
            name=op.f("fk_agreement_consents_document_id_agreement_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"],
            name=op.f("fk_agreement_consents_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_agreement_consents_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_consents")),
        sa.UniqueConstraint("document_id", "user_id", name=op.f("uq_agreement_consents_document_id")),
    )
    with op.batch_alter_table("agreement_consents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_consents_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "verification_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("org_kind", sa.String(length=40), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=False),
        sa.Column("registration_ref", sa.String(length=100), nullable=True),
        sa.Column("trust_name", sa.String(length=200), nullable=True),
        sa.Column("trustees", sa.JSON(), nullable=False),
        sa.Column("signer_user_id", sa.Integer(), nullable=False),
        sa.Column("signer_attestation_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("provider_ref", sa.String(length=200), nullable=True),
        sa.Column("created_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"], ["users.id"],
            name=op.f("fk_verification_applications_decided_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"],
            name=op.f("fk_verification_applications_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["signer_user_id"], ["users.id"], name=op.f("fk_verification_applications_signer_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_applications")),
    )
    with op.batch_alter_table("verification_applications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_verification_applications_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_verification_applications_status"), ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("verification_applications")
    op.drop_table("agreement_consents")
    op.drop_table("agreement_documents")
    with op.batch_alter_table("plan_charges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_charges_wallet_id"))
        batch_op.drop_index(batch_op.f("ix_plan_charges_period"))
    op.drop_table("plan_charges")
    op.drop_table("wallet_billing")
