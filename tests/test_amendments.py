"""Amendments apply forward (issue #11, part 2): a rule change never rewrites the outcome of earlier periods."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import ckan.tests.factories as factories
import ckan.tests.helpers as helpers

from ckanext.mes_schedule import seed as seeding, settings
from ckanext.mes_schedule.localization import today
from ckanext.mes_schedule.schedule import DEFAULT_ORDER_PATH
from tests.fixtures import legal, publish

_ORDER_WITH_AMENDMENT = Path("/tmp/mes_schedule_order_amended.yaml")


def _amended_order() -> str:
    text = DEFAULT_ORDER_PATH.read_text(encoding="utf-8")
    head, block = text.split("  - number: 7\n", 1)
    anchor = '    rule: "annual quarter=1"\n    frequency: ANNUAL\n'
    assert block.index(anchor) < block.index("  - number: 8\n")
    amended = head + "  - number: 7\n" + block.replace(
        anchor,
        anchor + '    rules:\n      - from: 2020-01-01\n        rule: "annual quarter=2"\n'
        '        deadline_kk: "жылына 1 рет II тоқсан"\n',
        1,
    )
    _ORDER_WITH_AMENDMENT.write_text(amended, encoding="utf-8")
    return str(_ORDER_WITH_AMENDMENT)


def _outcomes(result: dict[str, Any]) -> dict[str, str]:
    return {p["label"]: p["outcome"] for p in result["periods"] if p["opens"] < today().isoformat()}


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestAmendmentsApplyForward:
    def test_a_rule_change_keeps_the_past(self):
        sysadmin = factories.Sysadmin()
        context = {"user": sysadmin["name"], "ignore_auth": False}
        org = factories.Organization()
        dataset = helpers.call_action(
            "package_create", context, name="item-7", owner_org=org["id"],
            **legal(7, rule="quarterly day=10", frequency="QUARTERLY"),
        )
        publish(dataset, "2023-01-20", "2023-04-05")  # Q4 2022 late (due 10 Jan), Q1 2023 on time
        before = helpers.call_action("mes_schedule_compliance_show", id=dataset["id"])
        assert "late" in _outcomes(before).values()
        helpers.call_action(
            "package_patch", context, id=dataset["id"], mes_schedule_rule="annual quarter=4",
            mes_schedule_frequency=legal(frequency="ANNUAL")["mes_schedule_frequency"],
        )
        after = helpers.call_action("mes_schedule_compliance_show", id=dataset["id"])
        assert _outcomes(after) == _outcomes(before)
        versions = after["rule_versions"]
        assert [(v["rule"], v["source"]) for v in versions] == [
            ("quarterly day=10", "act"),
            ("annual quarter=4", "sysadmin"),
        ]
        assert versions[1]["effective_from"] == today().isoformat()
        assert all(v["rule_in_words"] for v in versions)

    def test_seed_records_the_acts_event_for_item_30_once(self):
        item = settings.order().item(30)
        seeding.seed(items=[item])
        second = seeding.seed(items=[item])
        assert (second.rule_versions_added, second.act_events_added) == (0, 0)
        result = helpers.call_action("mes_schedule_compliance_show", id=seeding.dataset_name(item))
        assert [(e["event_date"], e["source"]) for e in result["events"]] == [("2020-01-31", "act")]
        assert any(p["due"] == "2020-02-14" for p in result["periods"])
        assert [v["source"] for v in result["rule_versions"]] == ["act"]

    @pytest.mark.ckan_config("ckanext.mes_schedule.order_file", _amended_order())
    def test_the_data_files_rules_list_is_honoured(self):
        item = settings.order().item(7)
        assert [str(v.rule) for v in item.rule_versions] == ["annual quarter=1", "annual quarter=2"]
        seeding.seed(items=[item])
        result = helpers.call_action("mes_schedule_compliance_show", id=seeding.dataset_name(item))
        assert [(v["effective_from"], v["rule"], v["source"]) for v in result["rule_versions"]] == [
            (settings.start_date().isoformat(), "annual quarter=1", "act"),
            ("2020-01-01", "annual quarter=2", "act"),
        ]
        dues = {p["label"]: p["due"] for p in result["periods"]}
        assert "2019-03-01" <= dues["2019"] <= "2019-04-05"  # by the end of Q1, under the first version
        assert "2021-06-01" <= dues["2021"] <= "2021-07-05"  # by the end of Q2 once amended
        assert seeding.seed(items=[item]).rule_versions_added == 0
