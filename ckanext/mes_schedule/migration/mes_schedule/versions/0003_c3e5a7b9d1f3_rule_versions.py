"""Rule versions: amendments apply forward; events the act itself names

A new append-only table `mes_schedule_rule_version` keeps each version of an item's rule with the date from which
it applies (source `act`: the order's data file, applied by `seed`; `sysadmin`: a change through the portal).
Each item held by an active dataset gets its current rule as its first version (effective from the default
schedule start; the first version applies from the schedule start whatever its date). Events get a `source` column (`act` for the events the act itself names, recorded by `seed`).

Revision ID: c3e5a7b9d1f3
Revises: b2d4f6a8c0e2
Create Date: 2026-11-28

"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "c3e5a7b9d1f3"
down_revision = "b2d4f6a8c0e2"
branch_labels = depends_on = None


_FIRST = dt.date(2016, 4, 1)  # schedule.DEFAULT_START


def _current_rules(bind: Any) -> dict[int, tuple[str, Any]]:
    """item -> (rule, deadline_kk) of the active datasets, from the extras wherever this CKAN keeps them."""
    columns = {c["name"] for c in sa.inspect(bind).get_columns("package")}
    if "extras" in columns:
        rows = bind.execute(
            sa.text(
                "SELECT extras ->> 'mes_schedule_item', extras ->> 'mes_schedule_rule', "
                "extras ->> 'mes_schedule_deadline_kk' FROM package "
                "WHERE state = 'active' AND type = 'dataset' AND extras ? 'mes_schedule_item'"
            )
        )
    else:
        rows = bind.execute(
            sa.text(
                "SELECT i.value, r.value, d.value FROM package p "
                "JOIN package_extra i ON i.package_id = p.id AND i.key = 'mes_schedule_item' AND i.state = 'active' "
                "JOIN package_extra r ON r.package_id = p.id AND r.key = 'mes_schedule_rule' AND r.state = 'active' "
                "LEFT JOIN package_extra d ON d.package_id = p.id AND d.key = 'mes_schedule_deadline_kk' "
                "AND d.state = 'active' WHERE p.state = 'active' AND p.type = 'dataset'"
            )
        )
    out: dict[int, tuple[str, Any]] = {}
    for item, rule, deadline in rows:
        text = str(item or "").strip()
        if text.isdigit() and rule and str(rule).strip():
            out.setdefault(int(text), (str(rule).strip(), deadline or None))
    return out


def upgrade() -> None:
    op.create_table(
        "mes_schedule_rule_version",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("item", sa.Integer, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("deadline_kk", sa.Text),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index(
        "mes_schedule_rule_version_item", "mes_schedule_rule_version", ["item", "effective_from", "created_at"]
    )
    op.add_column("mes_schedule_event", sa.Column("source", sa.Text, nullable=True))
    bind = op.get_bind()
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    for item, (rule, deadline) in sorted(_current_rules(bind).items()):
        bind.execute(
            sa.text(
                "INSERT INTO mes_schedule_rule_version (id, item, effective_from, rule, deadline_kk, source, "
                "created_by, created_at) VALUES (:id, :item, :day, :rule, :deadline, 'act', NULL, :now)"
            ),
            {"id": str(uuid.uuid4()), "item": item, "day": _FIRST, "rule": rule, "deadline": deadline, "now": now},
        )


def downgrade() -> None:
    op.drop_column("mes_schedule_event", "source")
    op.drop_index("mes_schedule_rule_version_item", table_name="mes_schedule_rule_version")
    op.drop_table("mes_schedule_rule_version")
