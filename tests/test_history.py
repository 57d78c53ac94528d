"""Publication history: what counts as a publication, one row per change, in the action's transaction.

The record belongs to the item of the order: the datasets here hold items (`legal(...)`); a dataset that holds none
is not on the record (test_a_dataset_without_an_item_records_nothing). The attacks on the record (URL flips,
upload bumps, back-dating, purges, edits outside the application) are in test_integrity_history.py.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from unittest import mock

import pytest
import sqlalchemy as sa

import ckan.model as model
import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckan.model import meta

from ckanext.mes_schedule import history
from ckanext.mes_schedule.cli import history as cli_history
from ckanext.mes_schedule.model import Publication
from tests.fixtures import legal


def _sysadmin() -> dict:
    """Updates need a real user: the activity plugin records who made each change."""
    return {"user": factories.Sysadmin()["name"]}


def _rows(resource_id: str | None = None, package_id: str | None = None) -> list[Publication]:
    model.Session.expire_all()
    query = model.Session.query(Publication)
    if resource_id:
        query = query.filter(Publication.resource_id == resource_id)
    if package_id:
        query = query.filter(Publication.package_id == package_id)
    return query.order_by(Publication.published_at).all()


def _kinds(**kwargs: str) -> list[str]:
    return [row.kind for row in _rows(**kwargs)]


def _fresh_session_rows(resource_id: str) -> list[tuple[str, str]]:
    """Read through a separate connection: only committed rows are visible there."""
    session = meta.create_local_session(bind=meta.engine)
    try:
        return [
            tuple(r)
            for r in session.execute(
                sa.select(Publication.kind, Publication.url).where(Publication.resource_id == resource_id)
            )
        ]
    finally:
        session.close()


def _wipe_history() -> None:
    """As if the portal had run without the history: rows removed outside the application (the ORM refuses)."""
    model.Session.execute(Publication.__table__.delete())
    model.repo.commit()


@pytest.fixture
def dataset():
    return factories.Dataset(owner_org=factories.Organization()["id"], **legal(5))


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestRecording:
    def test_resource_create_records_one_created_row_and_commits_it(self, dataset):
        context = _sysadmin()
        resource = helpers.call_action(
            "resource_create", context=dict(context), package_id=dataset["id"], url="http://example.com/a.csv"
        )
        rows = _rows(resource_id=resource["id"])
        assert [(r.kind, r.url, r.package_id) for r in rows] == [("created", "http://example.com/a.csv", dataset["id"])]
        assert rows[0].user_id == model.User.get(context["user"]).id
        assert abs(rows[0].published_at - dt.datetime.utcnow()) < dt.timedelta(minutes=1)
        assert _fresh_session_rows(resource["id"]) == [("created", "http://example.com/a.csv")]
        assert (rows[0].item, rows[0].level, rows[0].sha256) == (5, "link", None)

    def test_a_dataset_without_an_item_records_nothing(self):
        """Deliberate change: only datasets that hold an item of the order are on the record."""
        plain = factories.Dataset(owner_org=factories.Organization()["id"])
        helpers.call_action(
            "resource_create", context=_sysadmin(), package_id=plain["id"], url="http://example.com/a.csv"
        )
        assert _rows(package_id=plain["id"]) == []

    def test_metadata_only_edits_are_not_publications(self, dataset):
        context = _sysadmin()
        resource = factories.Resource(package_id=dataset["id"], url="http://example.com/a.csv")
        helpers.call_action(
            "resource_patch", context=dict(context), id=resource["id"], description="new words", name="Q3",
            format="XLSX",
        )
        helpers.call_action("package_patch", context=dict(context), id=dataset["id"], notes="only the notes")
        assert _kinds(resource_id=resource["id"]) == ["created"]

    def test_a_changed_url_is_a_publication(self, dataset):
        context = _sysadmin()
        resource = factories.Resource(package_id=dataset["id"], url="http://example.com/a.csv")
        helpers.call_action("resource_patch", context=dict(context), id=resource["id"], url="http://example.com/b.csv")
        rows = _rows(resource_id=resource["id"])
        assert [(r.kind, r.url) for r in rows] == [
            ("created", "http://example.com/a.csv"),
            ("url_changed", "http://example.com/b.csv"),
        ]
        assert _fresh_session_rows(resource["id"])[-1] == ("url_changed", "http://example.com/b.csv")

    def test_uploads_new_and_replaced_are_publications(self, dataset, create_with_upload):
        context = _sysadmin()
        resource = create_with_upload(
            "a,b\n1,2\n", "data.csv", context=dict(context), package_id=dataset["id"], url="http://ignored"
        )
        assert resource["url_type"] == "upload"
        assert _kinds(resource_id=resource["id"]) == ["uploaded"]
        # The same file name again: the URL does not change, the upload does.
        create_with_upload(
            "a,b\n3,4\n", "data.csv", context=dict(context), action="resource_update", id=resource["id"]
        )
        rows = _rows(resource_id=resource["id"])
        assert [r.kind for r in rows] == ["uploaded", "uploaded"]
        assert rows[-1].url == "data.csv"
        assert [(r.level, r.sha256, r.size) for r in rows] == [
            ("file", hashlib.sha256(b"a,b\n1,2\n").hexdigest(), 8),
            ("file", hashlib.sha256(b"a,b\n3,4\n").hexdigest(), 8),
        ]
        # Editing the uploaded resource's description afterwards records nothing.
        helpers.call_action("resource_patch", context=dict(context), id=resource["id"], description="words")
        assert len(_rows(resource_id=resource["id"])) == 2

    def test_package_update_adding_a_resource_records_it_once(self, dataset):
        context = _sysadmin()
        first = factories.Resource(package_id=dataset["id"], url="http://example.com/a.csv")
        shown = helpers.call_action("package_show", id=dataset["id"])
        shown["resources"].append({"url": "http://example.com/b.csv", "name": "b"})
        helpers.call_action("package_update", context=dict(context), **shown)
        shown = helpers.call_action("package_show", id=dataset["id"])
        second = shown["resources"][1]
        assert _kinds(resource_id=first["id"]) == ["created"]
        assert _kinds(resource_id=second["id"]) == ["created"]

    def test_package_create_with_resources_and_package_patch_changing_a_url(self):
        context = _sysadmin()
        org = factories.Organization()
        created = helpers.call_action(
            "package_create",
            context=dict(context),
            name="with-resources",
            owner_org=org["id"],
            **legal(6, "annual quarter=1"),
            resources=[{"url": "http://example.com/1.csv"}, {"url": "http://example.com/2.csv"}],
        )
        rows = _rows(package_id=created["id"])
        assert [r.kind for r in rows] == ["created", "created"]
        assert rows[0].published_at == rows[1].published_at  # one change, one timestamp
        resources = created["resources"]
        resources[1]["url"] = "http://example.com/2-new.csv"
        helpers.call_action("package_patch", context=dict(context), id=created["id"], resources=resources)
        assert _kinds(resource_id=resources[0]["id"]) == ["created"]
        assert _kinds(resource_id=resources[1]["id"]) == ["created", "url_changed"]

    def test_a_resource_without_data_publishes_nothing_until_it_gets_a_url(self, dataset):
        context = _sysadmin()
        resource = helpers.call_action("resource_create", context=dict(context), package_id=dataset["id"], name="soon")
        assert _rows(resource_id=resource["id"]) == []
        helpers.call_action("resource_patch", context=dict(context), id=resource["id"], url="http://example.com/x.csv")
        assert _kinds(resource_id=resource["id"]) == ["url_changed"]

    def test_history_survives_the_deletion_of_the_resource(self, dataset):
        context = _sysadmin()
        resource = factories.Resource(package_id=dataset["id"], url="http://example.com/a.csv")
        helpers.call_action("resource_delete", context=dict(context), id=resource["id"])
        # The next update purges deleted resources from CKAN's tables; our rows stay.
        helpers.call_action("resource_create", context=dict(context), package_id=dataset["id"], url="http://example.com/c.csv")
        assert model.Session.get(model.Resource, resource["id"]) is None or model.Session.get(
            model.Resource, resource["id"]
        ).state == "deleted"
        assert _kinds(resource_id=resource["id"]) == ["created"]
        assert len(_rows(package_id=dataset["id"])) == 2

    def test_a_failing_resource_create_records_nothing(self, dataset):
        context = _sysadmin()
        with pytest.raises(tk.ValidationError):
            helpers.call_action(
                "resource_create", context=dict(context), package_id=dataset["id"], url="http://example.com/a.csv",
                size="big",
            )
        assert _rows(package_id=dataset["id"]) == []

    def test_an_action_failing_after_the_hook_leaves_no_row(self, dataset):
        """The rows are written in the action's transaction: if anything after our hook fails, the rollback
        (the request's teardown does it) takes them away with the resource."""
        context = _sysadmin()
        record = history.record_package

        def record_then_fail(context: dict, pkg_dict: dict) -> None:
            record(context, pkg_dict)
            assert model.Session.query(Publication).count() == 1  # written, not yet committed
            raise RuntimeError("a later step of the action failed")

        with mock.patch.object(history, "record_package", record_then_fail):
            with pytest.raises(RuntimeError):
                helpers.call_action(
                    "resource_create", context=dict(context), package_id=dataset["id"], url="http://example.com/a.csv"
                )
        model.Session.rollback()
        assert _rows(package_id=dataset["id"]) == []
        assert helpers.call_action("package_show", id=dataset["id"])["resources"] == []
        # And the next action starts clean: nothing left over from the failed one.
        resource = factories.Resource(package_id=dataset["id"], url="http://example.com/b.csv")
        assert [(r.resource_id, r.url) for r in _rows(package_id=dataset["id"])] == [
            (resource["id"], "http://example.com/b.csv")
        ]

    def test_seeded_datasets_have_no_publications(self):
        from ckanext.mes_schedule import seed

        seed.seed()
        assert _rows() == []

    def test_private_datasets_are_recorded_too(self):
        org = factories.Organization()
        private = factories.Dataset(owner_org=org["id"], private=True, **legal(7, "annual quarter=1"))
        resource = factories.Resource(package_id=private["id"], url="http://example.com/p.csv")
        assert _kinds(resource_id=resource["id"]) == ["created"]

    def test_the_resource_hook_records_what_the_dataset_hook_did_not(self, dataset):
        context = _sysadmin()
        resource = factories.Resource(package_id=dataset["id"], url="http://example.com/a.csv")
        _wipe_history()
        shown = helpers.call_action("resource_show", id=resource["id"])
        history.record_resource(dict(context), shown)
        assert _kinds(resource_id=resource["id"]) == ["created"]
        history.record_resource(dict(context), shown)  # already recorded: nothing more
        assert len(_rows(resource_id=resource["id"])) == 1
        # A URL changed behind the dataset hook's back (no package_update around it).
        hook_context = dict(context)
        history.remember_before_update(hook_context, shown, {})
        model.Session.get(model.Resource, resource["id"]).url = "http://example.com/b.csv"
        model.repo.commit()
        history.record_resource(hook_context, helpers.call_action("resource_show", id=resource["id"]))
        rows = _rows(resource_id=resource["id"])
        assert [(r.kind, r.url) for r in rows] == [
            ("created", "http://example.com/a.csv"),
            ("url_changed", "http://example.com/b.csv"),
        ]
        assert _fresh_session_rows(resource["id"])[-1] == ("url_changed", "http://example.com/b.csv")


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestThroughTheApi:
    def test_resource_create_and_patch_over_http_are_committed(self, app):
        user = factories.UserWithToken()
        org = factories.Organization(users=[{"name": user["name"], "capacity": "editor"}])
        dataset = factories.Dataset(owner_org=org["id"], **legal(5))
        headers = {"Authorization": user["token"]}
        response = app.post(
            "/api/action/resource_create",
            json={"package_id": dataset["id"], "url": "http://example.com/api.csv"},
            headers=headers,
        )
        assert response.status_code == 200, response.body
        rid = response.json["result"]["id"]
        assert _fresh_session_rows(rid) == [("created", "http://example.com/api.csv")]
        response = app.post(
            "/api/action/resource_patch", json={"id": rid, "description": "metadata only"}, headers=headers
        )
        assert response.status_code == 200
        response = app.post(
            "/api/action/resource_patch", json={"id": rid, "url": "http://example.com/api-2.csv"}, headers=headers
        )
        assert response.status_code == 200
        assert _fresh_session_rows(rid) == [
            ("created", "http://example.com/api.csv"),
            ("url_changed", "http://example.com/api-2.csv"),
        ]
        response = app.post(
            "/api/action/resource_create",
            json={"package_id": dataset["id"], "url": "http://example.com/x.csv", "size": "big"},
            headers=headers,
            status=409,
        )
        assert len(_rows(package_id=dataset["id"])) == 2


def _shift_activities(package_id: str, days: int) -> None:
    """Move the dataset's activity stream into the past (as if the portal had run for a while)."""
    model.Session.execute(
        sa.text("UPDATE activity SET timestamp = timestamp - make_interval(days => :days) WHERE object_id = :id"),
        {"days": days, "id": package_id},
    )
    model.repo.commit()


def _activity_times(package_id: str) -> list[dt.datetime]:
    return [
        t
        for (t,) in model.Session.execute(
            sa.text("SELECT timestamp FROM activity WHERE object_id = :id ORDER BY timestamp"), {"id": package_id}
        )
    ]


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestBackfill:
    """Deliberate change: backfill reads the activity stream (server timestamps), never `created` /
    `last_modified` of the resources."""

    def _portal_without_history(self) -> tuple[dict, dict, dict, dict]:
        context = _sysadmin()
        dataset = factories.Dataset(owner_org=factories.Organization()["id"], **legal(5))
        plain = factories.Resource(package_id=dataset["id"], url="http://example.com/a.csv")
        moved = factories.Resource(package_id=dataset["id"], url="http://example.com/b.csv")
        gone = factories.Resource(package_id=dataset["id"], url="http://example.com/c.csv")
        factories.Resource(package_id=dataset["id"], name="no data yet", url="")
        helpers.call_action("resource_patch", context=dict(context), id=moved["id"], url="http://example.com/b2.csv")
        helpers.call_action("resource_delete", context=dict(context), id=gone["id"])
        # Fields an editor can set say 2016; the server's activity stream says otherwise.
        r = model.resource_table
        model.Session.execute(r.update().values(created=dt.datetime(2016, 3, 1), last_modified=dt.datetime(2016, 3, 2)))
        model.repo.commit()
        _shift_activities(dataset["id"], 400)
        _wipe_history()
        return dataset, plain, moved, gone

    def test_backfill_fills_from_the_activity_stream_and_is_idempotent(self):
        dataset, plain, moved, gone = self._portal_without_history()
        report = history.backfill()
        assert (report.added, report.already_recorded) == (4, 0)
        rows = _rows()
        assert {(r.resource_id, r.url, r.kind, r.level) for r in rows} == {
            (plain["id"], "http://example.com/a.csv", "backfill", "link"),
            (moved["id"], "http://example.com/b.csv", "backfill", "link"),
            (moved["id"], "http://example.com/b2.csv", "backfill", "link"),
            (gone["id"], "http://example.com/c.csv", "backfill", "link"),
        }
        times = set(_activity_times(dataset["id"]))
        assert all(r.published_at in times for r in rows)  # the server's timestamps, not `created`
        assert all(r.published_at.year != 2016 for r in rows)
        assert all(r.reason.startswith("activity ") for r in rows)
        again = history.backfill()
        assert (again.added, again.already_recorded) == (0, 4)
        assert len(_rows()) == 4

    def test_backfill_does_not_double_what_the_hooks_recorded(self):
        dataset = factories.Dataset(owner_org=factories.Organization()["id"], **legal(5))
        resource = factories.Resource(package_id=dataset["id"], url="http://example.com/a.csv")
        report = history.backfill()
        assert report.added == 0
        assert _kinds(resource_id=resource["id"]) == ["created"]

    def test_dry_run_writes_nothing(self):
        self._portal_without_history()
        report = history.backfill(dry_run=True)
        assert report.added == 4
        assert _rows() == []

    def test_command(self, cli):
        dataset, plain, moved, _gone = self._portal_without_history()
        dry = cli.invoke(cli_history.backfill, ["--dry-run"])
        assert dry.exit_code == 0, dry.output
        lines = [line for line in dry.output.splitlines() if line.startswith("would add: ")]
        assert len(lines) == 4
        changed = next(line for line in lines if "b2.csv" in line)
        assert dataset["name"] in changed and moved["id"] in changed and "link" in changed
        assert "activity " in changed and "URL changed" in changed
        assert "4 publications would be added for 1 datasets" in dry.output
        first = cli.invoke(cli_history.backfill, [])
        assert first.exit_code == 0, first.output
        assert "4 publications added" in first.output
        second = cli.invoke(cli_history.backfill, [])
        assert "0 publications added" in second.output and "Nothing to do" in second.output

    def test_command_in_the_ckan_group(self, cli):
        from ckan.cli.cli import ckan

        self._portal_without_history()
        result = cli.invoke(ckan, ["mes-schedule", "backfill"])
        assert result.exit_code == 0, result.output
        assert "4 publications added" in result.output
