"""Who may do what: private datasets never leak; only organisation admins (and sysadmins) manage events."""
from __future__ import annotations

import pytest

import ckan.model as model
import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers

from tests.fixtures import events_in_force, legal, staffed_organization

AS_OF = "2026-01-10"
EVENT_RULE = "event working-days=10 max-per-year=2"

ROLES = ("anonymous", "other_org_admin", "member", "editor", "admin", "sysadmin")
# Who sees the organisation's private datasets, and who manages their events.
READERS = {"member", "editor", "admin", "sysadmin"}
EVENT_MANAGERS = {"admin", "sysadmin"}


@pytest.fixture
def world():
    org, users = staffed_organization("member", "editor", "admin")
    users["other_org_admin"] = staffed_organization("admin")[1]["admin"]  # a user with an organisation of their own
    users["sysadmin"] = factories.SysadminWithToken()
    private = factories.Dataset(
        owner_org=org["id"], private=True, name="private-item-30", **legal(30, EVENT_RULE, "IRREG")
    )
    public = factories.Dataset(owner_org=org["id"], name="public-item-31", **legal(31, EVENT_RULE, "IRREG"))
    sysadmin = {"user": users["sysadmin"]["name"]}
    event = helpers.call_action(
        "mes_schedule_event_create", context=dict(sysadmin), package_id=private["id"], event_date="2025-12-05"
    )
    return {"users": users, "org": org, "private": private, "public": public, "event": event}


def _user(world: dict, role: str) -> str:
    return "" if role == "anonymous" else world["users"][role]["name"]


def _allowed(world: dict, role: str, auth: str, **data) -> bool:
    try:
        helpers.call_auth(auth, context={"user": _user(world, role), "model": model}, **data)
    except tk.NotAuthorized:
        return False
    return True


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestRoleMatrix:
    @pytest.mark.parametrize("role", ROLES)
    def test_compliance_list_shows_private_datasets_to_readers_only(self, world, role):
        assert _allowed(world, role, "mes_schedule_compliance_list")
        result = helpers.call_action(
            "mes_schedule_compliance_list", context={"user": _user(world, role)}, as_of=AS_OF
        )
        names = {row["name"] for row in result["results"]}
        assert "public-item-31" in names
        assert ("private-item-30" in names) == (role in READERS)
        # The summary counts only what the user may see, too.
        assert result["summary"]["total"] == (2 if role in READERS else 1)

    @pytest.mark.parametrize("role", ROLES)
    @pytest.mark.parametrize(
        "auth, key",
        [
            ("mes_schedule_compliance_show", "id"),
            ("mes_schedule_publication_list", "id"),
            ("mes_schedule_event_list", "package_id"),
        ],
    )
    def test_reads_of_one_private_dataset(self, world, role, auth, key):
        assert _allowed(world, role, auth, **{key: world["private"]["id"]}) == (role in READERS)
        assert _allowed(world, role, auth, **{key: world["private"]["name"]}) == (role in READERS)
        assert _allowed(world, role, auth, **{key: world["public"]["id"]})

    @pytest.mark.parametrize("role", ROLES)
    def test_event_create_and_delete(self, world, role):
        allowed = role in EVENT_MANAGERS
        assert _allowed(world, role, "mes_schedule_event_create", package_id=world["private"]["id"]) == allowed
        assert _allowed(world, role, "mes_schedule_event_create", package_id=world["public"]["id"]) == allowed
        assert _allowed(world, role, "mes_schedule_event_delete", id=world["event"]["id"]) == allowed

    def test_missing_or_unknown_ids_are_refused_not_crashing(self, world):
        for auth, data in [
            ("mes_schedule_compliance_show", {}),
            ("mes_schedule_compliance_show", {"id": "nope"}),
            ("mes_schedule_event_list", {"package_id": ["a", "list"]}),
            ("mes_schedule_event_create", {"package_id": "nope"}),
            ("mes_schedule_event_delete", {"id": "nope"}),
        ]:
            assert not _allowed(world, "admin", auth, **data)

    @pytest.mark.ckan_config("ckan.auth.create_unowned_dataset", True)
    def test_a_dataset_without_organisation_has_events_managed_by_sysadmins_only(self, world):
        unowned = factories.Dataset(name="unowned-item-32", **legal(32, EVENT_RULE, "IRREG"))
        assert not unowned.get("owner_org")
        assert not _allowed(world, "admin", "mes_schedule_event_create", package_id=unowned["id"])
        assert _allowed(world, "sysadmin", "mes_schedule_event_create", package_id=unowned["id"])


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestOverHttp:
    """The actions check access themselves (the auth functions are not just registered)."""

    def _headers(self, world: dict, role: str) -> dict:
        return {} if role == "anonymous" else {"Authorization": world["users"][role]["token"]}

    @pytest.mark.parametrize("role", ROLES)
    def test_show_of_a_private_dataset(self, app, world, role):
        expected = 200 if role in READERS else 403
        for action, key in [
            ("mes_schedule_compliance_show", "id"),
            ("mes_schedule_publication_list", "id"),
            ("mes_schedule_event_list", "package_id"),
        ]:
            response = app.get(
                f"/api/action/{action}",
                query_string={key: world["private"]["name"], "as_of": AS_OF} if key == "id" and "show" in action
                else {key: world["private"]["name"]},
                headers=self._headers(world, role),
                status=expected,
            )
            if expected == 200:
                assert response.json["success"] is True

    @pytest.mark.parametrize("role", ROLES)
    def test_list_over_http(self, app, world, role):
        response = app.get(
            "/api/action/mes_schedule_compliance_list",
            query_string={"as_of": AS_OF},
            headers=self._headers(world, role),
        )
        names = {row["name"] for row in response.json["result"]["results"]}
        assert ("private-item-30" in names) == (role in READERS)

    @pytest.mark.parametrize("role", ROLES)
    def test_event_create_and_delete(self, app, world, role):
        allowed = role in EVENT_MANAGERS
        created = app.post(
            "/api/action/mes_schedule_event_create",
            json={"package_id": world["private"]["id"], "event_date": "2025-04-28", "note": role},
            headers=self._headers(world, role),
            status=200 if allowed else 403,
        )
        app.post(
            "/api/action/mes_schedule_event_delete",
            json={"id": world["event"]["id"]},
            headers=self._headers(world, role),
            status=200 if allowed else 403,
        )
        # Those who may not act are told so whatever their input.
        app.post(
            "/api/action/mes_schedule_event_create",
            json={"package_id": world["private"]["id"], "event_date": "not a date"},
            headers=self._headers(world, role),
            status=409 if allowed else 403,
        )
        model.Session.expire_all()
        remaining = {e.event_date.isoformat() for e in events_in_force()}
        assert remaining == ({"2025-04-28"} if allowed else {"2025-12-05"})
        if allowed:
            assert created.json["result"]["note"] == role
