"""The scheming schema: every field speaks three languages; the legal fields validate through the engine."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import ckan.model as model
import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers

from tests.fixtures import legal

SCHEMAS = Path(__file__).resolve().parents[1] / "ckanext" / "mes_schedule" / "schemas"
ANNUAL = "http://publications.europa.eu/resource/authority/frequency/ANNUAL"
QUARTERLY = "http://publications.europa.eu/resource/authority/frequency/QUARTERLY"


@pytest.mark.parametrize("schema_file", ["dataset.yaml", "organization.yaml"])
def test_every_field_has_labels_and_help_in_three_languages(schema_file):
    schema = yaml.safe_load((SCHEMAS / schema_file).read_text(encoding="utf-8"))
    fields = schema.get("dataset_fields", []) + schema.get("resource_fields", []) + schema.get("fields", [])
    assert fields
    for field in fields:
        assert set(field["label"]) == {"kk", "ru", "en"}, field["field_name"]
        if "help_text" in field:
            assert set(field["help_text"]) == {"kk", "ru", "en"}, field["field_name"]
    if schema_file == "dataset.yaml":
        for field in schema["dataset_fields"] + schema["resource_fields"]:
            assert "help_text" in field, field["field_name"]


def _as_sysadmin() -> dict:
    """Updates need a real user: the activity plugin records who made each change."""
    return {"user": factories.Sysadmin()["name"], "ignore_auth": True}


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestLegalFields:
    def test_dataset_outside_the_order_needs_no_legal_fields(self):
        dataset = factories.Dataset(owner_org=factories.Organization()["id"])
        assert "mes_schedule_item" not in dataset or dataset["mes_schedule_item"] in ("", None)

    def test_valid_legal_fields_are_stored_and_the_rule_made_canonical(self):
        org = factories.Organization()
        dataset = factories.Dataset(owner_org=org["id"], **legal(mes_schedule_rule="  ANNUAL   quarter = 4 "))
        shown = helpers.call_action("package_show", id=dataset["id"])
        assert shown["mes_schedule_rule"] == "annual quarter=4"
        assert shown["mes_schedule_frequency"] == ANNUAL
        assert str(shown["mes_schedule_item"]) == "5"
        assert shown["mes_schedule_deadline_kk"] == "жылына 1 рет IV тоқсан"

    @pytest.mark.parametrize(
        "overrides, field, fragment",
        [
            ({"mes_schedule_rule": "annual quarter=7"}, "mes_schedule_rule", "quarter"),
            ({"mes_schedule_rule": "fortnightly"}, "mes_schedule_rule", "fortnightly"),
            ({"mes_schedule_frequency": QUARTERLY}, "mes_schedule_frequency", "QUARTERLY"),
            ({"mes_schedule_frequency": "weekly-ish"}, "mes_schedule_frequency", ""),
            ({"mes_schedule_rule": ""}, "mes_schedule_rule", "Required"),
            ({"mes_schedule_act_number": ""}, "mes_schedule_act_number", "Required"),
            ({"mes_schedule_item": "five"}, "mes_schedule_item", "whole number"),
            ({"mes_schedule_item": 0}, "mes_schedule_item", "between 1 and 999"),
        ],
    )
    def test_invalid_legal_fields_are_a_validation_error_naming_the_field(self, overrides, field, fragment):
        org = factories.Organization()
        before = model.Session.query(model.Package).count()
        with pytest.raises(tk.ValidationError) as err:
            helpers.call_action(
                "package_create", context=_as_sysadmin(), name="mes-bad", title="x", owner_org=org["id"],
                **legal(**overrides)
            )
        assert field in err.value.error_dict
        assert fragment in " ".join(map(str, err.value.error_dict[field]))
        # Nothing written on failure.
        assert model.Session.query(model.Package).count() == before

    def test_update_with_an_invalid_rule_keeps_the_stored_one(self):
        org = factories.Organization()
        dataset = factories.Dataset(owner_org=org["id"], **legal())
        with pytest.raises(tk.ValidationError) as err:
            helpers.call_action(
                "package_patch", context=_as_sysadmin(), id=dataset["id"], mes_schedule_rule="quarterly day=40"
            )
        assert "mes_schedule_rule" in err.value.error_dict
        assert helpers.call_action("package_show", id=dataset["id"])["mes_schedule_rule"] == "annual quarter=4"

    def test_update_to_a_consistent_quarterly_rule(self):
        org = factories.Organization()
        dataset = factories.Dataset(owner_org=org["id"], **legal())
        helpers.call_action(
            "package_patch", context=_as_sysadmin(), id=dataset["id"], mes_schedule_rule="quarterly day=10",
            mes_schedule_frequency=QUARTERLY,
        )
        shown = helpers.call_action("package_show", id=dataset["id"])
        assert (shown["mes_schedule_rule"], shown["mes_schedule_frequency"]) == ("quarterly day=10", QUARTERLY)

    def test_api_error_is_a_409_with_the_field_named(self, app):
        user = factories.SysadminWithToken()
        org = factories.Organization()
        resp = app.post(
            "/api/3/action/package_create",
            json={"name": "mes-api-bad", "owner_org": org["id"], **legal(mes_schedule_rule="annual month=13")},
            headers={"Authorization": user["token"]},
            status=409,
        )
        error = resp.json["error"]
        assert error["__type"] == "Validation Error"
        assert "mes_schedule_rule" in error

    def test_dataset_page_shows_the_legal_basis_in_the_ui_language(self, app):
        org = factories.Organization()
        dataset = factories.Dataset(
            owner_org=org["id"], title="Балабақшалар тізілімі", title_ru="Реестр детских садов",
            title_en="Register of kindergartens", **legal()
        )
        en = app.get(f"/dataset/{dataset['name']}").body
        assert "Register of kindergartens" in en
        assert "Order No. 120" in en and "13381" in en and "adilet.zan.kz" in en
        assert "Once a year, in quarter IV" in en
        assert "жылына 1 рет IV тоқсан" in en
        ru = app.get(f"/ru/dataset/{dataset['name']}").body
        assert "Реестр детских садов" in ru
        assert "Ежегодно" in ru

    def test_search_results_show_the_title_in_the_ui_language(self, app):
        org = factories.Organization()
        factories.Dataset(
            owner_org=org["id"], title="Балабақшалар тізілімі", title_ru="Реестр детских садов",
            title_en="Register of kindergartens", **legal()
        )
        assert "Register of kindergartens" in app.get("/dataset/").body
        assert "Реестр детских садов" in app.get("/ru/dataset/").body
