"""The stack is real: PostgreSQL, Redis and Solr answer, and CKAN's core flows work against them."""
from __future__ import annotations

import pytest
import requests

import ckan.lib.search as search
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckan.common import config
from ckan.lib.redis import connect_to_redis


def test_solr_is_a_real_solr_answering_ping():
    url = config["solr_url"].rstrip("/") + "/admin/ping?wt=json"
    assert requests.get(url, timeout=10).json()["status"] == "OK"
    # CKAN checks the schema's version at start; the core carries CKAN's own schema.
    assert search.is_available()


def test_redis_is_real():
    redis = connect_to_redis()
    redis.set("mes_schedule:test", "1")
    assert redis.get("mes_schedule:test") == b"1"


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestCoreFlows:
    def test_dataset_is_created_and_found_by_search(self):
        org = factories.Organization()
        dataset = factories.Dataset(owner_org=org["id"], title="Balabaqshalar tizilimi")
        result = helpers.call_action("package_search", q="Balabaqshalar")
        assert [d["id"] for d in result["results"]] == [dataset["id"]]

    def test_pages_answer_and_show_the_dataset(self, app):
        org = factories.Organization(title="Bilim ministrligi")
        dataset = factories.Dataset(owner_org=org["id"], title="Mektepter tizilimi")
        assert "Mektepter tizilimi" in app.get("/dataset/").body
        assert "Mektepter tizilimi" in app.get(f"/dataset/{dataset['name']}").body
        body = app.get(f"/organization/{org['name']}").body
        assert "Bilim ministrligi" in body and "Mektepter tizilimi" in body

    def test_status_show_lists_the_extension(self, app):
        extensions = app.get("/api/3/action/status_show").json["result"]["extensions"]
        assert "mes_schedule" in extensions
