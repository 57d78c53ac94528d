"""The API and the CLI follow CKAN core's conventions: the item is an integer wherever it appears, a dataset is
`id` (with `package_id` as its alias), `sort` reads `field desc`, unknown parameters are refused as
package_search refuses them, and the CLI takes `-h` and speaks the portal's default language."""
from __future__ import annotations

import json
from typing import Any

import pytest

import ckan.model as model
import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckan.cli.cli import ckan

from ckanext.mes_schedule import settings
from tests.fixtures import legal, publish, staffed_organization

AS_OF = "2027-02-15"
EVENT_RULE = "event working-days=10 max-per-year=2"


def _sysadmin() -> dict[str, Any]:
    return {"user": factories.Sysadmin()["name"]}


@pytest.fixture
def datasets() -> dict[str, dict[str, Any]]:
    org = factories.Organization()
    annual = factories.Dataset(owner_org=org["id"], name="annual-48", **legal(48))
    publish(annual, "2026-11-20")
    other = factories.Dataset(owner_org=org["id"], name="annual-6", **legal(6))
    publish(other, "2025-12-01")
    event = factories.Dataset(owner_org=org["id"], name="register", **legal(30, EVENT_RULE, "IRREG"))
    plain = factories.Dataset(owner_org=org["id"], name="plain")
    return {"annual": annual, "other": other, "event": event, "plain": plain}


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestItemIsAnInteger:
    def test_package_show_and_package_search_give_an_int(self, datasets):
        shown = helpers.call_action("package_show", id="annual-48")
        assert shown["mes_schedule_item"] == 48
        found = helpers.call_action("package_search", q="name:annual-48")
        assert [d["mes_schedule_item"] for d in found["results"]] == [48]
        plain = helpers.call_action("package_show", id="plain")
        assert plain.get("mes_schedule_item") in (None, "")

    def test_our_actions_give_the_same_int(self, datasets):
        row = helpers.call_action("mes_schedule_compliance_show", id="annual-48", as_of=AS_OF)
        assert row["item"] == 48
        listed = helpers.call_action("mes_schedule_compliance_list", as_of=AS_OF, sort="item")
        assert [r["item"] for r in listed["results"]] == [6, 30, 48]
        (publication,) = helpers.call_action("mes_schedule_publication_list", id="annual-48")
        assert publication["item"] == 48

    def test_the_api_serves_json_numbers(self, app, datasets):
        body = app.get("/api/3/action/package_show", query_string={"id": "annual-48"}).json
        assert body["result"]["mes_schedule_item"] == 48
        body = app.get("/api/3/action/package_search", query_string={"q": "name:annual-48"}).json
        assert body["result"]["results"][0]["mes_schedule_item"] == 48

    def test_the_raw_extra_still_schedules_the_dataset(self, datasets):
        # The compliance reads the extra itself (JSONB column on 2.12, package_extra rows on 2.11), not package_show.
        from ckanext.mes_schedule import compliance

        items = {d.name: d.item for d in compliance.scheduled_datasets()}
        assert items == {"annual-48": 48, "annual-6": 6, "register": 30}

    def test_an_update_posting_the_int_back_changes_nothing(self, datasets):
        shown = helpers.call_action("package_show", id="annual-48")
        updated = helpers.call_action("package_update", context=_sysadmin(), **shown)
        assert updated["mes_schedule_item"] == 48


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestDatasetId:
    @pytest.mark.parametrize(
        "action", ["mes_schedule_compliance_show", "mes_schedule_publication_list", "mes_schedule_event_list"]
    )
    def test_id_and_package_id_both_work(self, datasets, action):
        by_id = helpers.call_action(action, id="register")
        by_alias = helpers.call_action(action, package_id=datasets["event"]["id"])
        same = helpers.call_action(action, id="register", package_id=datasets["event"]["id"])
        assert by_id == by_alias == same

    def test_event_create_takes_id_or_package_id(self, datasets):
        first = helpers.call_action("mes_schedule_event_create", context=_sysadmin(), id="register",
                                    event_date="2025-04-28")
        second = helpers.call_action("mes_schedule_event_create", context=_sysadmin(), package_id="register",
                                     event_date="2025-12-05")
        assert first["package_id"] == second["package_id"] == datasets["event"]["id"]
        listed = helpers.call_action("mes_schedule_event_list", id="register")
        assert [e["event_date"] for e in listed] == ["2025-04-28", "2025-12-05"]

    @pytest.mark.parametrize(
        "action", ["mes_schedule_compliance_show", "mes_schedule_publication_list", "mes_schedule_event_list",
                   "mes_schedule_event_create"]
    )
    def test_one_of_them_is_required(self, datasets, action):
        with pytest.raises(tk.ValidationError) as error:
            helpers.call_action(action, context=_sysadmin(), event_date="2025-04-28")
        assert list(error.value.error_dict) == ["id"]
        with pytest.raises(tk.ValidationError) as error:
            helpers.call_action(action, context=_sysadmin(), id=" ", package_id="", event_date="2025-04-28")
        assert list(error.value.error_dict) == ["id"]

    @pytest.mark.parametrize(
        "action", ["mes_schedule_compliance_show", "mes_schedule_publication_list", "mes_schedule_event_list",
                   "mes_schedule_event_create"]
    )
    def test_two_different_datasets_are_refused_naming_both(self, datasets, action):
        with pytest.raises(tk.ValidationError) as error:
            helpers.call_action(action, context=_sysadmin(), id="register", package_id="annual-48",
                                event_date="2025-04-28")
        assert set(error.value.error_dict) == {"id", "package_id"}
        assert "different datasets" in error.value.error_dict["id"][0]

    def test_errors_about_the_dataset_name_the_key_given(self, datasets):
        for key in ("id", "package_id"):
            with pytest.raises(tk.ValidationError) as error:
                helpers.call_action("mes_schedule_event_create", context=_sysadmin(), event_date="2025-04-28",
                                    **{key: "annual-48"})  # not an event rule
            assert list(error.value.error_dict) == [key]

    def test_auth_takes_id_or_package_id(self):
        org, users = staffed_organization("admin")
        factories.Dataset(owner_org=org["id"], name="register", **legal(30, EVENT_RULE, "IRREG"))
        for key in ("id", "package_id"):
            context = {"user": users["admin"]["name"], "model": model}
            assert helpers.call_auth("mes_schedule_event_create", context, **{key: "register"})
            assert helpers.call_auth("mes_schedule_event_list", {"user": "", "model": model}, **{key: "register"})


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestSort:
    @pytest.mark.parametrize("field", ["next_due", "item", "title", "last_published", "status", "on_time_rate"])
    def test_field_desc_equals_minus_field_and_asc_the_field(self, datasets, field):
        def order(sort: str) -> list[str]:
            return [r["name"] for r in helpers.call_action("mes_schedule_compliance_list", as_of=AS_OF,
                                                           sort=sort)["results"]]

        assert order(f"{field} desc") == order(f"-{field}") == order(f" {field}   DESC ")
        assert order(f"{field} asc") == order(field)

    def test_the_api_takes_core_syntax(self, app, datasets):
        def names(sort: str) -> list[str]:
            body = app.get("/api/3/action/mes_schedule_compliance_list",
                           query_string={"sort": sort, "as_of": AS_OF}).json
            return [r["name"] for r in body["result"]["results"]]

        assert names("item desc") == names("-item") == ["annual-48", "register", "annual-6"]

    @pytest.mark.parametrize("sort", ["-item desc", "item up", "item desc title", "--item", "nope desc",
                                      "item,title", "desc"])
    def test_malformed_sorts_are_refused_naming_sort(self, datasets, sort):
        with pytest.raises(tk.ValidationError) as error:
            helpers.call_action("mes_schedule_compliance_list", sort=sort)
        assert list(error.value.error_dict) == ["sort"]


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestUnknownParameters:
    @pytest.mark.parametrize(
        "action, data",
        [
            ("mes_schedule_compliance_list", {}),
            ("mes_schedule_compliance_show", {"id": "annual-48"}),
            ("mes_schedule_publication_list", {"id": "annual-48"}),
            ("mes_schedule_event_list", {"id": "register"}),
            ("mes_schedule_event_create", {"id": "register", "event_date": "2025-04-28"}),
            ("mes_schedule_event_delete", {"id": "no-such-event"}),
        ],
    )
    def test_every_action_refuses_an_unknown_parameter_by_name(self, datasets, action, data):
        if action == "mes_schedule_event_delete":
            event = helpers.call_action("mes_schedule_event_create", context=_sysadmin(), id="register",
                                        event_date="2025-12-05")
            data = {"id": event["id"]}
        with pytest.raises(tk.ValidationError) as error:
            helpers.call_action(action, context=_sysadmin(), nonexistent="1", statsu="overdue", **data)
        assert error.value.error_dict == {"nonexistent": ["Unknown parameter"], "statsu": ["Unknown parameter"]}

    def test_lists_of_mappings_are_named_too(self, datasets):
        with pytest.raises(tk.ValidationError) as error:
            helpers.call_action("mes_schedule_compliance_list", filters=[{"status": "overdue"}])
        assert error.value.error_dict == {"filters": ["Unknown parameter"]}

    def test_core_refuses_unknown_search_parameters_too(self, app):
        # What this mirrors: package_search answers an unknown parameter with an error naming it.
        response = app.get("/api/3/action/package_search", query_string={"nonexistent": "1"})
        assert response.status_code == 400
        assert "nonexistent" in response.json["error"]["message"]

    def test_the_api_names_the_unknown_parameter(self, app, datasets):
        response = app.get("/api/3/action/mes_schedule_compliance_list", query_string={"stauts": "overdue"})
        assert response.status_code == 409
        assert response.json["error"] == {"__type": "Validation Error", "stauts": ["Unknown parameter"]}

    def test_jsonp_callback_and_cache_busting_keep_working(self, app, datasets):
        response = app.get("/api/3/action/mes_schedule_compliance_list",
                           query_string={"callback": "show", "_": "1700000000000", "as_of": AS_OF})
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert text.startswith("show(")
        assert json.loads(text[len("show("):-2])["result"]["count"] == 3
        body = app.get("/api/3/action/mes_schedule_compliance_show",
                       query_string={"id": "annual-48", "_": "1700000000000", "as_of": AS_OF}).json
        assert body["success"] and body["result"]["item"] == 48

    def test_a_form_post_may_carry_the_csrf_token(self, datasets):
        field = tk.config.get("WTF_CSRF_FIELD_NAME") or "_csrf_token"
        listed = helpers.call_action("mes_schedule_event_list", id="register", **{field: "token"})
        assert listed == []

    def test_who_may_not_act_learns_nothing_about_other_parameters(self, datasets):
        outsider = factories.User()
        with pytest.raises(tk.NotAuthorized):
            helpers.call_action("mes_schedule_event_create", context={"user": outsider["name"], "ignore_auth": False},
                                id="register", event_date="2025-04-28", nonexistent="1")


