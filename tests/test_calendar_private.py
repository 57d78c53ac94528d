"""Personal calendar addresses (issue 14, part 4), and what every feed now carries: SEQUENCE and LAST-MODIFIED
that follow a moved due date, categories and calendar name in the feed's language, a refresh interval, and
ETag/Last-Modified with conditional requests.

A calendar program is played by `icalendar.Calendar.from_ical` reading the address with no header at all.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import urllib.request
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

import icalendar
import pytest

import ckan.model as model
import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers

from ckanext.mes_schedule import vocab
from ckanext.mes_schedule.model import FeedToken
from tests.fixtures import CHROMEDRIVER, CHROMIUM, form_token, legal, logged_in, serve_wsgi, staffed_organization
from tests.test_i18n import kazakh_i18n_dir, kazakh_portal  # noqa: F401 (fixtures)

PASSWORD = "Calendar-Private-2026"
SHOTS = Path("/tmp/calendar_shots")
API = "/api/3/action/"


@pytest.fixture
def data(with_plugins, clean_db, clean_index) -> dict[str, Any]:
    org, staff = staffed_organization("editor", "member", prefix="cal", password=PASSWORD, name="ministry",
                                      title="Министрлік", title_ru="Министерство", title_en="Ministry")
    outsider = factories.UserWithToken(name="cal_outsider", password=PASSWORD)
    sysadmin = factories.SysadminWithToken()
    public = factories.Dataset(name="quarterly-stats", title="Тоқсандық", title_ru="Квартальная", title_en="Quarterly",
                               owner_org=org["id"], **legal(6, "quarterly day=10", "QUARTERLY"))
    private = factories.Dataset(name="private-annual", title="Жабық", title_ru="Закрытый", title_en="Closed one",
                                owner_org=org["id"], private=True, **legal(7, "annual quarter=4"))
    return {"org": org, "editor": staff["editor"], "member": staff["member"], "outsider": outsider,
            "sysadmin": sysadmin, "public": public, "private": private}


def _token(user: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": user["token"]}


def _make_address(app, caller: dict[str, Any], **data: Any) -> str:
    """The caller makes an address (theirs unless `user` names another) through the API; returns its path."""
    response = app.post(API + "mes_schedule_feed_token_create", json=data, headers=_token(caller))
    assert response.status_code == 200, response.body
    url = response.json["result"]["url"]
    assert url.startswith("http://test.ckan.net/compliance/calendar/") and url.endswith(".ics")
    return urlparse(url).path


def _read(app, path: str, **headers: str) -> icalendar.Calendar:
    """What a calendar program sees: no header but its own."""
    response = app.get(path, headers=headers)
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.data)


def _datasets(cal: icalendar.Calendar) -> set[str]:
    return {str(e["url"]).rsplit("/", 1)[-1] for e in cal.walk("VEVENT")}


# ----------------------------------------------------------------------------------------- the address


class TestPersonalAddress:
    def test_it_shows_the_private_datasets_deadlines_without_any_header(self, app, data):
        path = _make_address(app, data["member"])
        cal = _read(app, path)
        assert _datasets(cal) == {"quarterly-stats", "private-annual"}
        (private,) = [e for e in cal.walk("VEVENT") if str(e["url"]).endswith("/private-annual")]
        assert "Closed one" in str(private["summary"]) or "Жабық" in str(private["summary"])
        # The portal's own feed, without a token, does not have it.
        assert "private-annual" not in _datasets(_read(app, "/compliance/calendar.ics"))
        response = app.get(path)
        assert "private" in response.headers["Cache-Control"] and "public" not in response.headers["Cache-Control"]
        assert "noindex" in response.headers["X-Robots-Tag"]

    def test_only_a_hash_of_the_secret_is_stored(self, app, data):
        path = _make_address(app, data["member"])
        secret = path.rsplit("/", 1)[-1][: -len(".ics")]
        assert len(secret) >= 43
        (row,) = model.Session.query(FeedToken).all()
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in repr([row.id, row.user_id, row.token_hash])

    def test_revoked_it_answers_404(self, app, data):
        path = _make_address(app, data["member"])
        response = app.post(API + "mes_schedule_feed_token_revoke", json={}, headers=_token(data["member"]))
        assert response.json["result"] == {"revoked": 1}
        assert app.get(path).status_code == 404
        # A new address replaces the old one, which stops working.
        first = _make_address(app, data["member"])
        second = _make_address(app, data["member"])
        assert app.get(first).status_code == 404
        assert _datasets(_read(app, second)) == {"quarterly-stats", "private-annual"}

    def test_unknown_or_malformed_addresses_are_404(self, app, data):
        _make_address(app, data["member"])
        for secret in ("x" * 43, "short", "a" * 200, "%00" * 20, "../" * 15):
            assert app.get(f"/compliance/calendar/{secret}.ics").status_code == 404, secret

    def test_a_deleted_user_s_address_is_404(self, app, data):
        path = _make_address(app, data["member"])
        helpers.call_action("user_delete", {"user": data["sysadmin"]["name"]}, id=data["member"]["id"])
        assert app.get(path).status_code == 404

    def test_another_users_address_never_shows_what_they_cannot_see(self, app, data):
        path = _make_address(app, data["outsider"])
        assert _datasets(_read(app, path)) == {"quarterly-stats"}
        # The address is the credential: a member's API token sent beside it changes nothing.
        assert _datasets(_read(app, path, **_token(data["member"]))) == {"quarterly-stats"}
        # Membership is read at each request: once a member, the same address shows the private dataset.
        helpers.call_action("organization_member_create", {"user": data["sysadmin"]["name"]},
                            id=data["org"]["id"], username="cal_outsider", role="member")
        assert "private-annual" in _datasets(_read(app, path))


class TestWhoMayManageAnAddress:
    def test_only_the_user_or_a_sysadmin(self, app, data):
        member = data["member"]["name"]
        for action in ("mes_schedule_feed_token_create", "mes_schedule_feed_token_revoke"):
            assert app.post(API + action, json={"user": member}, headers=_token(data["outsider"])).status_code == 403
            assert app.post(API + action, json={}).status_code == 403  # anonymous
            with pytest.raises(tk.NotAuthorized):
                helpers.call_auth(action, {"user": "cal_outsider", "model": model}, user=member)
            assert helpers.call_auth(action, {"user": "cal_member", "model": model}, user=member)
        path = _make_address(app, data["sysadmin"], user=member)
        assert "private-annual" in _datasets(_read(app, path))  # the member's view, not the sysadmin's
        response = app.post(API + "mes_schedule_feed_token_create", json={"user": "nobody-such"},
                            headers=_token(data["sysadmin"]))
        assert response.status_code == 404

    def test_unknown_parameters_and_bad_values_are_refused(self, app, data):
        response = app.post(API + "mes_schedule_feed_token_create", json={"user": "a\x00b"},
                            headers=_token(data["member"]))
        assert response.status_code in (403, 409)
        assert response.status_code != 500


# ----------------------------------------------------------------------------------------- My deadlines


def _browser(app, user: dict[str, Any]):
    return logged_in(app, user, PASSWORD, "/dashboard/deadlines")


def _rows() -> list[FeedToken]:
    model.Session.expire_all()
    return model.Session.query(FeedToken).order_by(FeedToken.created_at).all()


@pytest.mark.ckan_config("WTF_CSRF_ENABLED", True)
class TestTheFormsOfMyDeadlines:
    def test_forged_posts_are_refused_and_real_ones_work(self, app, data):
        browser = _browser(app, data["member"])
        # As the attacker: a cross-site form, the victim's cookie, no CSRF token.
        forged = browser.post("/dashboard/deadlines/calendar-address", data={})
        assert forged.status_code in (400, 403) and _rows() == []

        page = browser.get("/dashboard/deadlines").get_data(as_text=True)
        assert 'action="/dashboard/deadlines/calendar-address"' in page
        field, token = form_token(page)
        made = browser.post("/dashboard/deadlines/calendar-address", data={field: token})
        assert made.status_code == 200
        assert "no-store" in made.headers["Cache-Control"]
        body = made.get_data(as_text=True)
        url = re.search(r'data-calendar-address="([^"]+)"', body).group(1)
        assert re.fullmatch(r"http://test\.ckan\.net/compliance/calendar/[A-Za-z0-9_-]{43}\.ics\?lang=en", url)
        path = urlparse(url).path + "?" + urlparse(url).query
        assert "private-annual" in _datasets(_read(app, path))
        # Shown once: the next visit says when it was made, not what it is.
        again = browser.get("/dashboard/deadlines").get_data(as_text=True)
        assert urlparse(url).path not in again and "mes-calendar-address-status" in again

        assert browser.post("/dashboard/deadlines/calendar-address/revoke", data={}).status_code in (400, 403)
        assert app.get(path).status_code == 200
        revoked = browser.post("/dashboard/deadlines/calendar-address/revoke", data={field: token},
                               follow_redirects=False)
        assert revoked.status_code == 302
        assert app.get(path).status_code == 404
        assert all(row.revoked_at is not None for row in _rows())

    def test_anonymous_posts_are_refused(self, app, data):
        assert app.post("/dashboard/deadlines/calendar-address", data={}).status_code in (400, 403)
        assert _rows() == []


# -------------------------------------------------------------------------------------- what feeds carry


def _by_uid(cal: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


class TestRevisions:
    def test_a_moved_due_date_updates_the_same_event_with_a_higher_sequence(self, app, data):
        before = _by_uid(_read(app, "/dataset/quarterly-stats/calendar.ics"))
        etag = app.get("/dataset/quarterly-stats/calendar.ics").headers["ETag"]
        # A sysadmin changes the rule: a new version, effective today, for the periods that open from today.
        helpers.call_action("package_patch", {"user": data["sysadmin"]["name"]}, id="quarterly-stats",
                            mes_schedule_rule="quarterly day=20")
        after = _by_uid(_read(app, "/dataset/quarterly-stats/calendar.ics"))
        moved = [uid for uid in before if uid in after
                 and after[uid].decoded("dtstart") != before[uid].decoded("dtstart")]
        assert moved, "some due date in the window moved"
        for uid in moved:
            assert after[uid].decoded("dtstart").day >= 20
            assert after[uid].decoded("sequence") > before[uid].decoded("sequence")
            assert after[uid].decoded("last-modified") >= before[uid].decoded("last-modified")
        assert all(after[uid].decoded("sequence") >= before[uid].decoded("sequence") for uid in after if uid in before)
        assert app.get("/dataset/quarterly-stats/calendar.ics").headers["ETag"] != etag

    def test_a_refresh_interval(self, app, data):
        body = app.get("/compliance/calendar.ics").data
        assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT12H\r\n" in body
        assert b"\r\nX-PUBLISHED-TTL:PT12H\r\n" in body

    @pytest.mark.parametrize("lang", ["kk", "ru", "en"])
    def test_categories_and_calendar_name_in_the_feeds_language(self, app, data, lang):
        path = _make_address(app, data["member"])
        cal = _read(app, f"{path}?lang={lang}")
        expected_name = {
            "en": "CKAN: my Order No. 120 deadlines",  # the site title reads in the default language (en here)
            "ru": "test.ckan.net: мои сроки по приказу № 120",
            "kk": "test.ckan.net: № 120 бұйрық бойынша менің мерзімдерім",
        }[lang]
        assert str(cal["x-wr-calname"]) == str(cal["name"]) == expected_name
        for event in cal.walk("VEVENT"):
            categories = [str(c) for c in event["categories"].cats]
            assert categories[0] == vocab.order_label(lang)
            frequency = "QUARTERLY" if event["url"].endswith("/quarterly-stats") else "ANNUAL"
            assert categories[1] == vocab.FREQUENCIES[frequency][lang]
        portal = _read(app, f"/compliance/calendar.ics?lang={lang}")
        assert str(portal["x-wr-calname"]) == {
            "en": "CKAN: Order No. 120 deadlines", "ru": "test.ckan.net: сроки по приказу № 120",
            "kk": "test.ckan.net: № 120 бұйрық бойынша мерзімдер",
        }[lang]


class TestConditionalRequests:
    @pytest.mark.parametrize("which", ["portal", "organization", "dataset", "personal"])
    def test_a_weak_etag_or_star_gets_304(self, app, data, which):
        path = {
            "portal": "/compliance/calendar.ics", "organization": "/organization/ministry/calendar.ics",
            "dataset": "/dataset/quarterly-stats/calendar.ics", "personal": None,
        }[which] or _make_address(app, data["member"])
        first = app.get(path)
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
        assert app.get(path).headers["ETag"] == etag  # the same data, the same tag
        for tags in (f"W/{etag}", etag, '"other", ' + f"W/{etag}", "*"):
            response = app.get(path, headers={"If-None-Match": tags})
            assert response.status_code == 304, tags
            assert response.data == b"" and response.headers["ETag"] == etag
        assert app.get(path, headers={"If-None-Match": 'W/"other"'}).status_code == 200
        assert app.get(path, headers={"If-Modified-Since": modified}).status_code == 304
        long_ago = format_datetime(dt.datetime(2016, 1, 1, tzinfo=dt.timezone.utc), usegmt=True)
        assert app.get(path, headers={"If-Modified-Since": long_ago}).status_code == 200
        # If-None-Match wins over If-Modified-Since.
        assert app.get(path, headers={"If-None-Match": '"other"', "If-Modified-Since": modified}).status_code == 200

    def test_a_change_of_the_data_changes_the_validators(self, app, data):
        before = app.get("/compliance/calendar.ics?lang=en")
        helpers.call_action("package_patch", {"user": data["sysadmin"]["name"]}, id="quarterly-stats",
                            title_en="Quarterly statistics")
        after = app.get("/compliance/calendar.ics?lang=en", headers={"If-None-Match": before.headers["ETag"]})
        assert after.status_code == 200 and b"Quarterly statistics" in after.data
        assert after.headers["ETag"] != before.headers["ETag"]
        assert parsedate_to_datetime(after.headers["Last-Modified"]) >= parsedate_to_datetime(
            before.headers["Last-Modified"])


# ----------------------------------------------------------------------------------- in a real browser


@pytest.fixture
def kazakh_live_server(kazakh_portal, with_plugins, make_app, data) -> Iterator[str]:  # noqa: F811
    with serve_wsgi(make_app().app, "live-ckan-kk") as url:
        yield url


@pytest.mark.skipif(not CHROMIUM.exists() or not CHROMEDRIVER.exists(), reason="needs chromium and chromedriver")
def test_my_deadlines_shows_the_address_in_kazakh_russian_and_english(kazakh_live_server, chromium, data):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base = kazakh_live_server
    chromium.get(f"{base}/user/login")
    chromium.find_element(By.ID, "field-login").send_keys(data["editor"]["name"])
    chromium.find_element(By.ID, "field-password").send_keys(PASSWORD)
    chromium.find_element(By.ID, "field-password").submit()
    WebDriverWait(chromium, 30).until(lambda d: "/user/login" not in d.current_url)
    words = {"kk": "Жеке күнтізбе мекенжайы", "ru": "Личный адрес календаря", "en": "Personal calendar address"}
    SHOTS.mkdir(parents=True, exist_ok=True)
    address = ""
    for lang, prefix in (("kk", ""), ("ru", "/ru"), ("en", "/en")):
        chromium.get(f"{base}{prefix}/dashboard/deadlines")
        assert words[lang] in chromium.page_source, lang
        chromium.find_element(By.CSS_SELECTOR, ".mes-calendar-address form button[name=create]").click()
        field = WebDriverWait(chromium, 30).until(ec.presence_of_element_located((By.ID, "mes-calendar-address-url")))
        address = field.get_attribute("value")
        assert re.fullmatch(rf"http://test\.ckan\.net/compliance/calendar/[A-Za-z0-9_-]{{43}}\.ics\?lang={lang}",
                            address), address
        chromium.execute_script("arguments[0].scrollIntoView({block: 'center'});", field)
        assert chromium.save_screenshot(str(SHOTS / f"my-deadlines-{lang}.png"))
    # The last address shown works, from outside the browser and without any header.
    parts = urlparse(address)
    with urllib.request.urlopen(f"{base}{parts.path}?{parts.query}", timeout=30) as response:
        cal = icalendar.Calendar.from_ical(response.read())
    assert "private-annual" in _datasets(cal)
    assert str(cal["x-wr-calname"]).endswith("my Order No. 120 deadlines")
