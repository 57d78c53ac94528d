"""The compliance, publication and event actions: statuses from the engine, filters, sorting, paging, errors."""
from __future__ import annotations

import datetime as dt

import pytest

import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers

from ckanext.mes_schedule import compliance, schedule, vocab
from tests.fixtures import events_in_force, legal, publish

AS_OF = "2027-02-15"


def _scheduled(org: dict, item: int, rule: str = "annual quarter=4", frequency: str = "ANNUAL", **fields) -> dict:
    return factories.Dataset(owner_org=org["id"], **legal(item, rule, frequency), **fields)


def _list(**params) -> dict:
    params.setdefault("as_of", AS_OF)
    return helpers.call_action("mes_schedule_compliance_list", context={"user": ""}, **params)


def _sysadmin() -> dict:
    return {"user": factories.Sysadmin()["name"]}


@pytest.fixture
def portal():
    """Three annual (IV quarter) datasets with the compliance model's worked examples, plus a quarterly one
    and a dataset outside the order, in two organisations."""
    ministry = factories.Organization(
        name="mes-rk", title="Министрлік", title_ru="Министерство", title_en="Ministry"
    )
    other = factories.Organization(name="other-org", title="Басқа")
    on_time = _scheduled(ministry, 5, title="Балабақшалар", title_ru="Детские сады", title_en="Kindergartens")
    late = _scheduled(ministry, 6, title="Мектептер", title_ru="Школы", title_en="Schools")
    never = _scheduled(other, 7, title="Әдістемелер", title_ru="Методики", title_en="Methods", name="methods")
    quarterly = _scheduled(
        ministry, 10, rule="quarterly day=10", frequency="QUARTERLY", title="Оқушылар", title_en="Pupils"
    )
    outside = factories.Dataset(owner_org=ministry["id"], title="Not in the order")
    publish(on_time, "2026-11-02")
    publish(late, "2027-01-05")
    publish(quarterly, "2027-04-12")
    return {
        "ministry": ministry,
        "other": other,
        "on_time": on_time,
        "late": late,
        "never": never,
        "quarterly": quarterly,
        "outside": outside,
    }


