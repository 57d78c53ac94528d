"""Publications: rows written, declared coverage and a declaration's note

Three nullable columns on `mes_schedule_publication`: `rows` (how many DataStore rows a `datastore` publication
wrote or deleted), `covers` (the reporting period a publication declares it covers, as the engine labels it, e.g.
"2026 Q2") and `note` (what an editor said when declaring an update of a link). They join the row hash only when
set, so the hashes of the rows written before stay valid.

Revision ID: e5a7c9d1f3b5
Revises: d4f6b8c0e2a4
Create Date: 2026-11-30

"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e5a7c9d1f3b5"
down_revision = "d4f6b8c0e2a4"
branch_labels = depends_on = None

_TABLE = "mes_schedule_publication"


def upgrade() -> None:
    op.add_column(_TABLE, sa.Column("rows", sa.BigInteger, nullable=True))
    op.add_column(_TABLE, sa.Column("covers", sa.Text, nullable=True))
    op.add_column(_TABLE, sa.Column("note", sa.Text, nullable=True))
    # Declared updates are rate-limited per resource and day: looked up by resource and time.
    op.create_index("mes_schedule_publication_resource", _TABLE, ["resource_id", "level", "published_at"])


def downgrade() -> None:
    op.drop_index("mes_schedule_publication_resource", table_name=_TABLE)
    for column in ("note", "covers", "rows"):
        op.drop_column(_TABLE, column)
