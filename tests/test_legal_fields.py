"""The legal fields belong to the act, not to the publisher (issue #11, part 1).

Tried as an attacker would: an editor of the ministry's organisation (`mes-rk`), a member of it, a plain registered
user with an organisation of their own, the admin of another organisation. Each calls the actions with their own
user and no `ignore_auth`, or goes through the API and the dataset form with their token; every attempt is refused
and leaves the public record (`/compliance`) as it was. Only a sysadmin (and the seed, which runs as the site user)
sets the act's fields, and then only to an item of the order that no other active dataset holds.
"""
from __future__ import annotations

from typing import Any, Optional

import pytest
from bs4 import BeautifulSoup

import ckan.model as model
import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers

from ckanext.mes_schedule.logic.validators import ACT_FIELDS
from tests.fixtures import legal, staffed_organization

ANNUAL = "http://publications.europa.eu/resource/authority/frequency/ANNUAL"
QUARTERLY = "http://publications.europa.eu/resource/authority/frequency/QUARTERLY"
SET_BY_ACT = "Set by the act; only a system administrator can change it"
SET_BY_ACT_RU = "Установлено правовым актом; изменить может только системный администратор"


def _as(user: dict[str, Any]) -> dict[str, Any]:
    """The context of a request by `user`: their name, and authorisation checked."""
    return {"user": user["name"], "ignore_auth": False}


