"""Publication history, triggering events and sent reminders

Revision ID: a1c3e5f7b9d1
Revises:
Create Date: 2026-11-26

"""
import sqlalchemy as sa
from alembic import op

revision = "a1c3e5f7b9d1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mes_schedule_publication",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("package_id", sa.Text, nullable=False),
        sa.Column("resource_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("published_at", sa.DateTime, nullable=False),
        sa.Column("user_id", sa.Text),
        sa.UniqueConstraint("resource_id", "published_at", name="mes_schedule_publication_resource_time"),
    )
    op.create_index("mes_schedule_publication_package", "mes_schedule_publication", ["package_id", "published_at"])
    op.create_table(
        "mes_schedule_event",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("package_id", sa.Text, nullable=False),
        sa.Column("event_date", sa.Date, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("created_by", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("package_id", "event_date", name="mes_schedule_event_package_date"),
    )
    op.create_index("ix_mes_schedule_event_package_id", "mes_schedule_event", ["package_id"])
    op.create_table(
        "mes_schedule_reminder",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("package_id", sa.Text, nullable=False),
        sa.Column("period_due", sa.Date, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("days_before", sa.Integer),
        sa.Column("sent_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("package_id", "period_due", "kind", "recipient", name="mes_schedule_reminder_once"),
    )
    op.create_index("ix_mes_schedule_reminder_package_id", "mes_schedule_reminder", ["package_id"])


def downgrade():
    op.drop_table("mes_schedule_reminder")
    op.drop_table("mes_schedule_event")
    op.drop_table("mes_schedule_publication")
