"""Shared fixtures: the real database with the migrations of the plugins this extension runs with, and those of
tests/fixtures.py (the SMTP server; its data builders are imported by the test modules themselves)."""
from __future__ import annotations

import pytest

pytest_plugins = ["tests.fixtures"]

# tests/cluster runs against the scale-out cluster (make cluster-test, with its own tests/cluster/pytest.ini), never
# in the default suite.
collect_ignore = ["cluster"]


@pytest.fixture
def clean_db(reset_db, migrate_db_for, with_plugins):
    """CKAN's clean_db, plus the tables of the activity plugin and of this extension (alembic migrations)."""
    reset_db()
    migrate_db_for("activity")
    migrate_db_for("mes_schedule")
