"""The command group and the deadlines listing."""
from __future__ import annotations

import csv
import io
import json

import pytest

from ckan.cli.cli import ckan


@pytest.mark.usefixtures("with_plugins")
class TestCli:
    def test_help_lists_the_group_and_its_commands(self, cli):
        result = cli.invoke(ckan, ["mes-schedule", "--help"])
        assert result.exit_code == 0, result.output
        for command in ("deadlines", "seed"):
            assert command in result.output

    def test_deadlines_lists_all_57_items_as_of_a_date(self, cli):
        result = cli.invoke(ckan, ["mes-schedule", "deadlines", "--as-of", "2026-11-26", "--format", "json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert data["as_of"] == "2026-11-26"
        items = {row["item"]: row for row in data["items"]}
        assert sorted(items) == list(range(5, 62))
        assert items[5]["next_due"] == "2026-12-31"
        assert items[10]["previous_due"] == "2026-10-12"  # 10 Oct 2026 is a Saturday
        assert items[10]["next_due"] == "2027-01-11"  # 10 Jan 2027 is a Sunday
        assert items[50]["next_due"] == ""  # as established: no fixed term

    def test_deadlines_csv_and_table(self, cli):
        result = cli.invoke(ckan, ["mes-schedule", "deadlines", "--as-of", "2026-11-26", "--format", "csv"])
        assert result.exit_code == 0, result.output
        rows = list(csv.DictReader(io.StringIO(result.output)))
        assert len(rows) == 57
        table = cli.invoke(ckan, ["mes-schedule", "deadlines", "--as-of", "2026-11-26", "--lang", "ru"])
        assert "57 items" in table.output
        assert "Раз в год" in table.output or "Ежегодно" in table.output or "год" in table.output

    def test_a_bad_date_is_a_clear_usage_error(self, cli):
        result = cli.invoke(ckan, ["mes-schedule", "deadlines", "--as-of", "26.11.2026"])
        assert result.exit_code == 2
        assert "YYYY-MM-DD" in result.output
