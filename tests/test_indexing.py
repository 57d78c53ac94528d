"""The compliance status in the search index: a string field, facetable, permission-filtered, refreshable."""
from __future__ import annotations

import datetime as dt

import pytest

import ckan.tests.factories as factories
import ckan.tests.helpers as helpers

from ckanext.mes_schedule import compliance, indexing
from ckanext.mes_schedule.cli import index as cli_index
from tests.fixtures import legal, publish, staffed_organization


def _facet(context: dict | None = None, **search) -> dict[str, int]:
    # call_action ignores auth unless told not to, and search then applies no permission labels at all.
    context = {"ignore_auth": False, **(context or {})}
    result = helpers.call_action(
        "package_search", context=context, **{"facet.field": '["mes_schedule_status"]', "rows": 0, **search}
    )
    return {i["name"]: i["count"] for i in result["search_facets"].get("mes_schedule_status", {}).get("items", [])}


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestIndex:
    def test_scheduled_dataset_is_indexed_with_its_status_today(self):
        org = factories.Organization()
        dataset = factories.Dataset(owner_org=org["id"], **legal())
        factories.Dataset(owner_org=org["id"])  # outside the order: no status
        (row,) = compliance.assess_datasets(package_ids=[dataset["id"]])
        assert _facet() == {row.status: 1}
        found = helpers.call_action("package_search", fq=f"mes_schedule_status:{row.status}")
        assert [d["id"] for d in found["results"]] == [dataset["id"]]

    def test_a_status_sent_with_the_dataset_is_never_trusted(self):
        pkg = {"id": "x", "name": "x", "mes_schedule_status": "on_time"}
        assert "mes_schedule_status" not in indexing.before_dataset_index(pkg)

    def test_reindex_refreshes_a_status_that_changed(self, cli):
        org = factories.Organization()
        dataset = factories.Dataset(owner_org=org["id"], **legal(6))
        before = compliance.assess_datasets(package_ids=[dataset["id"]])[0].status
        assert before == "never_published"
        assert _facet() == {before: 1}
        # A publication today settles the current period (on time or late, depending on today's date); the
        # index does not know yet.
        publish(dataset, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
        after = compliance.assess_datasets(package_ids=[dataset["id"]])[0].status
        assert after in ("on_time", "late")
        assert _facet() == {before: 1}
        result = cli.invoke(cli_index.reindex, [])
        assert result.exit_code == 0, result.output
        assert "Re-indexed 1 scheduled dataset" in result.output
        assert _facet() == {after: 1}

    def test_private_datasets_count_only_for_those_who_may_see_them(self):
        org, staff = staffed_organization("member")
        _, others = staffed_organization("admin")  # a user with an organisation of their own
        member, stranger = staff["member"], others["admin"]
        factories.Dataset(owner_org=org["id"], **legal(5))
        factories.Dataset(owner_org=org["id"], private=True, **legal(7))
        anonymous = _facet({"user": ""}, include_private=True)
        assert sum(anonymous.values()) == 1
        assert sum(_facet({"user": stranger["name"]}, include_private=True).values()) == 1
        assert sum(_facet({"user": member["name"]}, include_private=True).values()) == 2
        assert sum(_facet({"user": factories.Sysadmin()["name"]}, include_private=True).values()) == 2


@pytest.mark.usefixtures("with_plugins")
def test_the_facet_is_declared_with_a_translated_title():
    from collections import OrderedDict

    facets = indexing.dataset_facets(OrderedDict(), "dataset")
    assert facets == OrderedDict(mes_schedule_status="Compliance")


@pytest.mark.usefixtures("with_plugins")
@pytest.mark.parametrize("lang, label", [("en", "Never published"), ("ru", "Не публиковался"), ("kk", "Жарияланбаған")])
def test_search_results_name_the_facet_items_in_the_ui_language(app, lang, label):
    item = {"name": "never_published", "display_name": "never_published", "count": 2}
    results = {"search_facets": {"mes_schedule_status": {"items": [item]}}}
    # CKAN's locale middleware puts the UI language in the environ.
    with app.flask_app.test_request_context("/dataset/", environ_overrides={"CKAN_LANG": lang}):
        indexing.after_dataset_search(results, {})
    assert results["search_facets"]["mes_schedule_status"]["items"][0]["display_name"] == label
    assert indexing.after_dataset_search({"search_facets": {}}, {}) == {"search_facets": {}}