def _headers(user: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": user["token"]}


def _soup(body: str) -> BeautifulSoup:
    return BeautifulSoup(body, "html.parser")


def _stored(name: str) -> dict[str, Any]:
    model.Session.expire_all()
    shown = helpers.call_action("package_show", id=name)
    return {field: shown.get(field) for field in (*ACT_FIELDS, "title", "notes")}


def _summary(app) -> dict[str, str]:
    """The counts per status and the total of the public compliance page, as an anonymous visitor sees them."""
    soup = _soup(app.get("/compliance").body)
    summary = {a["data-status"]: a.select_one(".mes-count").get_text() for a in soup.select("a[data-status]")}
    summary["all"] = soup.select_one("a.mes-status-all .mes-count").get_text()
    return summary


def _package_count() -> int:
    return model.Session.query(model.Package).count()


@pytest.fixture
def world(clean_db, clean_index, with_plugins) -> dict[str, Any]:
    sysadmin = factories.SysadminWithToken()
    org, staff = staffed_organization("admin", "editor", "member", prefix="mes", name="mes-rk", title="Министрлік")
    other_org, others = staffed_organization("admin", prefix="akimat", name="akimat", title="Әкімдік")
    own_org, own = staffed_organization("admin", prefix="plain", name="own-org", title="Own")
    # Created as the site user (a sysadmin), as `seed` does.
    never = factories.Dataset(owner_org=org["id"], name="item-48", title="Item 48", **legal(48))
    held = factories.Dataset(owner_org=org["id"], name="item-10", title="Item ten", **legal(10))
    elsewhere = factories.Dataset(
        owner_org=other_org["id"], name="akimat-11", title="Akimat 11", **legal(11, "quarterly day=10", "QUARTERLY")
    )
    return {
        "sysadmin": sysadmin, "editor": staff["editor"], "member": staff["member"], "admin": staff["admin"],
        "other_admin": others["admin"], "plain": own["admin"], "org": org, "other_org": other_org,
        "own_org": own_org, "never": never, "held": held, "elsewhere": elsewhere,
    }


# ---------------------------------------------------------------------------------------------- actions

CHANGES = [
    ("mes_schedule_rule", "as-established"),
    ("mes_schedule_item", 60),
    ("mes_schedule_item", ""),
    ("mes_schedule_frequency", QUARTERLY),
    ("mes_schedule_deadline_kk", "мерзімсіз"),
    ("mes_schedule_act_number", "121"),
    ("mes_schedule_act_date", "2020-01-01"),
    ("mes_schedule_act_registration", "1"),
]


class TestPublishersCannotBendTheAct:
    @pytest.mark.parametrize("field, value", CHANGES)
    def test_an_editor_cannot_patch_a_legal_field(self, app, world, field, value):
        before, summary = _stored("item-48"), _summary(app)
        with pytest.raises(tk.ValidationError) as err:
            helpers.call_action("package_patch", context=_as(world["editor"]), id="item-48",
                                title="Changed too", **{field: value})
        assert list(err.value.error_dict) == [field]
        assert err.value.error_dict[field][0] == SET_BY_ACT
        # Nothing of the request was written: neither the field nor the title that came with it.
        assert _stored("item-48") == before
        assert _summary(app) == summary

    @pytest.mark.parametrize(
        "who, name, rule, frequency, stored_rule",
        [
            # An editor changing both at once is refused for both.
            ("editor", "item-48", "quarterly day=10", QUARTERLY, "annual quarter=4"),
            # The admin of another organisation cannot change their own scheduled dataset.
            ("other_admin", "akimat-11", "annual quarter=4", ANNUAL, "quarterly day=10"),
        ],
        ids=["rule-and-frequency-together", "admin-of-another-organisation-on-their-own-dataset"],
    )
    def test_a_rule_and_frequency_change_is_refused_for_both(self, app, world, who, name, rule, frequency, stored_rule):
        summary = _summary(app)
        with pytest.raises(tk.ValidationError) as err:
            helpers.call_action("package_patch", context=_as(world[who]), id=name,
                                mes_schedule_rule=rule, mes_schedule_frequency=frequency)
        assert set(err.value.error_dict) == {"mes_schedule_rule", "mes_schedule_frequency"}
        assert _stored(name)["mes_schedule_rule"] == stored_rule
        assert _summary(app) == summary

    def test_an_editor_may_change_everything_else(self, world):
        helpers.call_action("package_patch", context=_as(world["editor"]), id="item-48", title="Жаңа атау")
        stored = _stored("item-48")
        assert stored["title"] == "Жаңа атау"
        assert (stored["mes_schedule_item"], stored["mes_schedule_rule"]) == (48, "annual quarter=4")

    def test_sending_back_the_stored_values_is_no_change(self, world):
        # What the form and `resource_create` do: the whole dataset, legal fields as shown, the rule not canonical.
        shown = helpers.call_action("package_show", id="item-48")
        shown.update(notes="Жаңа сипаттама", mes_schedule_item=str(shown["mes_schedule_item"]),
                     mes_schedule_rule="  ANNUAL   quarter = 4 ", mes_schedule_act_date="2016-01-29T00:00:00")
        helpers.call_action("package_update", context=_as(world["editor"]), **shown)
        helpers.call_action("resource_create", context=_as(world["editor"]), package_id="item-48",
                            url="http://example.com/data.csv")
        stored = _stored("item-48")
        assert stored["notes"] == "Жаңа сипаттама"
        assert stored["mes_schedule_rule"] == "annual quarter=4"

    def test_leaving_the_legal_fields_out_of_an_update_is_refused(self, app, world):
        summary = _summary(app)
        shown = helpers.call_action("package_show", id="item-48")
        for field in ACT_FIELDS:
            shown.pop(field, None)
        with pytest.raises(tk.ValidationError) as err:
            helpers.call_action("package_update", context=_as(world["editor"]), **shown)
        # Each field the update would delete is named.
        assert {f for f in ACT_FIELDS if f in err.value.error_dict} == set(ACT_FIELDS)
        assert _stored("item-48")["mes_schedule_item"] == 48
        assert _summary(app) == summary

    def test_a_member_and_the_admin_of_another_organisation_are_not_authorised(self, app, world):
        summary = _summary(app)
        for user in (world["member"], world["other_admin"], world["plain"]):
            with pytest.raises(tk.NotAuthorized):
                helpers.call_action("package_patch", context=_as(user), id="item-48",
                                    mes_schedule_rule="as-established")
        assert _stored("item-48")["mes_schedule_rule"] == "annual quarter=4"
        assert _summary(app) == summary

    @pytest.mark.parametrize("who, org", [("plain", "own_org"), ("editor", "org"), ("other_admin", "other_org")])
    def test_a_publisher_cannot_create_a_dataset_holding_an_item(self, app, world, who, org):
        summary, count = _summary(app), _package_count()
        with pytest.raises(tk.ValidationError) as err:
            helpers.call_action("package_create", context=_as(world[who]), name="mine", title="Mine",
                                owner_org=world[org]["id"], **legal(60))
        assert err.value.error_dict["mes_schedule_item"] == [SET_BY_ACT]
        assert set(err.value.error_dict) <= set(ACT_FIELDS)
        assert _package_count() == count
        assert _summary(app) == summary

    def test_a_publisher_creates_an_ordinary_dataset_as_before(self, app, world):
        summary = _summary(app)
        created = helpers.call_action("package_create", context=_as(world["plain"]), name="mine", title="Mine",
                                      owner_org=world["own_org"]["id"])
        assert created["name"] == "mine"
        assert _summary(app) == summary

    def test_ignore_auth_does_not_open_the_act(self, world):
        # `ignore_auth` skips authorisation, as CKAN's internal calls do; the act's fields stay a sysadmin's.
        context = {"user": world["editor"]["name"], "ignore_auth": True}
        with pytest.raises(tk.ValidationError) as err:
            helpers.call_action("package_patch", context=context, id="item-48", mes_schedule_rule="as-established")
        assert "mes_schedule_rule" in err.value.error_dict

    def test_the_api_refuses_with_a_409_naming_the_field_in_the_ui_language(self, app, world):
        summary = _summary(app)
        for prefix, message in (("", SET_BY_ACT), ("/ru", SET_BY_ACT_RU)):
            response = app.post(f"{prefix}/api/3/action/package_patch", headers=_headers(world["editor"]),
                                json={"id": "item-48", "mes_schedule_rule": "as-established"}, status=409)
            error = response.json["error"]
            assert error["__type"] == "Validation Error"
            assert error["mes_schedule_rule"] == [message]
        plain = world["plain"]
        app.post("/api/3/action/package_create", headers=_headers(plain), status=409,
                 json={"name": "mine", "owner_org": world["own_org"]["id"], **legal(60)})
        assert model.Package.get("mine") is None
        assert _stored("item-48")["mes_schedule_rule"] == "annual quarter=4"
        assert _summary(app) == summary


# ---------------------------------------------------------------------------------------------- sysadmin


class TestTheSysadminSetsTheAct:
    def test_a_sysadmin_changes_the_rule(self, world):
        helpers.call_action("package_patch", context=_as(world["sysadmin"]), id="item-48",
                            mes_schedule_rule="quarterly day=10", mes_schedule_frequency=QUARTERLY)
        stored = _stored("item-48")
        assert (stored["mes_schedule_rule"], stored["mes_schedule_frequency"]) == ("quarterly day=10", QUARTERLY)

    def test_an_item_the_order_does_not_list_is_refused(self, world):
        count = _package_count()
        with pytest.raises(tk.ValidationError) as err:
            helpers.call_action("package_create", context=_as(world["sysadmin"]), name="nine-o-one", title="901",
                                owner_org=world["org"]["id"], **legal(901))
        assert err.value.error_dict["mes_schedule_item"] == ["Order No. 120 has no item 901"]
        assert _package_count() == count
        with pytest.raises(tk.ValidationError):
            helpers.call_action("package_patch", context=_as(world["sysadmin"]), id="item-48", mes_schedule_item=901)
        assert _stored("item-48")["mes_schedule_item"] == 48

    @pytest.mark.parametrize("org", ["org", "other_org"])
    def test_an_item_is_held_by_one_active_dataset_portal_wide(self, app, world, org):
        summary, count = _summary(app), _package_count()
        with pytest.raises(tk.ValidationError) as err:
            helpers.call_action("package_create", context=_as(world["sysadmin"]), name="second-10",
                                title="Second 10", owner_org=world[org]["id"], **legal(10))
        (message,) = err.value.error_dict["mes_schedule_item"]
        assert message == 'Item 10 is already held by the dataset "Item ten" (item-10)'
        assert _package_count() == count
        # Nor can another dataset take it over by an update.
        with pytest.raises(tk.ValidationError) as err:
            helpers.call_action("package_patch", context=_as(world["sysadmin"]), id="akimat-11", mes_schedule_item=10,
                                mes_schedule_rule="annual quarter=4", mes_schedule_frequency=ANNUAL)
        assert "item-10" in err.value.error_dict["mes_schedule_item"][0]
        assert _summary(app) == summary

    def test_an_item_freed_by_deletion_can_be_given_again(self, world):
        helpers.call_action("package_delete", context=_as(world["sysadmin"]), id="item-10")
        created = helpers.call_action("package_create", context=_as(world["sysadmin"]), name="new-10", title="New 10",
                                      owner_org=world["org"]["id"], **legal(10))
        assert str(created["mes_schedule_item"]) == "10"
        # The deleted one cannot come back beside it.
        with pytest.raises(tk.ValidationError) as err:
            helpers.call_action("package_patch", context=_as(world["sysadmin"]), id="item-10", state="active")
        assert "new-10" in err.value.error_dict["mes_schedule_item"][0]

    def test_a_dataset_keeps_its_own_item_through_updates(self, world):
        helpers.call_action("package_patch", context=_as(world["sysadmin"]), id="item-10", title="Item 10 again")
        assert _stored("item-10")["title"] == "Item 10 again"


# ---------------------------------------------------------------------------------------------- the form


def _form_fields(body: str) -> dict[str, str]:
    """What a browser would post from the dataset form as shown."""
    form = _soup(body).select_one("form#dataset-edit")
    assert form is not None, "no dataset form"
    fields: dict[str, str] = {}
    for element in form.select("input[name], textarea[name], select[name]"):
        name = element["name"]
        if element.name == "textarea":
            fields[name] = element.get_text()
        elif element.name == "select":
            selected = element.select_one("option[selected]")
            fields[name] = selected["value"] if selected else ""
        elif element.get("type") in ("checkbox", "radio"):
            if element.has_attr("checked"):
                fields[name] = element.get("value", "on")
        elif element.get("type") != "submit":
            fields[name] = element.get("value", "")
    fields["save"] = ""
    return fields


def _control(soup: BeautifulSoup, field: str) -> Optional[Any]:
    """The control a user types into for `field` (not a hidden input)."""
    return soup.select_one(f"#field-{field}")


class TestTheForm:
    def test_an_editor_sees_the_legal_fields_read_only(self, app, world):
        body = app.get("/dataset/edit/item-48", headers=_headers(world["editor"])).body
        soup = _soup(body)
        for field in ACT_FIELDS:
            control = _control(soup, field)
            assert control is not None, field
            assert control.has_attr("readonly") and not control.has_attr("name"), field
            # The stored value is shown and posted back as it is.
            (posted,) = soup.select(f"[name={field}]")
            assert posted["type"] == "hidden"
            assert posted["value"] == str(legal(48)[field]), field
            note = soup.select_one(f"#field-{field}-set-by-act")
            assert note is not None and SET_BY_ACT in note.get_text(), field
        assert _control(soup, "mes_schedule_frequency")["value"] == "Annual"
        # The publisher's own fields stay editable.
        assert not _control(soup, "title").has_attr("readonly")

    def test_a_sysadmin_edits_them(self, app, world):
        soup = _soup(app.get("/dataset/edit/item-48", headers=_headers(world["sysadmin"])).body)
        assert _control(soup, "mes_schedule_rule")["value"] == "annual quarter=4"
        assert soup.select_one("select#field-mes_schedule_frequency") is not None
        for field in ACT_FIELDS:
            control = _control(soup, field)
            assert control is not None and control.get("name") == field, field
            assert not control.has_attr("readonly"), field
        assert SET_BY_ACT not in soup.get_text()

    def test_the_new_dataset_form_of_a_plain_user_offers_no_legal_field(self, app, world):
        soup = _soup(app.get("/dataset/new", headers=_headers(world["plain"])).body)
        assert _control(soup, "mes_schedule_item").has_attr("readonly")
        assert soup.select_one("[name=mes_schedule_item]")["type"] == "hidden"

    def test_an_editors_post_changing_the_rule_is_reshown_with_the_error_and_their_other_changes(self, app, world):
        summary = _summary(app)
        headers = _headers(world["editor"])
        fields = _form_fields(app.get("/dataset/edit/item-48", headers=headers).body)
        assert fields["mes_schedule_rule"] == "annual quarter=4"
        fields.update(mes_schedule_rule="as-established", notes="Редактордың жаңа сипаттамасы", title="Жаңа атау")
        response = app.post("/dataset/edit/item-48", headers=headers, data=fields, follow_redirects=False)
        assert response.status_code == 200
        soup = _soup(response.body)
        assert SET_BY_ACT in soup.select_one(".error-explanation, .alert-error, .alert-danger").get_text()
        assert SET_BY_ACT in soup.select_one("#field-mes_schedule_rule").find_parent(class_="form-group").get_text()
        # The editor's other changes are still in the form, to be saved once the rule is left alone.
        reshown = _form_fields(response.body)
        assert reshown["notes"] == "Редактордың жаңа сипаттамасы"
        assert reshown["title"] == "Жаңа атау"
        assert _stored("item-48")["mes_schedule_rule"] == "annual quarter=4"
        assert _stored("item-48")["notes"] != "Редактордың жаңа сипаттамасы"
        assert _summary(app) == summary
        # Saving the form as shown (the rule posted back unchanged) keeps the rest.
        fields.update(mes_schedule_rule="annual quarter=4")
        response = app.post("/dataset/edit/item-48", headers=headers, data=fields, follow_redirects=False)
        assert response.status_code == 302, response.body
        stored = _stored("item-48")
        assert (stored["notes"], stored["title"]) == ("Редактордың жаңа сипаттамасы", "Жаңа атау")
        assert stored["mes_schedule_rule"] == "annual quarter=4"
        assert _summary(app) == summary