@pytest.mark.usefixtures("with_plugins")
class TestCli:
    @pytest.mark.parametrize("args", [["mes-schedule", "-h"], ["mes-schedule", "deadlines", "-h"],
                                      ["mes-schedule", "seed", "-h"]])
    def test_dash_h_shows_the_help(self, cli, args):
        result = cli.invoke(ckan, args)
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.output and "-h, --help" in result.output

    def test_deadlines_help_says_the_language_default(self, cli):
        result = cli.invoke(ckan, ["mes-schedule", "deadlines", "-h"])
        assert "default language" in result.output

    @pytest.mark.parametrize("locale, lang", [("kk", "kk"), ("ru_RU", "ru"), ("en", "en"), ("fr", "en")])
    def test_deadlines_defaults_to_the_portals_language(self, cli, ckan_config, monkeypatch, locale, lang):
        monkeypatch.setitem(ckan_config, "ckan.locale_default", locale)
        default = cli.invoke(ckan, ["mes-schedule", "deadlines", "--as-of", "2026-11-26", "--format", "json"])
        explicit = cli.invoke(ckan, ["mes-schedule", "deadlines", "--as-of", "2026-11-26", "--format", "json",
                                     "--lang", lang])
        assert default.exit_code == 0, default.output
        assert json.loads(default.output) == json.loads(explicit.output)
        item5 = next(r for r in json.loads(default.output)["items"] if r["item"] == 5)
        titles = next(i for i in settings.order().items if i.number == 5).title
        assert item5["title"] == (titles.get(lang) or titles["kk"])
