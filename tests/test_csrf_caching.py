"""CSRF for every cookie session on every action, and caching by identity (issue 11, parts 6 and 7).

As the attacker: a user logged in by cookie is lured to a page that posts to the portal (no CSRF token; the
browser adds the cookie). CKAN 2.12 stops checking a view for the rest of the process once one request reached
it without a session (an API client's token, or anyone anonymous), so each forged post here comes after such
requests to the same view. It must be refused and leave nothing behind; an API token, or the session's own
CSRF token, must still work.

The browser is a test client kept for the whole test (CKAN 2.11's `app.get`/`app.post` take a new client, and
so a new cookie jar, for every request).
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Optional

import pytest

import ckan.model as model
import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories

from ckanext.mes_schedule.model import Event

FREQ = "http://publications.europa.eu/resource/authority/frequency/"
EVENT_RULE = "event working-days=10 max-per-year=2"
PASSWORD = "Csrf-Caching-Pass-2026"
ACTION = "ckan.views.api.action"  # the view behind /api/3/action/<name>, as flask-wtf names it


def _legal(item: int, rule: str, frequency: str) -> dict[str, Any]:
    return {
        "mes_schedule_item": item,
        "mes_schedule_act_number": "120",
        "mes_schedule_act_date": "2016-01-29",
        "mes_schedule_act_registration": "13381",
        "mes_schedule_frequency": FREQ + frequency,
        "mes_schedule_rule": rule,
        "mes_schedule_deadline_kk": "жылына 1 рет IV тоқсан",
    }


@pytest.fixture
def world(clean_db, clean_index, with_plugins) -> dict[str, Any]:
    sysadmin = factories.SysadminWithToken()
    admin = factories.UserWithToken(name="victim_admin", password=PASSWORD)
    member = factories.UserWithToken(name="plain_member", password=PASSWORD)
    org = factories.Organization(
        name="mes-rk", title="Министрлік",
        users=[{"name": admin["name"], "capacity": "admin"}, {"name": member["name"], "capacity": "member"}],
    )
    register = factories.Dataset(
        owner_org=org["id"], name="register", title="Register", **_legal(13, EVENT_RULE, "IRREG")
    )
    hidden = factories.Dataset(
        owner_org=org["id"], name="hidden-row", title="Hidden row", private=True,
        **_legal(5, "annual quarter=4", "ANNUAL"),
    )
    return {"sysadmin": sysadmin, "admin": admin, "member": member, "org": org, "register": register,
            "hidden": hidden}


def _token(user: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": user["token"]}


def _browser(app, user: Optional[dict[str, Any]] = None, remember: bool = False):
    """A browser: one cookie jar for all its requests, logged in through the login form when a user is given."""
    browser = app.test_client()
    if user:
        form = {"login": user["name"], "password": PASSWORD}
        if remember:
            form["remember"] = "63072000"
        response = browser.post("/user/login", data=form, follow_redirects=False)
        assert response.status_code == 302, response.status_code
        assert browser.get("/dashboard/datasets", follow_redirects=False).status_code == 200, "not logged in"
    return browser


def _page_token(browser) -> tuple[str, str]:
    """The CSRF field name and this session's token, from the head of any page (as CKAN's JavaScript reads
    them)."""
    body = browser.get("/dataset/").get_data(as_text=True)
    field = re.search(r'<meta name="csrf_field_name" content="([^"]+)"', body).group(1)
    token = re.search(rf'<meta name="{re.escape(field)}" content="([^"]+)"', body).group(1)
    return field, token


def _title(name: str) -> str:
    model.Session.expire_all()
    return model.Package.get(name).title


def _event_dates(package_id: str) -> list[dt.date]:
    model.Session.expire_all()
    return sorted(e.event_date for e in model.Session.query(Event).filter(Event.package_id == package_id))


def _refused(response) -> None:
    assert response.status_code in (400, 403), (response.status_code, response.get_data(as_text=True)[:300])


def _exempt_for_the_process() -> bool:
    """Whether this CKAN exempts the API's view for good after a request without a session (2.12 does;
    2.11 marks only the request)."""
    from ckan.config.middleware.flask_app import csrf

    return ACTION in csrf._exempt_views


def _prime(app, world: dict[str, Any], first: str, action: str, data: dict[str, Any]) -> None:
    """Requests to the same view before the attack: an API client with a token, or someone anonymous."""
    if first == "api_token":
        response = app.post(f"/api/3/action/{action}", json=data, headers=_token(world["sysadmin"]))
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    else:
        app.get("/api/3/action/package_show", query_string={"id": "register"})
        app.post(f"/api/3/action/{action}", json=data)
    if tk.check_ckan_version(min_version="2.12"):
        # The precondition of the attack: CKAN has exempted the API's view for the rest of the process.
        assert _exempt_for_the_process()


# ------------------------------------------------------------------------------------------------ CSRF


@pytest.mark.ckan_config("WTF_CSRF_ENABLED", True)
class TestCSRFOnTheAPI:
    @pytest.mark.parametrize("first", ["api_token", "anonymous"])
    def test_a_forged_core_action_is_refused(self, app, world, first):
        _prime(app, world, first, "package_patch", {"id": "register", "title": "Set by the API"})
        title = _title("register")
        browser = _browser(app, world["admin"])

        # A cross-site form: form-encoded, no token, the victim's cookie.
        _refused(browser.post("/api/3/action/package_patch", data={"id": "register", "title": "Forged"}))
        _refused(browser.post("/api/3/action/package_patch", json={"id": "register", "title": "Forged"}))
        assert _title("register") == title

        # The portal's own JavaScript sends the session's token in a header: that works.
        field, token = _page_token(browser)
        response = browser.post("/api/3/action/package_patch", json={"id": "register", "title": "By the page"},
                                headers={"X-CSRFToken": token})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        assert _title("register") == "By the page"
        # So does a form that carries it.
        response = browser.post("/api/3/action/package_patch", data={"id": "register", "title": "By a form",
                                                                      field: token})
        assert response.status_code == 200
        assert _title("register") == "By a form"

    @pytest.mark.parametrize("first", ["api_token", "anonymous"])
    def test_a_forged_extension_action_is_refused(self, app, world, first):
        register = world["register"]
        _prime(app, world, first, "mes_schedule_event_create", {"package_id": "register", "event_date": "2025-12-01"})
        before = _event_dates(register["id"])
        browser = _browser(app, world["admin"])

        _refused(browser.post("/api/3/action/mes_schedule_event_create",
                              data={"package_id": "register", "event_date": "2025-12-10"}))
        assert _event_dates(register["id"]) == before

        _, token = _page_token(browser)
        response = browser.post("/api/3/action/mes_schedule_event_create",
                                json={"package_id": "register", "event_date": "2025-12-10"},
                                headers={"X-CSRFToken": token})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        assert _event_dates(register["id"]) == sorted({*before, dt.date(2025, 12, 10)})

    def test_a_remember_me_cookie_alone_is_checked_too(self, app, world):
        _prime(app, world, "api_token", "package_patch", {"id": "register", "title": "Set by the API"})
        browser = _browser(app, world["admin"], remember=True)
        cookie_name = app.flask_app.config["REMEMBER_COOKIE_NAME"]
        session_name = app.flask_app.config["SESSION_COOKIE_NAME"]
        domain = tk.config["SESSION_COOKIE_DOMAIN"] or "test.ckan.net"
        # The browser closed: the session is gone, the remember-me cookie still logs the user in.
        assert browser.get_cookie(cookie_name, domain=domain) is not None
        browser.delete_cookie(session_name, domain=domain)
        assert browser.get_cookie(session_name, domain=domain) is None
        assert browser.get("/dashboard/datasets", follow_redirects=False).status_code == 200, "not logged in"

        _refused(browser.post("/api/3/action/package_patch", data={"id": "register", "title": "Forged"}))
        assert _title("register") == "Set by the API"

    def test_the_remember_me_cookie_stays_on_the_site(self, app, world):
        response = app.test_client().post(
            "/user/login", data={"login": "victim_admin", "password": PASSWORD, "remember": "63072000"},
            follow_redirects=False,
        )
        name = app.flask_app.config["REMEMBER_COOKIE_NAME"]
        (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(name + "=")]
        assert "SameSite=Lax" in cookie, cookie

    def test_api_clients_with_a_token_need_no_csrf_token(self, app, world):
        browser = _browser(app, world["admin"])
        _refused(browser.post("/api/3/action/package_patch", data={"id": "register", "title": "Forged"}))
        # The token header is the credential: nothing a browser sends on its own. CKAN 2.12 lets it win over a
        # cookie sent beside it; 2.11 takes the cookie's user then, and checks the CSRF token itself.
        clients = [app.test_client(), browser] if tk.check_ckan_version(min_version="2.12") else [app.test_client()]
        for client in clients:
            response = client.post("/api/3/action/package_patch", json={"id": "register", "title": "By token"},
                                   headers=_token(world["admin"]))
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
        assert _title("register") == "By token"

    def test_anonymous_calls_are_unaffected(self, app, world):
        assert app.get("/api/3/action/package_show", query_string={"id": "register"}).status_code == 200
        response = app.post("/api/3/action/package_search", json={"q": "name:register"})
        assert response.status_code == 200 and response.json["result"]["count"] == 1
        # The logged-in browser reads without a token too.
        browser = _browser(app, world["admin"])
        assert browser.get("/api/3/action/package_show", query_string={"id": "hidden-row"}).status_code == 200


@pytest.mark.ckan_config("WTF_CSRF_ENABLED", True)
class TestCSRFOnCoreForms:
    def test_the_login_form_works(self, app, world):
        app.post("/user/login", data={"login": "nobody", "password": "x"})  # anonymous posts before
        browser = app.test_client()
        field, token = _page_token(browser)
        response = browser.post("/user/login", data={"login": "victim_admin", "password": PASSWORD, field: token},
                                follow_redirects=False)
        assert response.status_code == 302
        assert browser.get("/dashboard/datasets", follow_redirects=False).status_code == 200

    def test_a_forged_dataset_edit_is_refused_after_an_anonymous_visit(self, app, world):
        # Anyone visiting the edit page anonymously (CKAN 2.12 exempts it from then on) ...
        app.get("/dataset/edit/register")
        app.post("/dataset/edit/register", data={"title": "x"})
        browser = _browser(app, world["admin"])
        form = {**{k: v for k, v in world["register"].items() if isinstance(v, str)}, "title": "Forged",
                "save": ""}
        # ... the edit form still refuses the victim's forged post ...
        _refused(browser.post("/dataset/edit/register", data=form, follow_redirects=False))
        assert _title("register") == "Register"
        # ... and takes the real one.
        field, token = _page_token(browser)
        response = browser.post("/dataset/edit/register", data={**form, "title": "Edited", field: token},
                                follow_redirects=False)
        assert response.status_code in (200, 302)
        if response.status_code == 302:
            assert _title("register") == "Edited"


# ------------------------------------------------------------------------------------------------ caching


def _directives(response) -> set[str]:
    return {d.strip().split("=")[0] for d in (response.headers.get("Cache-Control") or "").split(",") if d.strip()}


def _vary(response) -> set[str]:
    return {v.strip().lower() for v in (response.headers.get("Vary") or "").split(",") if v.strip()}


# Every GET address of the extension, with what its answer depends on: the cookie and the token ("both"), or
# the token only (feeds: a browser session does not change what they list).
_ADDRESSES = {
    "mes_schedule.compliance": ("/compliance", "both"),
    "mes_schedule.organization_compliance": ("/organization/compliance/mes-rk", "both"),
    "mes_schedule.dataset_compliance": ("/dataset/register/compliance", "both"),
    "mes_schedule.badge": ("/dataset/register/compliance.svg", "both"),
    "mes_schedule_publisher.calendar": ("/compliance/calendar.ics", "token"),
    "mes_schedule_publisher.organization_calendar": ("/organization/mes-rk/calendar.ics", "token"),
    "mes_schedule_publisher.dataset_calendar": ("/dataset/register/calendar.ics", "token"),
    "mes_schedule_publisher.dashboard_deadlines": ("/dashboard/deadlines", "both"),
    "mes_schedule_charts.portal_chart": ("/compliance/chart.svg", "both"),
    "mes_schedule_charts.organization_chart": ("/organization/mes-rk/compliance/chart.svg", "both"),
    "mes_schedule_charts.period_strip": ("/dataset/register/periods.svg", "both"),
}
# Addresses whose caching is tested beside their feature: a personal calendar needs a secret address first.
_TESTED_ELSEWHERE = {
    "mes_schedule_publisher.personal_calendar",  # tests/test_calendar_private.py: always private
    "mes_schedule_publisher.after_login",  # only redirects; tests/test_publisher_flow.py
}
_DOWNLOADS = ("/compliance.csv", "/compliance.json", "/organization/compliance/mes-rk.csv",
              "/organization/compliance/mes-rk.json")


class TestCachingByIdentity:
    def test_every_address_is_listed(self, app):
        endpoints = {
            rule.endpoint for rule in app.flask_app.url_map.iter_rules()
            if rule.endpoint.startswith("mes_schedule") and "GET" in (rule.methods or ())
        }
        assert endpoints == set(_ADDRESSES) | _TESTED_ELSEWHERE

    @pytest.mark.parametrize("path", _DOWNLOADS)
    def test_downloads(self, app, world, path):
        anonymous = app.get(path)
        assert anonymous.status_code == 200
        assert "public" in _directives(anonymous) and "private" not in _directives(anonymous)
        assert {"cookie", "authorization"} <= _vary(anonymous)
        assert "hidden-row" not in anonymous.get_data(as_text=True)

        # An organisation member's download holds the private row: no shared cache may keep it.
        by_token = app.get(path, headers=_token(world["member"]))
        assert "hidden-row" in by_token.get_data(as_text=True) or "Hidden row" in by_token.get_data(as_text=True)
        assert "private" in _directives(by_token) and "public" not in _directives(by_token)
        assert {"cookie", "authorization"} <= _vary(by_token)

        by_cookie = _browser(app, world["member"]).get(path)
        assert "hidden-row" in by_cookie.get_data(as_text=True) or "Hidden row" in by_cookie.get_data(as_text=True)
        assert "private" in _directives(by_cookie) and "public" not in _directives(by_cookie)
        assert {"cookie", "authorization"} <= _vary(by_cookie)

    # CKAN lets pages be cached only where the operator enables it (and then only anonymous ones).
    @pytest.mark.ckan_config("ckan.cache_enabled", True)
    @pytest.mark.parametrize("endpoint", sorted(_ADDRESSES))
    def test_pages_badges_and_feeds(self, app, world, endpoint):
        path, depends_on = _ADDRESSES[endpoint]
        anonymous = app.get(path, follow_redirects=False)
        by_token = app.get(path, headers=_token(world["member"]), follow_redirects=False)
        browser = _browser(app, world["member"])
        by_cookie = browser.get(path, follow_redirects=False)
        assert by_token.status_code == 200, (path, by_token.status_code)

        # A public dataset's badge and period strip are the same picture for everyone who may see it.
        same_for_all = endpoint in ("mes_schedule.badge", "mes_schedule_charts.period_strip")
        assert "private" in _directives(by_token) and "public" not in _directives(by_token) or same_for_all
        assert "authorization" in _vary(by_token) and "authorization" in _vary(anonymous)
        if depends_on == "both":
            assert "cookie" in _vary(anonymous) and "cookie" in _vary(by_cookie)
            if not same_for_all and anonymous.status_code == 200:
                assert "public" in _directives(anonymous)
            if not same_for_all:
                assert "public" not in _directives(by_cookie), (path, by_cookie.headers.get("Cache-Control"))
        else:
            # A feed lists the same with or without a browser session: both stay cacheable.
            for response in (anonymous, by_cookie):
                assert response.status_code == 200
                assert "public" in _directives(response), (path, response.headers.get("Cache-Control"))

    def test_a_private_datasets_badge_is_never_stored(self, app, world):
        response = app.get("/dataset/hidden-row/compliance.svg", headers=_token(world["member"]))
        assert response.status_code == 200
        assert {"private", "no-store"} <= _directives(response)
        assert app.get("/dataset/hidden-row/compliance.svg").status_code == 404
        public = app.get("/dataset/register/compliance.svg")
        assert public.headers["Cache-Control"] == "public, no-cache"

