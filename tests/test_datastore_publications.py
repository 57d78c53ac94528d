"""Every way data reach the portal counts (issue #12), end to end through the real services: DataStore writes on
PostgreSQL through CKAN's own actions, XLoader jobs run by a real `ckan jobs worker`, link resources served by a
local HTTP server (the ministry's own server), declared updates and declared coverage (compliance model,
sections 5 and 6).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

import ckan.model as model
import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckan.common import config

from ckanext.mes_schedule.model import Publication
from tests.fixtures import (
    DATASTORE_PLUGINS,
    form_token,
    legal,
    logged_in,
    run_jobs_worker,
    serve_directory,
    serve_wsgi,
    staffed_organization,
)

pytestmark = [
    pytest.mark.ckan_config("ckan.plugins", DATASTORE_PLUGINS),
    pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index", "datastore_tables"),
]
# The actions build URLs (the DataStore's own, XLoader's callback): a request context. Not for the tests that post
# forms: requests in a pushed context share its `g`, so one request's CSRF verdict would carry over to the next.
_actions_need_urls = pytest.mark.usefixtures("with_request_context")

PASSWORD = "DataStore-Publications-2026"
CSV = b"region,schools\nAstana,121\nAlmaty,201\nShymkent,90\n"
FIELDS = [{"id": "region", "type": "text"}, {"id": "schools", "type": "int"}]
ROWS = [{"region": "Astana", "schools": 121}, {"region": "Almaty", "schools": 201}]


def _as(user: dict[str, Any]) -> dict[str, Any]:
    return {"user": user["name"], "ignore_auth": False}


def _rows(package_id: str) -> list[Publication]:
    model.Session.expire_all()
    return (
        model.Session.query(Publication)
        .filter(Publication.package_id == package_id)
        .order_by(Publication.seq)
        .all()
    )


def _status(package_id: str, as_of: str | None = None) -> dict[str, Any]:
    data = {"id": package_id, **({"as_of": as_of} if as_of else {})}
    return helpers.call_action("mes_schedule_compliance_show", **data)


def _outcomes(package_id: str, as_of: str | None = None) -> dict[str, str]:
    return {p["label"]: p["outcome"] for p in _status(package_id, as_of)["periods"]}


def _total(resource_id: str) -> int:
    found = helpers.call_action("datastore_search", resource_id=resource_id, limit=0, include_total=True)
    return found["total"]


@pytest.fixture
def world() -> dict[str, Any]:
    """The ministry with an editor and an outsider's organisation, and a dataset holding item 5 (annual, due in
    quarter IV: on 2026-11-30 the 2026 period is open and every earlier one missed)."""
    org, users = staffed_organization("editor", "admin", prefix="ds", password=PASSWORD)
    _, others = staffed_organization("editor", prefix="ds_other")
    dataset = factories.Dataset(owner_org=org["id"], name="schools", **legal(5))
    return {"org": org, "editor": users["editor"], "admin": users["admin"], "outsider": others["editor"],
            "dataset": dataset}


def _table(world: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A DataStore-only resource of the dataset, created by the editor with its fields and no rows."""
    return helpers.call_action(
        "datastore_create", context=_as(world["editor"]),
        resource={"package_id": world["dataset"]["id"], "name": "table"}, fields=FIELDS, **more,
    )


# ------------------------------------------------------------------------------------------ DataStore API


