"""Evidence of publications, the item of the act on every row, append-only hash chains per item

Publications get their evidence level (file | link | datastore | declared) with the file's SHA-256 and size or
the URL; publications and events get the item number of their dataset (the record belongs to the item), a
superseding link (retractions), and their place in the item's hash chain (seq, prev_hash, row_hash).
Existing rows: the item comes from their dataset's `mes_schedule_item` extra (2.12: the package's JSONB
`extras` column; 2.11: the package_extra table); a dataset purged before this revision leaves its rows without an
item (they are kept, chained together, and shown nowhere). Uploads recorded before cannot be hashed any more
(the file may have been replaced since): they keep level `file` without a digest. Hashes are computed in the
order the rows were written (publications by published_at, events by created_at).

Revision ID: b2d4f6a8c0e2
Revises: a1c3e5f7b9d1
Create Date: 2026-11-27

"""
from __future__ import annotations

import itertools
from typing import Any, Optional

import sqlalchemy as sa
from alembic import op

from ckanext.mes_schedule.model import GENESIS, row_hash

revision = "b2d4f6a8c0e2"
down_revision = "a1c3e5f7b9d1"
branch_labels = None
depends_on = None

_PUBLICATION = "mes_schedule_publication"
_EVENT = "mes_schedule_event"


def _items(bind: Any) -> dict[str, int]:
    """package id -> item number, from the extras wherever this CKAN keeps them."""
    inspector = sa.inspect(bind)
    columns = {c["name"] for c in inspector.get_columns("package")}
    if "extras" in columns:
        rows = bind.execute(
            sa.text("SELECT id, extras ->> 'mes_schedule_item' FROM package WHERE extras ? 'mes_schedule_item'")
        )
    else:
        rows = bind.execute(
            sa.text(
                "SELECT package_id, value FROM package_extra WHERE key = 'mes_schedule_item' AND state = 'active'"
            )
        )
    texts = ((package_id, str(value or "").strip()) for package_id, value in rows)
    return {package_id: int(text) for package_id, text in texts if text.isdigit()}


def _chain(bind: Any, table: str, order: str, items: dict[str, int]) -> None:
    rows = [dict(r._mapping) for r in bind.execute(sa.text(f"SELECT * FROM {table} ORDER BY {order}, id"))]
    for row in rows:
        row["item"] = items.get(row["package_id"])

    def key(row: dict[str, Any]) -> int:
        return row["item"] or 0

    statement = sa.text(
        f"UPDATE {table} SET item = :item, seq = :seq, prev_hash = :prev_hash, row_hash = :row_hash WHERE id = :id"
    )
    for _item, group in itertools.groupby(sorted(rows, key=key), key=key):  # sorted() is stable: order kept
        prev: Optional[str] = GENESIS
        for seq, row in enumerate(group, start=1):
            row["seq"], row["prev_hash"] = seq, prev
            row["row_hash"] = prev = row_hash(table, row)
            bind.execute(statement, {k: row[k] for k in ("id", "item", "seq", "prev_hash", "row_hash")})


def upgrade():
    bind = op.get_bind()
    for table in (_PUBLICATION, _EVENT):
        op.add_column(table, sa.Column("item", sa.Integer))
        op.add_column(table, sa.Column("supersedes", sa.Text))
        op.add_column(table, sa.Column("reason", sa.Text))
        op.add_column(table, sa.Column("seq", sa.Integer))
        op.add_column(table, sa.Column("prev_hash", sa.Text))
        op.add_column(table, sa.Column("row_hash", sa.Text))
    op.add_column(_PUBLICATION, sa.Column("level", sa.Text))
    op.add_column(_PUBLICATION, sa.Column("sha256", sa.Text))
    op.add_column(_PUBLICATION, sa.Column("size", sa.BigInteger))
    op.add_column(_EVENT, sa.Column("kind", sa.Text))
    op.execute(
        f"UPDATE {_PUBLICATION} SET level = CASE WHEN kind = 'uploaded' THEN 'file' ELSE 'link' END"
    )
    op.execute(f"UPDATE {_EVENT} SET kind = 'event'")
    # A retracted event leaves its row behind: the same date may be recorded again, so the date is no longer
    # unique (the action checks it under the item's lock).
    op.drop_constraint("mes_schedule_event_package_date", _EVENT, type_="unique")

    items = _items(bind)
    _chain(bind, _PUBLICATION, "published_at", items)
    _chain(bind, _EVENT, "created_at", items)

    for table in (_PUBLICATION, _EVENT):
        for column in ("seq", "prev_hash", "row_hash"):
            op.alter_column(table, column, nullable=False)
    op.alter_column(_PUBLICATION, "level", nullable=False)
    op.alter_column(_EVENT, "kind", nullable=False)
    op.create_unique_constraint("mes_schedule_publication_item_seq", _PUBLICATION, ["item", "seq"])
    op.create_unique_constraint("mes_schedule_event_item_seq", _EVENT, ["item", "seq"])
    op.create_index("mes_schedule_publication_item", _PUBLICATION, ["item", "published_at"])
    op.create_index("mes_schedule_event_item", _EVENT, ["item", "event_date"])


def downgrade():
    op.drop_index("mes_schedule_event_item", _EVENT)
    op.drop_index("mes_schedule_publication_item", _PUBLICATION)
    op.drop_constraint("mes_schedule_event_item_seq", _EVENT, type_="unique")
    op.drop_constraint("mes_schedule_publication_item_seq", _PUBLICATION, type_="unique")
    # Retractions become deletions again (the older schema has no way to say "superseded").
    op.execute(f"DELETE FROM {_EVENT} WHERE id IN (SELECT supersedes FROM {_EVENT} WHERE supersedes IS NOT NULL)")
    op.execute(f"DELETE FROM {_EVENT} WHERE kind = 'retraction'")
    op.execute(f"DELETE FROM {_PUBLICATION} WHERE id IN (SELECT supersedes FROM {_PUBLICATION} WHERE supersedes IS NOT NULL)")
    op.execute(f"DELETE FROM {_PUBLICATION} WHERE kind = 'retraction'")
    op.create_unique_constraint("mes_schedule_event_package_date", _EVENT, ["package_id", "event_date"])
    for column in ("kind", "row_hash", "prev_hash", "seq", "reason", "supersedes", "item"):
        op.drop_column(_EVENT, column)
    for column in ("size", "sha256", "level", "row_hash", "prev_hash", "seq", "reason", "supersedes", "item"):
        op.drop_column(_PUBLICATION, column)
