"""The shared page cache (page_cache, views/cached.py) on the real stack: what anonymous readers get is stored in
Redis once per record version, language and filters, and everything else is rendered as before.

The world: the ministry with one public scheduled dataset (item 5, nothing published: "never published") and one
private one (item 6); a member of the ministry sees both.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

import ckan.tests.factories as factories

from ckanext.mes_schedule import page_cache
from ckanext.mes_schedule.views.cached import CACHE_HEADER
from tests.fixtures import legal, publish, staffed_organization

pytestmark = pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")

AS_OF = "2026-11-30"


@pytest.fixture
def world() -> dict[str, Any]:
    org, staff = staffed_organization("member", name="mes-rk", title="Министрлік")
    public = factories.Dataset(name="open-data", title="Ашық", owner_org=org["id"], **legal(5))
    hidden = factories.Dataset(name="hidden-data", title="Жабық", owner_org=org["id"], private=True, **legal(6))
    return {"org": org, "public": public, "hidden": hidden, "member": staff["member"]}


def _without_csrf(body: str) -> str:
    """A page without its CSRF tokens (signed with the time: two answers a second apart differ in them)."""
    return re.sub(r'(name="_csrf_token" (?:content|value)=)"[^"]*"', r"\1", body)


def _get(app: Any, url: str, **headers: str) -> Any:
    return app.get(url, headers=headers)


def test_anonymous_page_is_rendered_once_then_served_from_redis(app: Any, world: dict[str, Any]) -> None:
    first = _get(app, "/compliance")
    second = _get(app, "/compliance")
    assert first.status_code == second.status_code == 200
    assert first.headers[CACHE_HEADER] == "miss"
    assert second.headers[CACHE_HEADER] == "hit"
    assert "open-data" in second.body and "hidden-data" not in second.body
    assert first.headers["ETag"] == second.headers["ETag"]
    # CKAN's own caching fields are kept: anyone may store it, and must revalidate.
    assert "public" in second.headers["Cache-Control"]
    assert {"Cookie", "Authorization"} <= {v.strip() for v in second.headers["Vary"].split(",")}


def test_revalidation_is_a_304_without_a_body(app: Any, world: dict[str, Any]) -> None:
    etag = _get(app, "/compliance").headers["ETag"]
    again = _get(app, "/compliance", **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.body == ""
    assert again.headers["ETag"] == etag


def test_a_publication_is_seen_on_the_next_request(app: Any, world: dict[str, Any]) -> None:
    before = _get(app, "/compliance")
    assert _get(app, "/compliance").headers[CACHE_HEADER] == "hit"
    publish(world["public"], dt.datetime.utcnow() - dt.timedelta(minutes=1))
    after = _get(app, "/compliance")
    assert after.headers[CACHE_HEADER] == "miss"
    assert after.headers["ETag"] != before.headers["ETag"]
    badge = _get(app, "/dataset/open-data/compliance.svg")
    assert badge.headers[CACHE_HEADER] == "miss"


def test_each_language_and_filter_has_its_own_entry(app: Any, world: dict[str, Any]) -> None:
    kk, ru, en = (_get(app, f"{prefix}/compliance") for prefix in ("/kk", "/ru", ""))
    assert {kk.headers[CACHE_HEADER], ru.headers[CACHE_HEADER], en.headers[CACHE_HEADER]} == {"miss"}
    assert len({kk.headers["ETag"], ru.headers["ETag"], en.headers["ETag"]}) == 3
    assert 'lang="ru"' in _get(app, "/ru/compliance").body
    filtered = _get(app, "/compliance?status=overdue")
    assert filtered.headers[CACHE_HEADER] == "miss"
    assert _get(app, "/compliance?status=overdue").headers[CACHE_HEADER] == "hit"


def test_identified_readers_are_never_served_or_stored(app: Any, world: dict[str, Any]) -> None:
    token = world["member"]["token"]
    mine = _get(app, "/compliance", Authorization=token)
    assert CACHE_HEADER not in mine.headers
    assert "hidden-data" in mine.body
    # What the member saw was not stored for anyone: an anonymous reader renders their own page, without it.
    anonymous = _get(app, "/compliance")
    assert anonymous.headers[CACHE_HEADER] == "miss"
    assert "hidden-data" not in anonymous.body
    # And an anonymous page stored meanwhile is not what the member gets.
    assert "hidden-data" in _get(app, "/compliance", Authorization=token).body


def test_private_badges_and_strips_are_never_stored(app: Any, world: dict[str, Any]) -> None:
    for url in ("/dataset/hidden-data/compliance.svg", "/dataset/hidden-data/periods.svg"):
        assert _get(app, url).status_code == 404
        assert _get(app, url).status_code == 404
        token = world["member"]["token"]
        shown = _get(app, url, Authorization=token)
        assert shown.status_code == 200 and CACHE_HEADER not in shown.headers
        assert _get(app, url).status_code == 404


def test_badge_keeps_its_own_validators_and_caching(app: Any, world: dict[str, Any]) -> None:
    miss = _get(app, "/dataset/open-data/compliance.svg?lang=ru")
    hit = _get(app, "/dataset/open-data/compliance.svg?lang=ru")
    assert (miss.headers[CACHE_HEADER], hit.headers[CACHE_HEADER]) == ("miss", "hit")
    assert hit.headers["Content-Type"].startswith("image/svg+xml")
    assert hit.headers["Cache-Control"] == "public, no-cache"
    assert hit.headers["ETag"] == miss.headers["ETag"] and not hit.headers["ETag"].startswith("W/")
    assert hit.body == miss.body
    revalidated = _get(app, "/dataset/open-data/compliance.svg?lang=ru", **{"If-None-Match": hit.headers["ETag"]})
    assert revalidated.status_code == 304


def test_downloads_and_charts_are_shared(app: Any, world: dict[str, Any]) -> None:
    for url in ("/compliance.csv", "/organization/compliance/mes-rk.json", "/compliance/chart.svg?by=quarter",
                "/organization/mes-rk/compliance/chart.svg", "/dataset/open-data/periods.svg",
                "/organization/compliance/mes-rk"):
        miss, hit = _get(app, url), _get(app, url)
        assert miss.status_code == hit.status_code == 200, url
        assert (miss.headers[CACHE_HEADER], hit.headers[CACHE_HEADER]) == ("miss", "hit"), url
        assert _without_csrf(hit.body) == _without_csrf(miss.body), url
        assert hit.headers["Content-Type"] == miss.headers["Content-Type"], url
    assert 'filename="compliance-' in _get(app, "/compliance.csv").headers["Content-Disposition"]


def test_searches_unknown_parameters_and_errors_go_past_the_cache(app: Any, world: dict[str, Any]) -> None:
    assert CACHE_HEADER not in _get(app, "/compliance?q=Ашық").headers
    assert CACHE_HEADER not in _get(app, "/compliance?utm_source=mail").headers
    assert CACHE_HEADER not in _get(app, f"/compliance?as_of={AS_OF}").headers
    assert CACHE_HEADER not in _get(app, f"/dataset/open-data/compliance.svg?as_of={AS_OF}").headers
    bad = _get(app, "/compliance?as_of=yesterday")
    assert bad.status_code == 400 and CACHE_HEADER not in bad.headers


def test_each_reader_gets_a_csrf_token_of_their_own_session(app: Any, world: dict[str, Any]) -> None:
    pattern = re.compile(r'<meta name="_csrf_token" content="([^"]+)"')
    first = pattern.search(_get(app, "/compliance").body)
    app.client = app.test_client()  # another reader: a browser without the first one's cookies
    second_page = _get(app, "/compliance")
    assert second_page.headers[CACHE_HEADER] == "hit"
    second = pattern.search(second_page.body)
    assert first and second and first.group(1) != second.group(1)
    assert "\0" not in second_page.body


def test_a_new_day_and_a_configuration_change_are_new_versions(app: Any, world: dict[str, Any]) -> None:
    today = page_cache.version()
    assert page_cache.version() == today
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("ckanext.mes_schedule.localization.today", lambda: dt.date(2030, 1, 1))
        assert page_cache.version() != today


@pytest.mark.ckan_config("ckanext.mes_schedule.page_cache.ttl", 0)
def test_the_cache_can_be_turned_off(app: Any, world: dict[str, Any]) -> None:
    assert CACHE_HEADER not in _get(app, "/compliance").headers


def test_site_settings_change_the_version(app: Any, world: dict[str, Any]) -> None:
    """What sysadmins set at /ckan-admin/config is kept in system_info, which other nodes read: it is part of the
    version. (Written straight to the table and removed again: config_option_update would also change this
    process's configuration, and system_info outlives the test in the test database.)"""
    import ckan.model as model

    before = _get(app, "/compliance").headers["ETag"]
    model.set_system_info("ckan.site_intro_text", "A new introduction")
    try:
        after = _get(app, "/compliance")
    finally:
        model.delete_system_info("ckan.site_intro_text")
    assert after.headers[CACHE_HEADER] == "miss" and after.headers["ETag"] != before


def test_clear_cache_command_drops_the_entries(app: Any, world: dict[str, Any], cli: Any) -> None:
    from ckan.cli.cli import ckan

    _get(app, "/compliance")
    _get(app, "/dataset/open-data/compliance.svg")
    result = cli.invoke(ckan, ["mes-schedule", "clear-cache"])
    assert result.exit_code == 0, result.output
    # the page, the badge, the list action's result the page was built from (and when the data were first seen)
    removed = re.search(r"Removed (\d+) cached page\(s\)\.", result.output)
    assert removed and int(removed.group(1)) >= 3, result.output
    assert _get(app, "/compliance").headers[CACHE_HEADER] == "miss"


def test_the_list_action_shares_anonymous_results_until_the_record_changes(app: Any, world: dict[str, Any]) -> None:
    url = "/api/3/action/mes_schedule_compliance_list?limit=50"
    first, second = _get(app, url).json["result"], _get(app, url).json["result"]
    assert first == second
    assert [r["name"] for r in first["results"]] == ["open-data"]
    assert first["results"][0]["status"] == "never_published"
    publish(world["public"], "2026-11-20")
    after = _get(app, url).json["result"]
    assert after["results"][0]["status"] != "never_published"
    # A member's answer is their own (with the private dataset), never the anonymous one.
    mine = _get(app, url, Authorization=world["member"]["token"]).json["result"]
    assert sorted(r["name"] for r in mine["results"]) == ["hidden-data", "open-data"]
    assert [r["name"] for r in _get(app, url).json["result"]["results"]] == ["open-data"]


def test_last_modified_is_the_same_on_every_node(app: Any, world: dict[str, Any]) -> None:
    """The time the data were first seen is kept in Redis: another node (here, this process with its own memory
    forgotten) gives the same Last-Modified, so clients behind a load balancer see no flip between nodes."""
    import time

    from ckanext.mes_schedule.views import compliance as views

    token = world["member"]["token"]  # past the page cache: the view's own validators
    first = _get(app, "/dataset/open-data/compliance.svg", Authorization=token)
    views._changes.clear()
    time.sleep(1.1)
    second = _get(app, "/dataset/open-data/compliance.svg", Authorization=token)
    assert first.headers["Last-Modified"] == second.headers["Last-Modified"]


def test_what_is_stored_per_window_is_bounded(
    app: Any, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Readers choose the keys (filters, pages): past the byte budget of the TTL window, pages are rendered and
    not stored, so crawlers cannot fill CKAN's Redis."""
    size = len(_get(app, "/compliance").body.encode())
    page_cache.clear()
    monkeypatch.setattr(page_cache, "max_total_bytes", lambda: int(size * 1.5))  # room for one page
    assert _get(app, "/compliance").headers[CACHE_HEADER] == "miss"
    assert _get(app, "/compliance").headers[CACHE_HEADER] == "hit"
    other = _get(app, "/compliance?sort=title")  # over the budget: rendered, not stored
    assert other.status_code == 200 and CACHE_HEADER not in other.headers
    assert CACHE_HEADER not in _get(app, "/compliance?sort=title").headers