@_actions_need_urls
class TestDataStoreWrites:
    def test_an_empty_table_is_no_publication_and_an_upsert_of_new_rows_is(self, world):
        dataset = world["dataset"]
        table = _table(world)
        assert _rows(dataset["id"]) == []
        assert _status(dataset["id"])["status"] == "never_published"

        helpers.call_action("datastore_upsert", context=_as(world["editor"]), resource_id=table["resource_id"],
                            method="insert", records=ROWS)
        [row] = _rows(dataset["id"])
        assert (row.kind, row.level, row.rows, row.covers) == ("datastore_upsert", "datastore", 2, None)
        assert len(row.sha256) == 64 and row.user_id == world["editor"]["id"]
        assert _status(dataset["id"])["status"] == "on_time"

    def test_the_same_upsert_again_or_a_dry_run_is_no_new_publication(self, world):
        table = _table(world)
        write = dict(context=_as(world["editor"]), resource_id=table["resource_id"], method="insert")
        helpers.call_action("datastore_upsert", records=ROWS, **write)
        helpers.call_action("datastore_upsert", records=ROWS, **write)
        helpers.call_action("datastore_upsert", records=[{"region": "Abai", "schools": 7}], dry_run=True, **write)
        assert len(_rows(world["dataset"]["id"])) == 1
        helpers.call_action("datastore_upsert", records=[{"region": "Abai", "schools": 7}], **write)
        assert [r.rows for r in _rows(world["dataset"]["id"])] == [2, 1]

    def test_a_table_created_with_records_is_a_publication(self, world):
        table = _table(world, records=ROWS)
        [row] = _rows(world["dataset"]["id"])
        assert (row.kind, row.resource_id, row.rows) == ("datastore_create", table["resource_id"], 2)

    def test_deleting_rows_is_a_publication_and_deleting_nothing_is_not(self, world):
        table = _table(world, records=ROWS)
        delete = dict(context=_as(world["editor"]), resource_id=table["resource_id"], force=True)
        helpers.call_action("datastore_delete", filters={"region": "Astana"}, **delete)
        helpers.call_action("datastore_delete", filters={"region": "Astana"}, **delete)  # nothing left to delete
        kinds = [(r.kind, r.rows) for r in _rows(world["dataset"]["id"])]
        assert kinds == [("datastore_create", 2), ("datastore_delete", 1)]

    def test_a_failed_write_records_nothing(self, world):
        table = _table(world)
        with pytest.raises(tk.ValidationError):
            helpers.call_action("datastore_upsert", context=_as(world["editor"]), resource_id=table["resource_id"],
                                method="insert", records=[{"no_such_column": 1}])
        assert _rows(world["dataset"]["id"]) == []

    def test_who_may_not_write_records_nothing(self, world):
        table = _table(world)
        with pytest.raises(tk.NotAuthorized):
            helpers.call_action("datastore_upsert", context=_as(world["outsider"]), resource_id=table["resource_id"],
                                method="insert", records=ROWS)
        assert _rows(world["dataset"]["id"]) == []

    def test_a_write_may_declare_the_period_it_covers(self, world):
        dataset = world["dataset"]
        table = _table(world)
        write = dict(context=_as(world["editor"]), resource_id=table["resource_id"], method="insert")
        with pytest.raises(tk.ValidationError) as refused:
            helpers.call_action("datastore_upsert", records=ROWS, mes_schedule_covers="1999", **write)
        assert "mes_schedule_covers" in refused.value.error_dict
        assert _total(table["resource_id"]) == 0, "a refused declaration must not leave the rows written"

        helpers.call_action("datastore_upsert", records=ROWS, mes_schedule_covers="2025", **write)
        [row] = _rows(dataset["id"])
        assert row.covers == "2025"
        outcomes = _outcomes(dataset["id"])
        assert (outcomes["2025"], outcomes["2026"]) == ("late", "open")

    def test_datasets_outside_the_order_have_no_record(self, world):
        other = factories.Dataset(owner_org=world["org"]["id"])
        helpers.call_action("datastore_create", context=_as(world["editor"]), resource={"package_id": other["id"]},
                            fields=FIELDS, records=ROWS)
        assert _rows(other["id"]) == []


# ---------------------------------------------------------------------------------------------- XLoader


@pytest.fixture
def xloader(app, monkeypatch) -> Any:
    """XLoader set up as on the portal: a sysadmin's API token, and the test app served on a local port for the
    worker to download uploads from and report back to."""
    sysadmin = factories.SysadminWithToken()
    monkeypatch.setitem(config, "ckanext.xloader.api_token", sysadmin["token"])
    with serve_wsgi(app.app, "xloader-ckan") as url:
        yield url


