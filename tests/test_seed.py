"""Seeding the ministry: through actions, idempotent, legal fields kept in step, publishers' edits kept."""
from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers

from ckanext.mes_schedule import schedule, seed as seeding, settings


def _activity_count() -> int:
    from ckanext.activity.model import Activity

    return model.Session.query(Activity).count()


def _as_sysadmin() -> dict:
    """Updates need a real user: the activity plugin records who made each change."""
    return {"user": factories.Sysadmin()["name"], "ignore_auth": True}

@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestSeed:
    def test_first_run_creates_the_ministry_and_every_item(self):
        report = seeding.seed()
        order = settings.order()
        assert len(report.created) == len(order.items) == 57
        org = helpers.call_action("organization_show", id=settings.organization_name())
        assert org["title"] == seeding.ORGANIZATION["title"]
        assert org["title_ru"] and org["title_en"]
        found = helpers.call_action("package_search", fq=f"owner_org:{org['id']}", rows=100)
        assert found["count"] == 57
        item5 = helpers.call_action("package_show", id=seeding.dataset_name(order.item(5)))
        assert item5["mes_schedule_rule"] == "annual quarter=4"
        assert item5["mes_schedule_frequency"].endswith("/ANNUAL")
        assert item5["title"] == order.item(5).title["kk"]
        assert item5["title_en"] == order.item(5).title["en"]
        # Item 30's event (the act's own) is recorded after the dataset was indexed: the facet says what the page
        # says, without waiting for the nightly reindex.
        item30 = helpers.call_action("package_show", id=seeding.dataset_name(order.item(30)))
        live = helpers.call_action("mes_schedule_compliance_show", id=item30["id"])["status"]
        facet = {"facet.field": '["mes_schedule_status"]'}
        indexed = helpers.call_action("package_search", fq=f"id:{item30['id']}", **facet)
        assert live != "no_deadline"
        assert list(indexed["facets"]["mes_schedule_status"]) == [live]

    def test_second_run_changes_nothing(self):
        seeding.seed()
        modified = {
            p.name: p.metadata_modified for p in model.Session.query(model.Package).filter_by(type="dataset")
        }
        activities = _activity_count()
        report = seeding.seed()
        assert (len(report.created), len(report.updated), len(report.unchanged)) == (0, 0, 57)
        assert not report.changed_anything
        model.Session.expire_all()
        assert {
            p.name: p.metadata_modified for p in model.Session.query(model.Package).filter_by(type="dataset")
        } == modified
        assert _activity_count() == activities

    def test_publishers_edits_survive_a_seed_and_legal_changes_are_applied(self):
        seeding.seed()
        order = settings.order()
        name = seeding.dataset_name(order.item(10))
        helpers.call_action(
            "package_patch",
            context=_as_sysadmin(),
            id=name,
            notes="Тоқсан сайынғы деректер",
            title_en="Publisher's own English title",
            maintainer="Aigerim",
            tags=[{"name": "schools"}],
            resources=[{"url": "http://example.com/q3.csv", "name": "2026 Q3"}],
        )
        # The data file changes a legal field of item 10.
        changed = dataclasses.replace(
            order.item(10), rule_text="quarterly day=15", rule=schedule.parse_rule("quarterly day=15")
        )
        report = seeding.seed(items=[changed])
        assert report.updated == [name]
        shown = helpers.call_action("package_show", id=name)
        assert shown["mes_schedule_rule"] == "quarterly day=15"
        assert shown["notes"] == "Тоқсан сайынғы деректер"
        assert shown["title_en"] == "Publisher's own English title"
        assert shown["maintainer"] == "Aigerim"
        assert [t["name"] for t in shown["tags"]] == ["schools"]
        assert [r["url"] for r in shown["resources"]] == ["http://example.com/q3.csv"]

    def test_dry_run_writes_nothing(self):
        report = seeding.seed(dry_run=True)
        assert len(report.created) == 57 and report.organization == "created"
        assert model.Session.query(model.Package).count() == 0
        assert model.Session.query(model.Group).count() == 0

    def test_a_renamed_dataset_is_still_recognised_by_its_item(self):
        seeding.seed()
        order = settings.order()
        helpers.call_action(
            "package_patch", context=_as_sysadmin(), id=seeding.dataset_name(order.item(7)), name="children-under-18"
        )
        report = seeding.seed()
        assert report.created == [] and "children-under-18" in report.unchanged


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestSeedCommand:
    def test_seed_twice_reports_unchanged(self, cli):
        from ckan.cli.cli import ckan

        first = cli.invoke(ckan, ["mes-schedule", "seed"])
        assert first.exit_code == 0, first.output
        assert "57 created, 0 updated, 0 unchanged" in first.output
        second = cli.invoke(ckan, ["mes-schedule", "seed"])
        assert second.exit_code == 0, second.output
        assert "0 created, 0 updated, 57 unchanged" in second.output
        assert "Nothing to do" in second.output

    def test_dry_run_prints_what_would_change(self, cli):
        from ckan.cli.cli import ckan

        result = cli.invoke(ckan, ["mes-schedule", "seed", "--dry-run"])
        assert result.exit_code == 0, result.output
        assert "would be created mes-order-120-item-05" in result.output
        assert "dry run: 57 created" in result.output


def _seed_in_subprocess() -> "subprocess.Popen[str]":
    """A real second process, like a cron seed running while another one (or the portal) works."""
    ckan_bin = Path(sys.executable).with_name("ckan")
    ini = Path(__file__).resolve().parents[1] / "test.ini"
    return subprocess.Popen(
        [str(ckan_bin), "-c", str(ini), "mes-schedule", "seed"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestSeedUnderPressure:
    def test_two_seeds_at_once_leave_exactly_one_dataset_per_item(self):
        model.Session.commit()
        first, second = _seed_in_subprocess(), _seed_in_subprocess()
        outputs = [p.communicate(timeout=600)[0] for p in (first, second)]
        assert [p.returncode for p in (first, second)] == [0, 0], outputs
        model.Session.expire_all()
        items = [
            p.extras.get("mes_schedule_item")
            for p in model.Session.query(model.Package).filter_by(state="active", type="dataset")
        ]
        assert sorted(int(i) for i in items) == list(range(5, 62))
        assert model.Session.query(model.Group).filter_by(is_organization=True).count() == 1
        # Between them, the two runs created each dataset once.
        created = sum(int(re.search(r"^(\d+) created, ", out, re.M).group(1)) for out in outputs)
        assert created == 57, outputs

    def test_consecutive_seeds_keep_a_publishers_edit(self):
        seeding.seed()
        name = seeding.dataset_name(settings.order().item(33))
        helpers.call_action("package_patch", context=_as_sysadmin(), id=name, notes="өңделген сипаттама")
        for _ in range(10):
            report = seeding.seed()
            assert (len(report.created), len(report.updated)) == (0, 0)
        assert helpers.call_action("package_show", id=name)["notes"] == "өңделген сипаттама"
        assert model.Session.query(model.Package).filter_by(type="dataset").count() == 57
