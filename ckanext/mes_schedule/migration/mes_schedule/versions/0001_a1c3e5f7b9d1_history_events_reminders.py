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


def _create_table(name: str, columns: str, unique: str, index: tuple[str, list[str]]) -> None:
    """A table of records about a dataset: a text primary key `id`, then its `package_id` and `columns`.

    columns: `name:Type` words (a type of sqlalchemy), in table order; a `!` after the type makes the column NOT
    NULL (`package_id` always is). unique: `column,column... name` of the unique constraint. index: (name,
    columns) of the index.
    """
    specs = [spec.partition(":") for spec in f"package_id:Text! {columns}".split()]
    unique_columns, unique_name = unique.split()
    op.create_table(
        name,
        sa.Column("id", sa.Text, primary_key=True),
        *(
            sa.Column(column, getattr(sa, type_.rstrip("!")), nullable=False)
            if type_.endswith("!")
            else sa.Column(column, getattr(sa, type_))
            for column, _, type_ in specs
        ),
        sa.UniqueConstraint(*unique_columns.split(","), name=unique_name),
    )
    op.create_index(index[0], name, index[1])


def upgrade():
    _create_table(
        "mes_schedule_publication",
        "resource_id:Text! kind:Text! url:Text published_at:DateTime! user_id:Text",
        "resource_id,published_at mes_schedule_publication_resource_time",
        ("mes_schedule_publication_package", ["package_id", "published_at"]),
    )
    _create_table(
        "mes_schedule_event",
        "event_date:Date! note:Text created_by:Text created_at:DateTime!",
        "package_id,event_date mes_schedule_event_package_date",
        ("ix_mes_schedule_event_package_id", ["package_id"]),
    )
    _create_table(
        "mes_schedule_reminder",
        "period_due:Date! kind:Text! recipient:Text! days_before:Integer sent_at:DateTime!",
        "package_id,period_due,kind,recipient mes_schedule_reminder_once",
        ("ix_mes_schedule_reminder_package_id", ["package_id"]),
    )


def downgrade():
    op.drop_table("mes_schedule_reminder")
    op.drop_table("mes_schedule_event")
    op.drop_table("mes_schedule_publication")
