"""A change log that says, in one indexed read, whether anything the record's pages show has changed

`mes_schedule_change` gets a row from a statement-level trigger on every write to the tables the compliance
record is built from: CKAN's datasets, organisations and runtime configuration, and this extension's
publications, events and rule versions. A row becomes visible when its transaction commits, with the data, so
`(max(id), count(*))` changes at every commit that changed any of them, in whatever order transactions commit
(a late commit of a lower id still moves the count). The trigger keeps the table short (the last 500 ids, and
those of transactions still open), so the count stays cheap. The web nodes compare this pair instead of
counting the tables themselves at every request (compliance.change_version).

Revision ID: f6b8d0e2a4c6
Revises: e5a7c9d1f3b5
Create Date: 2026-11-30

"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "f6b8d0e2a4c6"
down_revision = "e5a7c9d1f3b5"
branch_labels = depends_on = None

_TABLE = "mes_schedule_change"
_FUNCTION = "mes_schedule_note_change"
# package_extra and group_extra hold extras on CKAN 2.11 (2.12 keeps them in a column): watched where present.
_WATCHED = (
    "package", "package_extra", "group", "group_extra", "system_info",
    "mes_schedule_publication", "mes_schedule_event", "mes_schedule_rule_version",
)


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION {_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            noted bigint;
        BEGIN
            INSERT INTO {_TABLE} DEFAULT VALUES RETURNING id INTO noted;
            IF noted % 500 = 0 THEN
                DELETE FROM {_TABLE} WHERE id <= noted - 500;
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    for table in _WATCHED:
        op.execute(
            f"""
            DO $$ BEGIN
                IF to_regclass('public.{table}') IS NOT NULL THEN
                    CREATE TRIGGER {_FUNCTION} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{table}"
                        FOR EACH STATEMENT EXECUTE FUNCTION {_FUNCTION}();
                END IF;
            END $$
            """
        )


def downgrade() -> None:
    for table in _WATCHED:
        op.execute(f'DROP TRIGGER IF EXISTS {_FUNCTION} ON "{table}"')
    op.execute(f"DROP FUNCTION IF EXISTS {_FUNCTION}()")
    op.drop_table(_TABLE)
