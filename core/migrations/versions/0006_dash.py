"""Web dashboard sign-in: one-time login links and browser sessions (hashed secrets only).

Revision ID: 0006_dash
Revises: 0005_api
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.models.base

revision: str = "0006_dash"
down_revision: str | None = "0005_api"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboard_login_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_dashboard_login_links_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_login_links")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_dashboard_login_links_token_sha256")),
    )
    with op.batch_alter_table("dashboard_login_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dashboard_login_links_user_id"), ["user_id"], unique=False)

    op.create_table(
        "dashboard_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["link_id"], ["dashboard_login_links.id"],
            name=op.f("fk_dashboard_sessions_link_id_dashboard_login_links"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_dashboard_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_sessions")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_dashboard_sessions_token_sha256")),
    )
    with op.batch_alter_table("dashboard_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dashboard_sessions_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dashboard_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dashboard_sessions_user_id"))
    op.drop_table("dashboard_sessions")
    with op.batch_alter_table("dashboard_login_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dashboard_login_links_user_id"))
    op.drop_table("dashboard_login_links")
