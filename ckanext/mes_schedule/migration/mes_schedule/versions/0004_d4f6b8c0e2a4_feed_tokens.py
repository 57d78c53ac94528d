"""Personal calendar addresses: a table of feed tokens

A new table `mes_schedule_feed_token` keeps, for each personal calendar address a user creates on "My deadlines"
(`/compliance/calendar/<token>.ics`), the SHA-256 of its secret, its user and when it was created and revoked.
The secret itself is never stored.

Revision ID: d4f6b8c0e2a4
Revises: c3e5a7b9d1f3
Create Date: 2026-11-30

"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d4f6b8c0e2a4"
down_revision = "c3e5a7b9d1f3"
branch_labels = depends_on = None


def upgrade() -> None:
    op.create_table(
        "mes_schedule_feed_token",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("token_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("revoked_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("token_hash", name="mes_schedule_feed_token_hash"),
    )
    op.create_index("mes_schedule_feed_token_user", "mes_schedule_feed_token", ["user_id"])


def downgrade() -> None:
    op.drop_index("mes_schedule_feed_token_user", table_name="mes_schedule_feed_token")
    op.drop_table("mes_schedule_feed_token")