def _by_name(result: dict) -> dict[str, dict]:
    return {row["name"]: row for row in result["results"]}


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestComplianceList:
    def test_statuses_follow_the_worked_examples(self, portal):
        result = _list()
        assert result["as_of"] == AS_OF
        rows = _by_name(result)
        assert portal["outside"]["name"] not in rows
        assert rows[portal["on_time"]["name"]]["status"] == "on_time"
        assert rows[portal["late"]["name"]]["status"] == "late"
        assert rows["methods"]["status"] == "never_published"
        # The quarterly dataset: Q4 2026 was due 2027-01-11 and nothing was published before 2027-04-12.
        assert rows[portal["quarterly"]["name"]]["status"] == "never_published"
        row = rows[portal["on_time"]["name"]]
        assert row["previous_due"] == "2026-12-31"
        assert row["next_due"] == "2027-12-31"
        assert row["last_published"] == "2026-11-02"
        assert row["on_time_rate"] == pytest.approx(1 / 11)  # 2016..2026: only 2026 on time
        assert row["item"] == 5
        assert row["organization"] == "mes-rk"
        assert row["private"] is False
        assert row["frequency"] == vocab.frequency_uri("ANNUAL")
        assert row["rule"] == "annual quarter=4"
        assert row["rule_in_words"] == schedule.describe("annual quarter=4", "en")
        assert row["deadline_kk"] == "жылына 1 рет IV тоқсан"
        assert (row["title_kk"], row["title_ru"], row["title_en"]) == ("Балабақшалар", "Детские сады", "Kindergartens")

    def test_the_statuses_agree_with_compliance_assess_datasets(self, portal):
        expected = {
            r.dataset.name: r.status for r in compliance.assess_datasets(as_of=dt.date(2027, 2, 15))
        }
        assert {name: row["status"] for name, row in _by_name(_list()).items()} == expected

    def test_publications_after_as_of_are_ignored_and_quarterly_example(self, portal):
        rows = _by_name(_list(as_of="2026-12-05"))
        assert rows[portal["late"]["name"]]["status"] == "never_published"  # its 2027 publication not yet made
        assert rows[portal["on_time"]["name"]]["status"] == "on_time"
        rows = _by_name(_list(as_of="2027-05-01"))
        assert rows[portal["quarterly"]["name"]]["status"] == "on_time"  # 2027-04-10 is a Saturday: due 04-12

    def test_due_soon(self):
        org = factories.Organization()
        dataset = _scheduled(org, 5)
        publish(dataset, "2025-10-10")
        (row,) = _list(as_of="2026-12-05")["results"]
        assert row["status"] == "due_soon"
        assert row["next_due"] == "2026-12-31"

    def test_summary_counts_every_status_and_ignores_the_status_filter(self, portal):
        whole = _list()
        assert whole["count"] == 4
        summary = whole["summary"]
        assert summary["total"] == 4
        assert set(summary["by_status"]) == set(schedule.STATUSES)
        assert summary["by_status"]["on_time"] == 1
        assert summary["by_status"]["late"] == 1
        assert summary["by_status"]["never_published"] == 2
        assert summary["by_status"]["overdue"] == 0
        rates = [row["on_time_rate"] for row in whole["results"] if row["on_time_rate"] is not None]
        assert summary["on_time_rate"] == pytest.approx(sum(rates) / len(rates))
        late_only = _list(status="late")
        assert [row["status"] for row in late_only["results"]] == ["late"]
        assert late_only["count"] == 1
        assert late_only["summary"] == summary

    @pytest.mark.parametrize("status", ["late,on_time", ["late", "on_time"], " late , on_time "])
    def test_several_statuses(self, portal, status):
        result = _list(status=status)
        assert sorted(row["status"] for row in result["results"]) == ["late", "on_time"]

    def test_organization_filter_by_name_or_id_and_summary_follows_it(self, portal):
        by_name = _list(organization="other-org")
        assert [row["name"] for row in by_name["results"]] == ["methods"]
        assert by_name["summary"]["total"] == 1
        by_id = _list(organization=portal["ministry"]["id"])
        assert by_id["count"] == 3
        assert {row["organization"] for row in by_id["results"]} == {"mes-rk"}

    @pytest.mark.parametrize("frequency", ["QUARTERLY", "quarterly", vocab.frequency_uri("QUARTERLY")])
    def test_frequency_filter(self, portal, frequency):
        result = _list(frequency=frequency)
        assert [row["name"] for row in result["results"]] == [portal["quarterly"]["name"]]
        assert result["summary"]["total"] == 1

    @pytest.mark.parametrize(
        "q, expected", [("детские", "on_time"), ("SCHOOLS", "late"), ("әдіс", "never"), ("METHODS", "never")]
    )
    def test_q_searches_the_three_titles_and_the_name(self, portal, q, expected):
        result = _list(q=q)
        assert [row["name"] for row in result["results"]] == [portal[expected]["name"]]

    def test_sorting_both_ways(self, portal):
        def names(**params):
            return [row["name"] for row in _list(**params)["results"]]

        by_item = [portal[k]["name"] for k in ("on_time", "late", "never", "quarterly")]
        assert names() == by_item
        assert names(sort="-item") == by_item[::-1]
        # Severity order: never_published (twice, by item), late, on_time.
        assert names(sort="status") == [portal[k]["name"] for k in ("never", "quarterly", "late", "on_time")]
        assert names(sort="-status") == [portal[k]["name"] for k in ("on_time", "late", "never", "quarterly")]
        # Datasets without a publication come last either way.
        assert names(sort="last_published") == [portal[k]["name"] for k in ("on_time", "late", "never", "quarterly")]
        assert names(sort="-last_published") == [portal[k]["name"] for k in ("late", "on_time", "never", "quarterly")]
        assert names(sort="-on_time_rate")[0] == portal["on_time"]["name"]
        assert names(sort="next_due")[0] == portal["quarterly"]["name"]  # Q1 2027, due 2027-04-10 -> 04-12
        assert names(sort="-previous_due")[0] == portal["quarterly"]["name"]

    def test_title_sort_follows_the_language_and_the_kazakh_alphabet(self, portal):
        def titles(**params):
            return [row["title"] for row in _list(sort="title", **params)["results"]]

        # Kazakh order: Б, М, О, Ә comes right after А (before Б), so Әдістемелер first.
        assert titles(lang="kk") == ["Әдістемелер", "Балабақшалар", "Мектептер", "Оқушылар"]
        assert titles(lang="en") == ["Kindergartens", "Methods", "Pupils", "Schools"]
        # No Russian title for the quarterly dataset: the Kazakh one stands in.
        assert titles(lang="ru") == ["Детские сады", "Методики", "Оқушылар", "Школы"]
        assert [row["title"] for row in _list(sort="-title", lang="en")["results"]] == [
            "Schools",
            "Pupils",
            "Methods",
            "Kindergartens",
        ]

    def test_lang_changes_titles_and_rule_in_words(self, portal):
        rows = _by_name(_list(lang="ru"))
        row = rows[portal["on_time"]["name"]]
        assert row["title"] == "Детские сады"
        assert row["organization_title"] == "Министерство"
        assert row["rule_in_words"] == schedule.describe("annual quarter=4", "ru")
        assert _by_name(_list(lang="kk"))[portal["on_time"]["name"]]["organization_title"] == "Министрлік"
        assert _by_name(_list(lang="en"))["methods"]["organization_title"] == "Басқа"  # no English title

    def test_paging(self, portal):
        first = _list(limit=2)
        second = _list(limit=2, offset=2)
        assert first["count"] == second["count"] == 4
        assert len(first["results"]) == len(second["results"]) == 2
        assert {r["name"] for r in first["results"]}.isdisjoint({r["name"] for r in second["results"]})
        assert _list(limit=0)["results"] == [] and _list(limit=0)["summary"]["total"] == 4
        assert _list(offset=10)["results"] == []

    @pytest.mark.ckan_config("ckanext.mes_schedule.page_size", 3)
    def test_default_limit_is_the_page_size(self, portal):
        assert len(_list()["results"]) == 3

    @pytest.mark.parametrize(
        "params, field",
        [
            ({"status": "bogus"}, "status"),
            ({"status": "late,bogus"}, "status"),
            ({"as_of": "yesterday"}, "as_of"),
            ({"as_of": "2027-02-30"}, "as_of"),
            ({"as_of": "9999-01-01"}, "as_of"),
            ({"limit": -1}, "limit"),
            ({"limit": "abc"}, "limit"),
            ({"limit": 1001}, "limit"),
            ({"offset": -1}, "offset"),
            ({"sort": "bogus"}, "sort"),
            ({"sort": "--item"}, "sort"),
            ({"frequency": "bogus"}, "frequency"),
            ({"lang": "de"}, "lang"),
            ({"organization": "no-such-org"}, "organization"),
        ],
    )
    def test_bad_parameters_are_validation_errors_naming_the_field(self, portal, params, field):
        with pytest.raises(tk.ValidationError) as error:
            _list(**params)
        assert field in error.value.error_dict, error.value.error_dict

    def test_a_dataset_organisation_is_not_an_organization_parameter_for_groups(self, portal):
        group = factories.Group(name="a-group")
        with pytest.raises(tk.ValidationError) as error:
            _list(organization=group["name"])
        assert "organization" in error.value.error_dict

    def test_over_http_bad_input_is_a_409_validation_error_and_good_input_a_200(self, app, portal):
        bad = app.get("/api/action/mes_schedule_compliance_list", query_string={"as_of": "yesterday"}, status=409)
        assert "as_of" in bad.json["error"]
        good = app.get(
            "/api/action/mes_schedule_compliance_list",
            query_string={"as_of": AS_OF, "status": "late,on_time", "sort": "-item", "limit": "1"},
        )
        assert good.json["result"]["count"] == 2
        assert [row["status"] for row in good.json["result"]["results"]] == ["late"]


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestComplianceShow:
    def test_show_has_the_row_periods_and_history(self, portal):
        publish(portal["late"], dt.datetime(2025, 12, 31, 18, 30))  # 23:30 in Almaty: on time for 2025
        shown = helpers.call_action(
            "mes_schedule_compliance_show", id=portal["late"]["name"], as_of=AS_OF, lang="en"
        )
        assert shown["status"] == "late"
        assert shown["as_of"] == AS_OF
        assert shown["title"] == "Schools"
        assert shown["current_period"] == "2026"
        labels = [p["label"] for p in shown["periods"]]
        assert labels[:3] == ["2026", "2025", "2024"] and labels[-1] == "2016"
        latest, previous = shown["periods"][0], shown["periods"][1]
        assert latest == {
            "label": "2026",
            "covers": None,
            "opens": "2026-10-01",
            "due": "2026-12-31",
            "closes": "2027-10-01",
            "outcome": "late",
            "published": ["2027-01-05"],
            "first_published": "2027-01-05",
        }
        assert previous["outcome"] == "on_time" and previous["published"] == ["2025-12-31"]
        assert [p["published_on"] for p in shown["publications"]] == ["2027-01-05", "2025-12-31"]
        assert shown["events"] == []

    def test_unknown_and_unscheduled_datasets_are_not_found(self, portal):
        with pytest.raises(tk.ObjectNotFound):
            helpers.call_action("mes_schedule_compliance_show", id="no-such-dataset", as_of=AS_OF)
        with pytest.raises(tk.ObjectNotFound) as error:
            helpers.call_action("mes_schedule_compliance_show", id=portal["outside"]["id"], as_of=AS_OF)
        assert "schedule" in str(error.value)

    @pytest.mark.parametrize(
        "params, field",
        [({"id": None}, "id"), ({"id": ""}, "id"), ({"as_of": "soon"}, "as_of"), ({"lang": "fr"}, "lang")],
    )
    def test_bad_parameters(self, portal, params, field):
        data = {"id": portal["late"]["id"], **params}
        data = {k: v for k, v in data.items() if v is not None}
        with pytest.raises(tk.ValidationError) as error:
            helpers.call_action("mes_schedule_compliance_show", **data)
        assert field in error.value.error_dict


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestPublicationList:
    def test_newest_first_with_utc_and_local_dates(self):
        dataset = _scheduled(factories.Organization(), 5)
        publish(dataset, dt.datetime(2026, 12, 31, 18, 30), dt.datetime(2026, 12, 31, 19, 30), "2026-01-10")
        result = helpers.call_action("mes_schedule_publication_list", id=dataset["name"])
        assert [p["published_at"] for p in result] == [
            "2026-12-31T19:30:00Z",
            "2026-12-31T18:30:00Z",
            "2026-01-10T12:00:00Z",
        ]
        # Almaty is UTC+5: 19:30 UTC is already the next local day.
        assert [p["published_on"] for p in result] == ["2027-01-01", "2026-12-31", "2026-01-10"]
        assert set(result[0]) == {
            "id", "item", "package_id", "resource_id", "kind", "level", "url", "sha256", "size", "published_at",
            "published_on", "row_hash", "rows", "covers", "note", "user_id",
        }
        page = helpers.call_action("mes_schedule_publication_list", id=dataset["id"], limit=1, offset=1)
        assert [p["published_at"] for p in page] == ["2026-12-31T18:30:00Z"]

    def test_recorded_publications_appear(self):
        dataset = _scheduled(factories.Organization(), 5)
        resource = factories.Resource(package_id=dataset["id"], url="http://example.com/r.csv")
        (row,) = helpers.call_action("mes_schedule_publication_list", id=dataset["id"])
        assert (row["resource_id"], row["kind"], row["url"]) == (resource["id"], "created", "http://example.com/r.csv")

    @pytest.mark.parametrize(
        "params, field", [({"limit": 5000}, "limit"), ({"limit": "x"}, "limit"), ({"offset": -3}, "offset")]
    )
    def test_bad_parameters(self, params, field):
        dataset = _scheduled(factories.Organization(), 5)
        with pytest.raises(tk.ValidationError) as error:
            helpers.call_action("mes_schedule_publication_list", id=dataset["id"], **params)
        assert field in error.value.error_dict

    def test_unknown_dataset(self):
        with pytest.raises(tk.ObjectNotFound):
            helpers.call_action("mes_schedule_publication_list", id="nope")


