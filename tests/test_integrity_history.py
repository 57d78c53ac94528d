"""The publication record as an attacker meets it (issue #11, parts 3-5).

The attacker is an editor of the organisation that publishes the dataset: they may patch resources (through the
actions with their user in the context, and through the API with their token) but must not be able to make a
publication out of no new data, back-date one, or edit the record. Sysadmins purge and re-create datasets; the
record belongs to the item of the order and survives them.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
import sqlalchemy as sa

import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers

from ckanext.mes_schedule import history, localization
from ckanext.mes_schedule.cli import history as cli_history
from ckanext.mes_schedule.model import GENESIS, Event, Publication, Reminder, row_hash
from tests.fixtures import legal, staffed_organization

A = "http://example.com/a.csv"
B = "http://example.com/b.csv"


# ------------------------------------------------------------------------------------------------- helpers


def _as(user: dict[str, Any]) -> dict[str, Any]:
    """A context that acts as `user`, with the access checks on (call_action skips them by default)."""
    return {"user": user["name"], "ignore_auth": False}


def _sysadmin() -> dict[str, Any]:
    return {"user": factories.Sysadmin()["name"]}


def _rows(item: int | None = None, **where: Any) -> list[Publication]:
    model.Session.expire_all()
    query = model.Session.query(Publication)
    if item is not None:
        query = query.filter(Publication.item == item)
    for key, value in where.items():
        query = query.filter(getattr(Publication, key) == value)
    return query.order_by(Publication.seq).all()


def _events(item: int) -> list[Event]:
    model.Session.expire_all()
    return model.Session.query(Event).filter(Event.item == item).order_by(Event.seq).all()


def _verify(cli: Any) -> Any:
    return cli.invoke(cli_history.verify_history, [])


@pytest.fixture
def world() -> dict[str, Any]:
    """An organisation with an editor (the attacker) and an admin, and a dataset holding item 5."""
    org, users = staffed_organization("editor", "admin")
    dataset = factories.Dataset(owner_org=org["id"], **legal(5))
    return {"org": org, "editor": users["editor"], "admin": users["admin"], "dataset": dataset}


# ------------------------------------------------------------------------------------------------ evidence


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestEvidence:
    def test_a_url_flipped_back_counts_once(self, world):
        editor, dataset = world["editor"], world["dataset"]
        resource = helpers.call_action("resource_create", context=_as(editor), package_id=dataset["id"], url=A)
        for url in (B, A, B, A):
            helpers.call_action("resource_patch", context=_as(editor), id=resource["id"], url=url)
        rows = _rows(5)
        assert [(r.kind, r.level, r.url) for r in rows] == [("created", "link", A), ("url_changed", "link", B)]
        # The same URL on another resource of the item is not new either.
        helpers.call_action("resource_create", context=_as(editor), package_id=dataset["id"], url=B)
        assert len(_rows(5)) == 2

    def test_a_url_flipped_back_through_the_api_counts_once(self, app, world):
        editor, dataset = world["editor"], world["dataset"]
        headers = {"Authorization": editor["token"]}
        created = app.post(
            "/api/action/resource_create", json={"package_id": dataset["id"], "url": A}, headers=headers
        )
        assert created.status_code == 200, created.body
        rid = created.json["result"]["id"]
        for url in (B, A):
            response = app.post("/api/action/resource_patch", json={"id": rid, "url": url}, headers=headers)
            assert response.status_code == 200, response.body
        assert [r.url for r in _rows(5)] == [A, B]

    def test_an_upload_bump_without_a_file_records_nothing(self, world):
        editor, dataset = world["editor"], world["dataset"]
        link = helpers.call_action("resource_create", context=_as(editor), package_id=dataset["id"], url=A)
        assert len(_rows(5)) == 1
        for day in (1, 2):
            bump = {"url_type": "upload", "url": "fresh.csv", "last_modified": f"2030-01-0{day}T00:00:00"}
            helpers.call_action("resource_patch", context=_as(editor), id=link["id"], **bump)
        assert len(_rows(5)) == 1  # no stored file: no publication

    def test_an_uploaded_file_is_hashed_from_storage_and_a_bump_of_it_records_nothing(
        self, world, create_with_upload
    ):
        editor, dataset = world["editor"], world["dataset"]
        content = b"region,count\nAstana,12\n"
        resource = create_with_upload(content, "data.csv", context=_as(editor), package_id=dataset["id"], url="x")
        (row,) = _rows(5)
        assert (row.kind, row.level, row.url) == ("uploaded", "file", "data.csv")
        assert (row.sha256, row.size) == (hashlib.sha256(content).hexdigest(), len(content))
        assert row.user_id == model.User.get(editor["name"]).id
        helpers.call_action(
            "resource_patch", context=_as(editor), id=resource["id"], last_modified="2030-01-01T00:00:00"
        )
        assert len(_rows(5)) == 1

    def test_the_same_bytes_uploaded_again_count_once(self, world, create_with_upload):
        editor, dataset = world["editor"], world["dataset"]
        resource = create_with_upload(b"a,b\n1,2\n", "data.csv", context=_as(editor), package_id=dataset["id"])
        create_with_upload(b"a,b\n1,2\n", "again.csv", context=_as(editor), action="resource_update", id=resource["id"])
        create_with_upload(b"a,b\n1,2\n", "copy.csv", context=_as(editor), package_id=dataset["id"])
        assert len(_rows(5)) == 1
        create_with_upload(b"a,b\n3,4\n", "data.csv", context=_as(editor), action="resource_update", id=resource["id"])
        assert [r.sha256 for r in _rows(5)] == [
            hashlib.sha256(b"a,b\n1,2\n").hexdigest(),
            hashlib.sha256(b"a,b\n3,4\n").hexdigest(),
        ]

    def test_the_history_page_shows_the_evidence(self, app, world, create_with_upload):
        editor, dataset = world["editor"], world["dataset"]
        create_with_upload(b"a,b\n1,2\n", "data.csv", context=_as(editor), package_id=dataset["id"])
        helpers.call_action("resource_create", context=_as(editor), package_id=dataset["id"], url=A)
        shown = helpers.call_action("mes_schedule_publication_list", id=dataset["id"])
        assert {(p["level"], p["sha256"], p["size"], p["url"]) for p in shown} == {
            ("file", hashlib.sha256(b"a,b\n1,2\n").hexdigest(), 8, "data.csv"),
            ("link", None, None, A),
        }
        body = app.get(f"/dataset/{dataset['name']}/compliance").body
        assert hashlib.sha256(b"a,b\n1,2\n").hexdigest()[:12] in body
        assert "8 bytes" in body and A in body


# ------------------------------------------------------------------------------------------------ backfill


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestBackdating:
    def test_a_back_dated_last_modified_and_backfill_do_not_change_the_status(self, world):
        editor, dataset = world["editor"], world["dataset"]
        before = localization.utcnow() - dt.timedelta(seconds=1)
        resource = helpers.call_action("resource_create", context=_as(editor), package_id=dataset["id"], url=A)
        today = helpers.call_action("mes_schedule_compliance_show", id=dataset["id"])
        # 2016's fourth quarter was missed; the editor claims the data were there in October 2016.
        back_dated = {"last_modified": "2016-10-15T00:00:00", "created": "2016-10-15T00:00:00"}
        helpers.call_action("resource_patch", context=_as(editor), id=resource["id"], **back_dated)
        past = {"id": dataset["id"], "as_of": "2017-02-15"}
        assert helpers.call_action("mes_schedule_compliance_show", **past)["status"] == "never_published"
        assert history.backfill().added == 0
        # Even on a portal whose history is rebuilt from scratch (rows removed outside the application).
        model.Session.execute(Publication.__table__.delete())
        model.repo.commit()
        report = history.backfill()
        assert report.added == 1
        assert all(r.published_at >= before for r in _rows(5))
        assert helpers.call_action("mes_schedule_compliance_show", **past)["status"] == "never_published"
        after = helpers.call_action("mes_schedule_compliance_show", id=dataset["id"])
        assert (after["status"], after["last_published"]) == (today["status"], today["last_published"])


# ----------------------------------------------------------------------------------------------- the chain


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestChain:
    def test_rows_are_chained_per_item(self, world):
        editor, dataset = world["editor"], world["dataset"]
        resource = helpers.call_action("resource_create", context=_as(editor), package_id=dataset["id"], url=A)
        helpers.call_action("resource_patch", context=_as(editor), id=resource["id"], url=B)
        other = factories.Dataset(owner_org=world["org"]["id"], **legal(6, "annual quarter=1"))
        helpers.call_action("resource_create", context=_as(editor), package_id=other["id"], url=A)
        first, second = _rows(5)
        (alone,) = _rows(6)
        assert (first.seq, first.prev_hash) == (1, GENESIS)
        assert (second.seq, second.prev_hash) == (2, first.row_hash)
        assert (alone.seq, alone.prev_hash) == (1, GENESIS)
        for row in (first, second, alone):
            assert row.row_hash == row_hash("mes_schedule_publication", row.__dict__)

    def test_verify_history_detects_a_direct_update_and_passes_once_restored(self, cli, world):
        assert _verify(cli).exit_code == 0  # a fresh portal
        editor, dataset = world["editor"], world["dataset"]
        resource = helpers.call_action("resource_create", context=_as(editor), package_id=dataset["id"], url=A)
        helpers.call_action("resource_patch", context=_as(editor), id=resource["id"], url=B)
        ok = _verify(cli)
        assert ok.exit_code == 0, ok.output
        assert "All history chains hold" in ok.output
        target = _rows(5)[0]
        original = target.published_at
        statement = sa.text("UPDATE mes_schedule_publication SET published_at = :when WHERE id = :id")
        model.Session.execute(statement, {"when": dt.datetime(2016, 10, 15, 9), "id": target.id})
        model.repo.commit()
        broken = _verify(cli)
        assert broken.exit_code != 0
        assert target.id in broken.output and "row_hash" in broken.output
        model.Session.execute(statement, {"when": original, "id": target.id})
        model.repo.commit()
        assert _verify(cli).exit_code == 0

    def test_verify_history_in_the_ckan_group_and_a_removed_row(self, cli, world):
        from ckan.cli.cli import ckan

        editor, dataset = world["editor"], world["dataset"]
        resource = helpers.call_action("resource_create", context=_as(editor), package_id=dataset["id"], url=A)
        helpers.call_action("resource_patch", context=_as(editor), id=resource["id"], url=B)
        assert cli.invoke(ckan, ["mes-schedule", "verify-history"]).exit_code == 0
        first, second = _rows(5)
        model.Session.execute(sa.text("DELETE FROM mes_schedule_publication WHERE id = :id"), {"id": first.id})
        model.repo.commit()
        result = cli.invoke(ckan, ["mes-schedule", "verify-history"])
        assert result.exit_code != 0 and second.id in result.output

    def test_the_application_never_updates_or_deletes_the_record(self, world):
        helpers.call_action("resource_create", context=_sysadmin(), package_id=world["dataset"]["id"], url=A)
        (row,) = _rows(5)
        row.published_at = dt.datetime(2016, 10, 15)
        with pytest.raises(history.AppendOnlyError):
            model.Session.flush()
        model.Session.rollback()
        model.Session.delete(_rows(5)[0])
        with pytest.raises(history.AppendOnlyError):
            model.Session.flush()
        model.Session.rollback()
        with pytest.raises(history.AppendOnlyError):
            model.Session.execute(sa.update(Publication).values(published_at=dt.datetime(2016, 10, 15)))
        with pytest.raises(history.AppendOnlyError):
            model.Session.execute(sa.delete(Event))
        model.Session.rollback()
        assert len(_rows(5)) == 1


# ------------------------------------------------------------------------------------------------- events


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestEventRetraction:
    def test_deleting_an_event_adds_a_superseding_row_and_the_chain_holds(self, cli):
        org, users = staffed_organization("admin")
        admin = users["admin"]
        dataset = factories.Dataset(
            owner_org=org["id"], **legal(30, "event working-days=10 max-per-year=2", "IRREG")
        )
        assert helpers.call_action("mes_schedule_compliance_show", id=dataset["id"])["status"] == "no_deadline"
        event = helpers.call_action(
            "mes_schedule_event_create", context=_as(admin), package_id=dataset["id"], event_date="2025-12-05"
        )
        assert event["item"] == 30
        assert helpers.call_action("mes_schedule_compliance_show", id=dataset["id"])["status"] != "no_deadline"
        result = helpers.call_action(
            "mes_schedule_event_delete", context=_as(admin), id=event["id"], reason="entered with a wrong date"
        )
        assert result is None  # the action's API is unchanged
        original, retraction = _events(30)
        assert (original.id, original.kind, original.event_date) == (event["id"], "event", dt.date(2025, 12, 5))
        assert (retraction.kind, retraction.supersedes, retraction.reason) == (
            "retraction",
            event["id"],
            "entered with a wrong date",
        )
        assert retraction.created_by == model.User.get(admin["name"]).id
        assert retraction.prev_hash == original.row_hash
        assert helpers.call_action("mes_schedule_event_list", package_id=dataset["id"]) == []
        assert helpers.call_action("mes_schedule_compliance_show", id=dataset["id"])["status"] == "no_deadline"
        assert _verify(cli).exit_code == 0
        # Retracted once: not found a second time; the date may be recorded again.
        with pytest.raises(helpers.logic.NotFound):
            helpers.call_action("mes_schedule_event_delete", context=_as(admin), id=event["id"])
        again = helpers.call_action(
            "mes_schedule_event_create", context=_as(admin), package_id=dataset["id"], event_date="2025-12-05"
        )
        assert [e["id"] for e in helpers.call_action("mes_schedule_event_list", package_id=dataset["id"])] == [
            again["id"]
        ]
        assert _verify(cli).exit_code == 0


# -------------------------------------------------------------------------------------------------- purge


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestPurge:
    def _published_then_purged(self, world: dict[str, Any]) -> tuple[str, list[str]]:
        editor, dataset = world["editor"], world["dataset"]
        resource = helpers.call_action("resource_create", context=_as(editor), package_id=dataset["id"], url=A)
        helpers.call_action("resource_patch", context=_as(editor), id=resource["id"], url=B)
        model.Session.add(
            Reminder(package_id=dataset["id"], period_due=dt.date(2026, 12, 31), kind="overdue", recipient="a@b.kz")
        )
        model.repo.commit()
        ids = [r.id for r in _rows(5)]
        helpers.call_action("dataset_purge", context=_sysadmin(), id=dataset["id"])
        return dataset["id"], ids

    def test_purge_keeps_the_record_and_drops_the_reminders(self, world):
        package_id, ids = self._published_then_purged(world)
        assert model.Session.get(model.Package, package_id) is None
        assert [r.id for r in _rows(5)] == ids  # attached to item 5, not orphaned
        assert model.Session.query(Reminder).filter(Reminder.package_id == package_id).count() == 0

    def test_a_dataset_recreated_with_the_purged_id_inherits_nothing(self, world):
        package_id, _ids = self._published_then_purged(world)
        reborn = factories.Dataset(id=package_id, owner_org=world["org"]["id"])
        assert reborn["id"] == package_id
        assert helpers.call_action("mes_schedule_publication_list", id=package_id) == []
        assert helpers.call_action("mes_schedule_event_list", package_id=package_id) == []
        with pytest.raises(helpers.logic.NotFound):
            helpers.call_action("mes_schedule_compliance_show", id=package_id)
        # Given another item, it gets that item's (empty) record, still nothing of item 5.
        helpers.call_action(
            "package_patch", context=_sysadmin(), id=package_id, **legal(6, "annual quarter=1")
        )
        assert helpers.call_action("mes_schedule_publication_list", id=package_id) == []
        assert helpers.call_action("mes_schedule_compliance_show", id=package_id)["last_published"] is None

    def test_the_items_next_dataset_shows_the_old_record(self, world, cli):
        _package_id, ids = self._published_then_purged(world)
        successor = helpers.call_action(
            "package_create", context=_sysadmin(), name="item-5-again", owner_org=world["org"]["id"], **legal(5)
        )
        shown = helpers.call_action("mes_schedule_publication_list", id=successor["id"])
        assert sorted(p["id"] for p in shown) == sorted(ids)
        compliance = helpers.call_action("mes_schedule_compliance_show", id=successor["id"])
        assert compliance["last_published"] is not None
        # And it goes on in the same chain.
        helpers.call_action("resource_create", context=_sysadmin(), package_id=successor["id"], url="http://c.kz/c")
        assert [r.seq for r in _rows(5)] == [1, 2, 3]
        assert _verify(cli).exit_code == 0
