"""Mail limits (issue #11, part 8): a dataset's maintainer e-mail holds a few valid addresses at most."""
from __future__ import annotations

from typing import Any

import pytest

import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories
from ckan.tests import helpers

from ckanext.mes_schedule.logic import validators


@pytest.fixture
def publisher(with_plugins, clean_db, clean_index) -> dict[str, Any]:
    user = factories.User()
    org = factories.Organization(users=[{"name": user["name"], "capacity": "editor"}])
    return {"user": user, "org": org, "context": {"user": user["name"], "ignore_auth": False}}


def _create(publisher: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return helpers.call_action(
        "package_create", context=dict(publisher["context"]), name="mail-limits", owner_org=publisher["org"]["id"],
        **fields,
    )


def _errors(error: pytest.ExceptionInfo) -> dict[str, Any]:
    return error.value.error_dict


class TestMaintainerEmails:
    def test_two_valid_addresses_are_accepted(self, publisher):
        dataset = _create(publisher, maintainer_email="a@example.kz, b.person@mes.gov.kz")
        assert dataset["maintainer_email"] == "a@example.kz, b.person@mes.gov.kz"

    @pytest.mark.parametrize("value", ["a@example.kz;b@example.kz", "a@example.kz b@example.kz", " a@example.kz\n"])
    def test_semicolons_and_spaces_separate_too(self, publisher, value):
        assert _create(publisher, maintainer_email=value)["maintainer_email"] == value.strip()

    def test_an_empty_field_is_fine(self, publisher):
        assert not _create(publisher, maintainer_email="")["maintainer_email"]

    def test_two_hundred_addresses_are_refused_naming_the_field_and_the_limit(self, publisher):
        many = ", ".join(f"person{i}@example.kz" for i in range(200))
        with pytest.raises(tk.ValidationError) as error:
            _create(publisher, maintainer_email=many)
        (message,) = _errors(error)["maintainer_email"]
        assert "3" in message and "200" in message

    def test_an_invalid_address_is_refused(self, publisher):
        with pytest.raises(tk.ValidationError) as error:
            _create(publisher, maintainer_email="a@example.kz, not-an-address")
        (message,) = _errors(error)["maintainer_email"]
        assert "not-an-address" in message

    @pytest.mark.parametrize("value", ["someone@localhost", "two@@example.kz", "<a@example.kz>"])
    def test_malformed_addresses_are_refused(self, publisher, value):
        with pytest.raises(tk.ValidationError) as error:
            _create(publisher, maintainer_email=value)
        assert "maintainer_email" in _errors(error)

    def test_package_update_is_checked_too(self, publisher):
        dataset = _create(publisher, maintainer_email="a@example.kz")
        with pytest.raises(tk.ValidationError) as error:
            helpers.call_action(
                "package_update", context=dict(publisher["context"]),
                **{**dataset, "maintainer_email": " ".join(f"p{i}@example.kz" for i in range(200))},
            )
        assert "maintainer_email" in _errors(error)
        updated = helpers.call_action(
            "package_update", context=dict(publisher["context"]),
            **{**dataset, "maintainer_email": "a@example.kz; c@example.kz"},
        )
        assert updated["maintainer_email"] == "a@example.kz; c@example.kz"

    @pytest.mark.ckan_config("ckanext.mes_schedule.max_maintainer_emails", "1")
    def test_the_limit_is_configurable(self, publisher):
        assert _create(publisher, maintainer_email="a@example.kz")["maintainer_email"] == "a@example.kz"
        with pytest.raises(tk.ValidationError) as error:
            helpers.call_action(
                "package_create", context=dict(publisher["context"]), name="second",
                owner_org=publisher["org"]["id"], maintainer_email="a@example.kz, b@example.kz",
            )
        (message,) = _errors(error)["maintainer_email"]
        assert "1" in message


def test_addresses_split_on_commas_semicolons_and_spaces():
    assert validators.split_addresses(" a@x.kz,b@y.kz ;c@z.kz\td@w.kz ") == ["a@x.kz", "b@y.kz", "c@z.kz", "d@w.kz"]
    assert validators.split_addresses("") == []


@pytest.mark.parametrize("address, valid", [
    ("user@example.kz", True), ("first.last+tag@mes.gov.kz", True), ("user@localhost", False),
    ("user@@example.kz", False), ("user@example..kz", False), ("user", False), (".user@example.kz", False),
])
def test_what_counts_as_an_address(address, valid):
    assert validators.is_address(address) is valid
