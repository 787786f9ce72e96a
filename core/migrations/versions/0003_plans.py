"""plans and billing: wallet billing state and plan charges

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


def downgrade() -> None:
    with op.batch_alter_table("plan_charges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_charges_wallet_id"))
        batch_op.drop_index(batch_op.f("ix_plan_charges_period"))
    op.drop_table("plan_charges")
    op.drop_table("wallet_billing")
