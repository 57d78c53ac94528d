"""Solr or PostgreSQL unreachable: the compliance pages keep answering from the database, and a page that
cannot answer says 503 with a clear message instead of 500. (The API keeps CKAN's own answers: its action
view turns every exception into a JSON error itself.)"""
from __future__ import annotations

import pytest
from sqlalchemy import exc as sa_exc

import ckan.tests.factories as factories

from tests.fixtures import legal

# Nothing listens on port 9 (discard) here: every Solr request is refused, as when Solr is stopped.
DEAD_SOLR = "http://127.0.0.1:9/solr/ckan"


def _scheduled_dataset() -> dict:
    org = factories.Organization(name="mes-rk-errors")
    return factories.Dataset(owner_org=org["id"], **legal(5))


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestSolrDown:
    def test_compliance_pages_actions_and_badges_do_not_need_solr(self, app, monkeypatch, ckan_config):
        dataset = _scheduled_dataset()
        monkeypatch.setitem(ckan_config, "solr_url", DEAD_SOLR)
        assert app.get("/compliance").status_code == 200
        assert app.get("/organization/compliance/mes-rk-errors").status_code == 200
        assert app.get("/compliance.csv").status_code == 200
        assert app.get(f"/dataset/{dataset['name']}/compliance.svg").status_code == 200
        result = app.get("/api/3/action/mes_schedule_compliance_list").json["result"]
        assert result["count"] == 1

    def test_an_uncaught_solr_failure_is_503_with_a_message_never_500(self, app, monkeypatch, ckan_config):
        # The organisation's own page asks Solr for its datasets and does not catch the failure itself.
        _scheduled_dataset()
        monkeypatch.setitem(ckan_config, "solr_url", DEAD_SOLR)
        page = app.get("/organization/mes-rk-errors")
        # CKAN 2.11's organisation page catches the failure itself and shows an empty list; 2.12's does not.
        assert page.status_code in (200, 503)
        if page.status_code == 503:
            assert "Search is temporarily unavailable" in page.body
            assert page.headers["Retry-After"]


@pytest.mark.usefixtures("with_plugins", "clean_db")
def test_a_lost_database_connection_is_503_not_500(app, monkeypatch):
    from ckanext.mes_schedule.logic import action

    def refused(*args, **kwargs):
        raise sa_exc.OperationalError("select 1", {}, Exception("connection refused"))

    monkeypatch.setattr(action.compliance, "assess_datasets", refused)
    page = app.get("/compliance", status=503)
    assert "database is temporarily unavailable" in page.body