@_actions_need_urls
class TestXLoader:
    def test_an_uploaded_csv_is_loaded_and_counts_once(self, world, xloader, create_with_upload):
        dataset = world["dataset"]
        resource = create_with_upload(CSV, "schools.csv", context=_as(world["editor"]), package_id=dataset["id"],
                                      format="CSV", name="Schools")
        output = run_jobs_worker(xloader)
        assert _total(resource["id"]) == 3, output[-3000:]
        shown = helpers.call_action("resource_show", id=resource["id"])
        assert shown["datastore_active"] is True
        views = helpers.call_action("resource_view_list", id=resource["id"])
        assert "datatables_view" in {v["view_type"] for v in views}, "no Data Explorer preview"
        # The load of the uploaded file is the upload's own evidence: one publication.
        [row] = _rows(dataset["id"])
        assert (row.kind, row.level) == ("uploaded", "file")
        assert _status(dataset["id"])["status"] == "on_time"

    def test_a_link_reloaded_with_new_data_is_a_publication(self, world, xloader, tmp_path: Path):
        dataset, editor = world["dataset"], world["editor"]
        (tmp_path / "schools.csv").write_bytes(CSV)
        with serve_directory(tmp_path) as ministry:
            resource = helpers.call_action("resource_create", context=_as(editor), package_id=dataset["id"],
                                           url=f"{ministry}/schools.csv", format="CSV", name="Live")
            output = run_jobs_worker(xloader)
            assert _total(resource["id"]) == 3, output[-3000:]
            assert [(r.kind, r.level, r.rows) for r in _rows(dataset["id"])] == [
                ("created", "link", None), ("loaded", "datastore", 3)]

            # The same file loaded again is nothing new; new data at the same address is.
            helpers.call_action("xloader_submit", context=_as(editor), resource_id=resource["id"], ignore_hash=True)
            run_jobs_worker(xloader)
            assert len(_rows(dataset["id"])) == 2
            (tmp_path / "schools.csv").write_bytes(CSV + b"Turkistan,55\n")
            helpers.call_action("xloader_submit", context=_as(editor), resource_id=resource["id"])
            output = run_jobs_worker(xloader)
            assert _total(resource["id"]) == 4, output[-3000:]
        assert [(r.kind, r.rows) for r in _rows(dataset["id"])][-1] == ("loaded", 4)

    def test_a_forged_load_report_records_nothing(self, world, xloader, tmp_path: Path):
        # xloader_hook is open to every editor: saying "loaded" without new rows in the table proves nothing.
        dataset, editor = world["dataset"], world["editor"]
        (tmp_path / "schools.csv").write_bytes(CSV)
        with serve_directory(tmp_path) as ministry:
            resource = helpers.call_action("resource_create", context=_as(editor), package_id=dataset["id"],
                                           url=f"{ministry}/schools.csv", format="CSV")
            run_jobs_worker(xloader)
        before = len(_rows(dataset["id"]))
        helpers.call_action("xloader_hook", context=_as(editor),
                            metadata={"resource_id": resource["id"]}, status="complete")
        assert len(_rows(dataset["id"])) == before


# ------------------------------------------------------------------------------------------ declared updates


@pytest.fixture
def link(world, tmp_path: Path) -> Any:
    """A link resource of the dataset to a file on the ministry's own server."""
    (tmp_path / "schools.csv").write_bytes(CSV)
    with serve_directory(tmp_path) as ministry:
        yield helpers.call_action("resource_create", context=_as(world["editor"]), package_id=world["dataset"]["id"],
                                  url=f"{ministry}/schools.csv", name="Live data")


@_actions_need_urls
class TestDeclaredUpdates:
    def test_a_declaration_is_a_publication_at_the_declared_level(self, world, link):
        dataset = world["dataset"]
        result = helpers.call_action("mes_schedule_declare_update", context=_as(world["editor"]), id=link["id"],
                                     note="2026/27 figures added", covers="2025")
        rows = _rows(dataset["id"])
        assert [(r.kind, r.level) for r in rows] == [("created", "link"), ("declared", "declared")]
        declared = rows[-1]
        assert (declared.user_id, declared.note, declared.covers, declared.url) == (
            world["editor"]["id"], "2026/27 figures added", "2025", link["url"])
        assert result["level"] == "declared" and result["covers"] == "2025"
        # The server's time, never one the caller gives.
        assert abs(declared.published_at - dt.datetime.utcnow()) < dt.timedelta(minutes=1)
        assert _outcomes(dataset["id"])["2025"] == "late"

    def test_once_per_link_per_day(self, world, link):
        declare = dict(context=_as(world["editor"]), id=link["id"])
        helpers.call_action("mes_schedule_declare_update", **declare)
        with pytest.raises(tk.ValidationError) as refused:
            helpers.call_action("mes_schedule_declare_update", **declare)
        assert "already declared today" in refused.value.error_dict["id"][0]
        assert [r.level for r in _rows(world["dataset"]["id"])].count("declared") == 1

    def test_only_editors_and_only_links(self, world, link, create_with_upload):
        with pytest.raises(tk.NotAuthorized):
            helpers.call_action("mes_schedule_declare_update", context=_as(world["outsider"]), id=link["id"])
        with pytest.raises(tk.NotAuthorized):
            helpers.call_action("mes_schedule_declare_update", context={"user": "", "ignore_auth": False},
                                id=link["id"])
        upload = create_with_upload(b"a,b\n1,2\n", "data.csv", context=_as(world["editor"]),
                                    package_id=world["dataset"]["id"])
        with pytest.raises(tk.ValidationError) as refused:
            helpers.call_action("mes_schedule_declare_update", context=_as(world["editor"]), id=upload["id"])
        assert "id" in refused.value.error_dict
        with pytest.raises(tk.ValidationError) as refused:
            helpers.call_action("mes_schedule_declare_update", context=_as(world["editor"]), id=link["id"],
                                covers="1999", note="x" * 501)
        assert set(refused.value.error_dict) == {"note"}  # the note first; the period is checked once it is valid
        with pytest.raises(tk.ObjectNotFound):
            helpers.call_action("mes_schedule_declare_update", context=_as(world["editor"]), id="no-such-resource")
        assert [r.level for r in _rows(world["dataset"]["id"])].count("declared") == 0