EVENT_RULE = "event working-days=10 max-per-year=2"


@pytest.fixture
def event_dataset():
    return _scheduled(factories.Organization(), 30, rule=EVENT_RULE, frequency="IRREG")


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestEvents:
    def _create(self, dataset: dict, day: str, **extra) -> dict:
        return helpers.call_action(
            "mes_schedule_event_create", context=_sysadmin(), package_id=dataset["name"], event_date=day, **extra
        )

    def test_create_list_and_delete(self, event_dataset):
        second = self._create(event_dataset, "2025-12-05", note="Register approved (second edition)")
        first = self._create(event_dataset, "2025-04-28")
        assert first["package_id"] == event_dataset["id"]
        assert first["event_date"] == "2025-04-28" and first["note"] == ""
        assert first["created_by"] and first["created_at"].endswith("Z")
        listed = helpers.call_action("mes_schedule_event_list", package_id=event_dataset["id"])
        assert [e["event_date"] for e in listed] == ["2025-04-28", "2025-12-05"]
        assert listed[1]["note"] == "Register approved (second edition)"
        helpers.call_action("mes_schedule_event_delete", context=_sysadmin(), id=first["id"])
        listed = helpers.call_action("mes_schedule_event_list", package_id=event_dataset["name"])
        assert [e["id"] for e in listed] == [second["id"]]
        assert len(events_in_force()) == 1

    def test_events_change_the_compliance(self, event_dataset):
        def status(as_of: str) -> str:
            return helpers.call_action("mes_schedule_compliance_show", id=event_dataset["id"], as_of=as_of)["status"]

        assert status("2026-01-10") == "no_deadline"
        self._create(event_dataset, "2025-12-05")  # due 2025-12-22 (16 December is a holiday)
        assert status("2025-12-10") == "due_soon"
        assert status("2026-01-10") == "never_published"
        shown = helpers.call_action("mes_schedule_compliance_show", id=event_dataset["id"], as_of="2026-01-10")
        assert shown["periods"][0]["due"] == "2025-12-22"
        assert [e["event_date"] for e in shown["events"]] == ["2025-12-05"]

    def test_at_most_max_per_year(self, event_dataset):
        self._create(event_dataset, "2025-03-01")
        self._create(event_dataset, "2025-09-01")
        with pytest.raises(tk.ValidationError) as error:
            self._create(event_dataset, "2025-11-01")
        assert "event_date" in error.value.error_dict
        assert "2" in error.value.error_dict["event_date"][0]
        self._create(event_dataset, "2024-11-01")  # another year is fine

    def test_one_event_per_date(self, event_dataset):
        self._create(event_dataset, "2025-03-01")
        with pytest.raises(tk.ValidationError) as error:
            self._create(event_dataset, "2025-03-01")
        assert "event_date" in error.value.error_dict

    def test_only_for_event_rules(self, portal):
        with pytest.raises(tk.ValidationError) as error:
            self._create(portal["on_time"], "2025-03-01")
        assert "event-driven" in error.value.error_dict["package_id"][0]
        with pytest.raises(tk.ValidationError) as error:
            self._create(portal["outside"], "2025-03-01")
        assert "package_id" in error.value.error_dict

    @pytest.mark.parametrize(
        "params, field",
        [
            ({"event_date": "someday"}, "event_date"),
            ({"event_date": ""}, "event_date"),
            ({"event_date": "2010-01-01"}, "event_date"),  # before the schedule starts
            ({"note": "x" * 1001}, "note"),
            ({"package_id": ""}, "package_id"),
        ],
    )
    def test_bad_input(self, event_dataset, params, field):
        data = {"package_id": event_dataset["id"], "event_date": "2025-03-01", **params}
        with pytest.raises(tk.ValidationError) as error:
            helpers.call_action("mes_schedule_event_create", context=_sysadmin(), **data)
        assert field in error.value.error_dict

    def test_future_dates_are_refused(self, event_dataset):
        tomorrow = (compliance.today() + dt.timedelta(days=1)).isoformat()
        with pytest.raises(tk.ValidationError) as error:
            self._create(event_dataset, tomorrow)
        assert "future" in error.value.error_dict["event_date"][0]
        self._create(event_dataset, compliance.today().isoformat())  # today is fine

    def test_unknown_ids(self, event_dataset):
        with pytest.raises(tk.ObjectNotFound):
            helpers.call_action("mes_schedule_event_delete", context=_sysadmin(), id="no-such-event")
        with pytest.raises(tk.ObjectNotFound):
            self._create({"name": "no-such-dataset"}, "2025-03-01")
        with pytest.raises(tk.ObjectNotFound):
            helpers.call_action("mes_schedule_event_list", package_id="no-such-dataset")
        with pytest.raises(tk.ValidationError) as error:
            helpers.call_action("mes_schedule_event_delete", context=_sysadmin())
        assert "id" in error.value.error_dict
