"""Complete downloads (every matching row, whatever the page, streamed; name, address and organisation columns),
the CLI's export byte for byte the same, and conditional requests (RFC 9110) on downloads and badges."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from email.utils import format_datetime, parsedate_to_datetime

import pytest

import ckan.model as model
import ckan.tests.factories as factories
from ckan.cli.cli import ckan
from ckan.common import config

from ckanext.mes_schedule import exports, localization
from tests.fixtures import legal, publish, staffed_organization

AS_OF = "2026-02-15"
ITEMS = range(5, 62)  # every item of the order: one dataset each
PRIVATE_ITEM = 61


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.fixture
def portal(clean_db, clean_index, with_plugins):
    """The 57 items of the order on two organisations' datasets; item 61's is private to the ministry."""
    sysadmin = factories.Sysadmin()
    ministry, users = staffed_organization("member", name="mes-rk", title="Ministry")
    other = factories.Organization(name="akimat", title="Akimat")
    for item in ITEMS:
        org = other if item % 10 == 0 else ministry
        title = "=SUM(1+1)" if item == 7 else f"Data {item}"
        factories.Dataset(
            user=sysadmin, owner_org=org["id"], name=f"data-{item}", title=title, title_en=title,
            private=item == PRIVATE_ITEM, **legal(item),
        )
    return {"member": users["member"], "sysadmin": sysadmin}


@pytest.mark.ckan_config("ckanext.mes_schedule.page_size", 10)
class TestCompleteExports:
    def test_every_row_whatever_the_page_with_name_url_and_organization(self, app, portal):
        page = app.get("/compliance", query_string={"as_of": AS_OF})
        assert page.status_code == 200  # the page itself still shows 10 rows a page
        response = app.get("/compliance.csv", query_string={"as_of": AS_OF, "page": "3"})
        assert response.status_code == 200
        rows = _csv(response.bytes)
        header, body = rows[0], rows[1:]
        assert header[-3:] == ["Dataset name", "Dataset URL", "Organization"]
        assert len(body) == len(ITEMS) - 1  # anonymous: no private row
        assert [row[0] for row in body] == [str(i) for i in ITEMS if i != PRIVATE_ITEM]
        by_name = {row[8]: row for row in body}
        assert by_name["data-10"][9] == "http://test.ckan.net/dataset/data-10"
        assert by_name["data-10"][10] == "Akimat" and by_name["data-5"][10] == "Ministry"
        assert by_name["data-7"][1] == "'=SUM(1+1)"  # formula protection

        data = app.get("/compliance.json", query_string={"as_of": AS_OF}).json
        assert data["count"] == len(data["results"]) == len(ITEMS) - 1
        assert data["summary"]["total"] == len(ITEMS) - 1
        assert [r["name"] for r in data["results"]] == [row[8] for row in body]
        assert all(r["url"] == f"http://test.ckan.net/dataset/{r['name']}" for r in data["results"])
        assert {r["organization"] for r in data["results"]} == {"mes-rk", "akimat"}

        # Filters hold for the whole download; the organisation's tab downloads only its rows.
        overdue = app.get("/compliance.json", query_string={"as_of": AS_OF, "organization": "akimat"}).json
        assert [r["name"] for r in overdue["results"]] == [f"data-{i}" for i in ITEMS if i % 10 == 0]
        tab = _csv(app.get("/organization/compliance/mes-rk.csv", query_string={"as_of": AS_OF}).bytes)
        assert len(tab) - 1 == len([i for i in ITEMS if i % 10 and i != PRIVATE_ITEM])

        # Private rows only for those who may see them.
        token = {"Authorization": portal["member"]["token"]}
        rows = _csv(app.get("/compliance.csv", query_string={"as_of": AS_OF}, headers=token).bytes)[1:]
        assert len(rows) == len(ITEMS) and f"data-{PRIVATE_ITEM}" in [row[8] for row in rows]
        data = app.get("/organization/compliance/mes-rk.json", query_string={"as_of": AS_OF}, headers=token).json
        assert f"data-{PRIVATE_ITEM}" in [r["name"] for r in data["results"]]
        assert data["count"] == len(data["results"])
        anonymous = app.get("/organization/compliance/mes-rk.json", query_string={"as_of": AS_OF}).json
        assert f"data-{PRIVATE_ITEM}" not in [r["name"] for r in anonymous["results"]]

        self._conditional_export(app, portal)

    def test_cli_writes_the_web_download_byte_for_byte(self, app, cli, portal):
        for lang in ("kk", "ru", "en"):
            query = {"as_of": AS_OF, "lang": lang, "sort": "-title", "status": "never_published,overdue"}
            for fmt in ("csv", "json"):
                web = app.get(f"/compliance.{fmt}", query_string=query)
                assert web.status_code == 200
                result = cli.invoke(ckan, [
                    "mes-schedule", "compliance", "--format", fmt, "--lang", lang, "--as-of", AS_OF,
                    "--sort", "-title", "--status", "never_published,overdue",
                ])
                assert result.exit_code == 0, result.output
                assert result.stdout_bytes == web.bytes, (lang, fmt)
        # As a user, with the private row; by default, the portal's language.
        member = portal["member"]
        web = app.get("/compliance.csv", query_string={"as_of": AS_OF, "lang": "ru"},
                      headers={"Authorization": member["token"]}).bytes
        result = cli.invoke(ckan, ["mes-schedule", "compliance", "--as-of", AS_OF, "--lang", "ru", "--user",
                                   member["name"]])
        assert result.stdout_bytes == web and f"data-{PRIVATE_ITEM}".encode() in web
        result = cli.invoke(ckan, ["mes-schedule", "compliance", "--as-of", AS_OF])
        assert result.exit_code == 0, result.output
        default = localization.reduce_lang(config.get("ckan.locale_default"))
        assert result.stdout_bytes == app.get("/compliance.csv", query_string={"as_of": AS_OF, "lang": default}).bytes
        bad = cli.invoke(ckan, ["mes-schedule", "compliance", "--status", "bogus"])
        assert bad.exit_code == 2 and "--status" in bad.output

    @staticmethod
    def _conditional_export(app, portal):
        first = app.get("/compliance.csv", query_string={"as_of": AS_OF})
        etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
        again = app.get("/compliance.csv", query_string={"as_of": AS_OF}, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.bytes == b"" and again.headers["ETag"] == etag
        weak = app.get("/compliance.csv", query_string={"as_of": AS_OF}, headers={"If-None-Match": "W/" + etag})
        assert weak.status_code == 304
        since = app.get("/compliance.csv", query_string={"as_of": AS_OF}, headers={"If-Modified-Since": last_modified})
        assert since.status_code == 304
        # Another format, filter, language or viewer is another representation.
        assert app.get("/compliance.json", query_string={"as_of": AS_OF}).headers["ETag"] != etag
        assert app.get("/compliance.csv", query_string={"as_of": AS_OF, "lang": "ru"}).headers["ETag"] != etag
        member = app.get("/compliance.csv", query_string={"as_of": AS_OF}, headers={
            "Authorization": portal["member"]["token"], "If-None-Match": etag})
        assert member.status_code == 200 and member.headers["ETag"] != etag
        # A change to the data is a new ETag, so the old copy is refetched.
        publish(_package_id("data-5"), "2026-01-10")
        changed = app.get("/compliance.csv", query_string={"as_of": AS_OF}, headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["ETag"] != etag


def _package_id(name: str) -> str:
    return model.Package.get(name).id


@pytest.mark.usefixtures("clean_db", "clean_index", "with_plugins")
class TestConditionalBadge:
    def test_weak_star_and_if_modified_since(self, app):
        org = factories.Organization()
        factories.Dataset(owner_org=org["id"], name="register", **legal(5))
        url = "/dataset/register/compliance.svg"
        first = app.get(url, query_string={"as_of": AS_OF})
        etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert first.headers["Cache-Control"] == "public, no-cache"
        assert parsedate_to_datetime(last_modified) <= dt.datetime.now(dt.timezone.utc)
        for header in ({"If-None-Match": "W/" + etag}, {"If-None-Match": "*"}, {"If-None-Match": f'"x", W/{etag}'},
                       {"If-Modified-Since": last_modified}):
            response = app.get(url, query_string={"as_of": AS_OF}, headers=header)
            assert response.status_code == 304, header
            assert response.bytes == b"" and response.headers["ETag"] == etag
            assert response.headers["Cache-Control"] == "public, no-cache"
        # If-None-Match wins over If-Modified-Since; an older date, or a bad one, is a 200.
        both = app.get(url, query_string={"as_of": AS_OF},
                       headers={"If-None-Match": '"other"', "If-Modified-Since": last_modified})
        assert both.status_code == 200
        earlier = format_datetime(parsedate_to_datetime(last_modified) - dt.timedelta(seconds=1), usegmt=True)
        for value in (earlier, "yesterday"):
            assert app.get(url, query_string={"as_of": AS_OF}, headers={"If-Modified-Since": value}).status_code == 200
        assert app.get("/dataset/nothing/compliance.svg", headers={"If-None-Match": "*"}).status_code == 404


def test_streamed_writers_match_the_whole_body():
    rows = [[f"={n}", "Тізілім"] for n in range(450)]
    chunks = list(exports.csv_chunks(["A", "B"], rows))
    assert len(chunks) > 2 and b"".join(chunks) == exports.csv_bytes(["A", "B"], rows)
    head = {"count": 2, "as_of": dt.date(2026, 1, 2), "results": ["ignored"]}
    body = b"".join(exports.json_chunks(head, [{"a": 1}, {"b": "ә"}]))
    assert json.loads(body) == {"count": 2, "as_of": "2026-01-02", "results": [{"a": 1}, {"b": "ә"}]}
    assert json.loads(b"".join(exports.json_chunks({}, []))) == {"results": []}