# ----------------------------------------------------------------------------------------- declared coverage


@pytest.fixture
def quarterly(world) -> dict[str, Any]:
    return factories.Dataset(owner_org=world["org"]["id"], name="quarterly",
                             **legal(6, rule="quarterly day=10", frequency="QUARTERLY"))


@_actions_need_urls
class TestDeclaredCoverage:
    def test_the_models_example(self, world, quarterly, create_with_upload):
        # Section 6: Q2 2026 (due 2026-07-10) missed; a file declared as Q2 uploaded on 2026-10-05 makes Q2 late,
        # and Q3 (due 2026-10-12) is still open.
        with freeze_time("2026-10-05 06:00:00"):
            create_with_upload(CSV, "q2.csv", context=_as(world["editor"]), package_id=quarterly["id"],
                               mes_schedule_covers="2026 Q2")
        [row] = _rows(quarterly["id"])
        assert (row.covers, row.published_at.date()) == ("2026 Q2", dt.date(2026, 10, 5))
        outcomes = _outcomes(quarterly["id"], as_of="2026-10-05")
        assert (outcomes["2026 Q2"], outcomes["2026 Q3"]) == ("late", "open")

    def test_undeclared_the_date_decides(self, world, quarterly, create_with_upload):
        with freeze_time("2026-10-05 06:00:00"):
            create_with_upload(CSV, "q3.csv", context=_as(world["editor"]), package_id=quarterly["id"])
        outcomes = _outcomes(quarterly["id"], as_of="2026-10-12")
        assert (outcomes["2026 Q2"], outcomes["2026 Q3"]) == ("missed", "on_time")

    def test_a_declaration_is_for_one_upload_and_never_stored_on_the_resource(self, world, create_with_upload):
        dataset = world["dataset"]
        resource = create_with_upload(b"a\n1\n", "a.csv", context=_as(world["editor"]), package_id=dataset["id"],
                                      mes_schedule_covers="2024")
        assert "mes_schedule_covers" not in helpers.call_action("resource_show", id=resource["id"])
        create_with_upload(b"a\n2\n", "b.csv", context=_as(world["editor"]), action="resource_update",
                           id=resource["id"])
        assert [r.covers for r in _rows(dataset["id"])] == ["2024", None]

    def test_a_period_the_dataset_does_not_have_is_refused(self, world, create_with_upload):
        with pytest.raises(tk.ValidationError) as refused:
            create_with_upload(b"a\n1\n", "a.csv", context=_as(world["editor"]), package_id=world["dataset"]["id"],
                               mes_schedule_covers="2026 Q2")
        assert "mes_schedule_covers" in refused.value.error_dict
        assert _rows(world["dataset"]["id"]) == []


# ---------------------------------------------------------------------------------------------------- forms


@pytest.mark.ckan_config("WTF_CSRF_ENABLED", True)
class TestForms:
    def test_the_dataset_pages_form(self, app, world, link):
        browser = logged_in(app, world["editor"], PASSWORD)
        page = browser.get("/dataset/schools").get_data(as_text=True)
        assert 'action="/dataset/schools/declare-update"' in page
        data = {"resource_id": link["id"], "note": "refreshed", "covers": "2026"}
        forged = browser.post("/dataset/schools/declare-update", data=data)
        assert forged.status_code in (400, 403), forged.get_data(as_text=True)[-3000:]  # no token
        field, token = form_token(page)
        done = browser.post("/dataset/schools/declare-update", data={**data, field: token}, follow_redirects=True)
        assert done.status_code == 200
        assert "declared updated" in done.get_data(as_text=True)
        assert _rows(world["dataset"]["id"])[-1].level == "declared"
        history = app.get("/dataset/schools/compliance").get_data(as_text=True)
        assert 'data-level="declared"' in history and "refreshed" in history

        again = browser.post("/dataset/schools/declare-update", data={**data, field: token}, follow_redirects=True)
        assert "already declared today" in again.get_data(as_text=True)
        # Citizens get no form.
        assert "declare-update" not in app.get("/dataset/schools").get_data(as_text=True)

    def test_the_upload_form_offers_the_periods_current_first(self, app, world):
        browser = logged_in(app, world["editor"], PASSWORD)
        page = browser.get("/dataset/schools/resource/new").get_data(as_text=True)
        assert 'name="mes_schedule_covers"' in page
        assert '<option value="2026" selected' in page
        assert '<option value="2016"' in page
