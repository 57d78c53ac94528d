"""Security: CSRF on the extension's forms, markup and formulas in user text on every output, events of one
organisation out of reach of another's admins, and private datasets invisible everywhere to those who may not
see them.

Each test goes through the real stack (pages, API, downloads, feeds, a real SMTP server for the reminders).
"""
from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import email.utils
import io
import json
import xml.etree.ElementTree as ET
from typing import Any, Iterator, Optional

import icalendar
import pytest
from bs4 import BeautifulSoup

import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers

from ckanext.mes_schedule import compliance, exports, reminders
from ckanext.mes_schedule.model import Event
from tests.fixtures import events_in_force, legal, publish, staffed_organization

EVENT_RULE = "event working-days=10 max-per-year=2"

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
TEMPLATE = "{{7*7}}q"  # rendered by a template engine it would read "49q"
MARKUP = f"{SCRIPT}{IMG}{TEMPLATE}"
FORMULAS = ("=cmd|' /C calc'!A0", "+1", "-1", "@SUM(1)", "\t=1+1", "\r=1+1")
PASSWORD = "Hardening-Pass-2026"


def _soup(body: str) -> BeautifulSoup:
    return BeautifulSoup(body, "html.parser")


def _headers(user: Optional[dict[str, Any]]) -> dict[str, str]:
    return {"Authorization": user["token"]} if user else {}


def _log_in(app, user: dict[str, Any]) -> None:
    """Log in through the login form, as a browser does: later requests carry the session cookie only."""
    app.client = app.test_client()
    response = app.post("/user/login", data={"login": user["name"], "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 302, response.status_code
    assert app.get("/dashboard/datasets", follow_redirects=False).status_code == 200, "not logged in"


def _events(package_id: str) -> list[Event]:
    return events_in_force(package_id)


@pytest.fixture
def world(clean_db, clean_index, with_plugins) -> dict[str, Any]:
    sysadmin = factories.SysadminWithToken(password=PASSWORD)
    org, staff = staffed_organization("admin", "editor", "member", prefix="the", password=PASSWORD,
                                      name="mes-rk", title="Министрлік")
    admin, editor, member = staff["admin"], staff["editor"], staff["member"]
    other_org, others = staffed_organization("admin", "editor", "member", prefix="other", password=PASSWORD,
                                             name="akimat", title="Әкімдік")
    other_admin, other_editor, other_member = others["admin"], others["editor"], others["member"]
    register = factories.Dataset(
        owner_org=org["id"], name="register", title="Тізілім", **legal(13, EVENT_RULE, "IRREG")
    )
    plain = factories.Dataset(owner_org=org["id"], name="plain", title="Plain", title_en="Plain", **legal(5))
    elsewhere = factories.Dataset(owner_org=other_org["id"], name="elsewhere", title_en="Elsewhere", **legal(8))
    return {
        "sysadmin": sysadmin, "admin": admin, "editor": editor, "member": member,
        "other_admin": other_admin, "other_editor": other_editor, "other_member": other_member,
        "org": org, "other_org": other_org, "register": register, "plain": plain, "elsewhere": elsewhere,
    }


# ------------------------------------------------------------------------------------------------ CSRF


@pytest.fixture
def fresh_csrf(app) -> Iterator[Any]:
    """CSRF protection as a freshly started portal has it.

    CKAN exempts a view from CSRF checks for the rest of the process (flask-wtf's set of exempt views, held by
    a module-level object) as soon as one request reaches it without a session, anonymous or with an API
    token; other tests of this process post to our forms with API tokens. Each test here starts from none of
    our views exempt, and leaves the set as it found it.
    """
    from ckan.config.middleware.flask_app import csrf

    saved = set(csrf._exempt_views)
    csrf._exempt_views.difference_update({v for v in saved if v.startswith("ckanext.mes_schedule.")})
    assert app.flask_app.config["WTF_CSRF_ENABLED"] is True
    try:
        yield csrf
    finally:
        csrf._exempt_views.clear()
        csrf._exempt_views.update(saved)


def _post_routes(app) -> set[str]:
    return {
        rule.endpoint
        for rule in app.flask_app.url_map.iter_rules()
        if rule.endpoint.startswith("mes_schedule") and "POST" in (rule.methods or ())
    }


def _form_token(body: str, form_selector: str) -> str:
    form = _soup(body).select_one(form_selector)
    assert form is not None, f"no form {form_selector}"
    field = form.select_one("input[name=_csrf_token]")
    assert field is not None and field["value"], "the form carries no CSRF token"
    return field["value"]


def _page_token(body: str) -> str:
    """The CSRF token CKAN puts in every page's head (for a user to whom no form is shown)."""
    return _soup(body).select_one("meta[name=_csrf_token]")["content"]


# These tests log in through /user/login and post with the session cookie; CKAN 2.11's test client does not
# carry that session from one request to the next, so they can only run on 2.12 (the code is the same).
_NEEDS_SESSIONS = pytest.mark.skipif(
    not tk.check_ckan_version(min_version="2.12"),
    reason="CKAN 2.11's test client drops the login session between requests",
)


@_NEEDS_SESSIONS
@pytest.mark.ckan_config("WTF_CSRF_ENABLED", True)
class TestCSRF:
    def test_the_extensions_forms_are_the_event_forms(self, app, world):
        # Every POST route the extension adds is tested for forged posts: the event forms below, the personal
        # calendar address forms in tests/test_calendar_private.py, the declared-update form in
        # tests/test_datastore_publications.py. A new one must be added here.
        assert _post_routes(app) == {
            "mes_schedule.event_create", "mes_schedule.event_delete",
            "mes_schedule_publisher.feed_token_create", "mes_schedule_publisher.feed_token_revoke",
            "mes_schedule_publisher.declare_update",
        }

    def test_recording_an_event_needs_the_forms_token(self, app, world, fresh_csrf):
        _log_in(app, world["admin"])
        register = world["register"]
        response = app.post("/dataset/register/compliance/events", data={"event_date": "2025-12-05"},
                            follow_redirects=False)
        assert response.status_code in (400, 403), response.status_code
        assert "CSRF" in response.body
        assert _events(register["id"]) == []

        # A token of another session is no better than none.
        _log_in(app, world["sysadmin"])
        foreign = _page_token(app.get("/dataset/register/compliance").body)
        _log_in(app, world["admin"])
        response = app.post("/dataset/register/compliance/events",
                            data={"event_date": "2025-12-05", "_csrf_token": foreign}, follow_redirects=False)
        assert response.status_code in (400, 403)
        assert _events(register["id"]) == []

        token = _form_token(app.get("/dataset/register/compliance").body, "form.mes-event-form")
        response = app.post("/dataset/register/compliance/events",
                            data={"event_date": "2025-12-05", "_csrf_token": token}, follow_redirects=False)
        assert response.status_code == 302, response.body[:500]
        assert [e.event_date for e in _events(register["id"])] == [dt.date(2025, 12, 5)]

    def test_deleting_an_event_needs_the_forms_token(self, app, world, fresh_csrf):
        event = helpers.call_action(
            "mes_schedule_event_create", context={"user": world["sysadmin"]["name"]},
            package_id="register", event_date="2025-12-05",
        )
        url = f"/dataset/register/compliance/events/{event['id']}/delete"
        _log_in(app, world["admin"])
        response = app.post(url, follow_redirects=False)
        assert response.status_code in (400, 403)
        assert len(_events(world["register"]["id"])) == 1

        token = _form_token(app.get("/dataset/register/compliance").body, "table.mes-events form")
        response = app.post(url, data={"_csrf_token": token}, follow_redirects=False)
        assert response.status_code == 302, response.body[:500]
        assert _events(world["register"]["id"]) == []

    @pytest.mark.parametrize("first", ["anonymous", "api_token"])
    def test_a_request_without_a_session_does_not_switch_the_check_off(self, app, world, fresh_csrf, first):
        """CKAN exempts a view for good once a request reaches it anonymously or with an API token; the
        forms' own check must hold for the logged-in browser that comes next."""
        headers = _headers(world["other_admin"]) if first == "api_token" else {}
        app.post("/dataset/register/compliance/events", data={"event_date": "2025-12-01"}, headers=headers)
        event = helpers.call_action(
            "mes_schedule_event_create", context={"user": world["sysadmin"]["name"]},
            package_id="register", event_date="2025-12-05",
        )
        delete = f"/dataset/register/compliance/events/{event['id']}/delete"
        app.post(delete, headers=headers)

        _log_in(app, world["admin"])
        response = app.post("/dataset/register/compliance/events", data={"event_date": "2025-12-10"},
                            follow_redirects=False)
        assert response.status_code in (400, 403), "a forged form post by a logged-in admin was accepted"
        response = app.post(delete, follow_redirects=False)
        assert response.status_code in (400, 403), "a forged delete by a logged-in admin was accepted"
        assert [e.event_date for e in _events(world["register"]["id"])] == [dt.date(2025, 12, 5)]

    def test_api_clients_with_a_token_need_no_form_token(self, app, world, fresh_csrf):
        # The token header is the credential; nothing a browser sends on its own.
        response = app.post("/dataset/register/compliance/events", data={"event_date": "2025-12-05"},
                            headers=_headers(world["admin"]), follow_redirects=False)
        assert response.status_code == 302
        assert len(_events(world["register"]["id"])) == 1


# ------------------------------------------------------------------------------------------------ another admin


class TestAnotherOrganisationsAdmin:
    def test_cannot_record_or_delete_through_the_api(self, app, world):
        event = helpers.call_action(
            "mes_schedule_event_create", context={"user": world["sysadmin"]["name"]},
            package_id="register", event_date="2025-12-05",
        )
        headers = _headers(world["other_admin"])
        response = app.post("/api/3/action/mes_schedule_event_create",
                            json={"package_id": "register", "event_date": "2025-12-10"}, headers=headers)
        assert response.status_code == 403
        assert response.json["success"] is False
        response = app.post("/api/3/action/mes_schedule_event_delete", json={"id": event["id"]}, headers=headers)
        assert response.status_code == 403
        assert [e.id for e in _events(world["register"]["id"])] == [event["id"]]
        # The organisation's own admin may (so the refusals above are about the organisation).
        response = app.post("/api/3/action/mes_schedule_event_create",
                            json={"package_id": "register", "event_date": "2025-12-10"},
                            headers=_headers(world["admin"]))
        assert response.status_code == 200
        assert len(_events(world["register"]["id"])) == 2

    @pytest.mark.ckan_config("WTF_CSRF_ENABLED", True)
    @_NEEDS_SESSIONS
    def test_cannot_record_or_delete_through_the_forms(self, app, world, fresh_csrf):
        event = helpers.call_action(
            "mes_schedule_event_create", context={"user": world["sysadmin"]["name"]},
            package_id="register", event_date="2025-12-05",
        )
        _log_in(app, world["other_admin"])
        page = app.get("/dataset/register/compliance").body
        assert _soup(page).select_one("form.mes-event-form") is None
        assert _soup(page).select_one("table.mes-events form") is None
        token = _page_token(page)  # a valid token of this session: only authorisation can refuse
        response = app.post("/dataset/register/compliance/events",
                            data={"event_date": "2025-12-10", "_csrf_token": token}, follow_redirects=False)
        assert response.status_code == 403
        response = app.post(f"/dataset/register/compliance/events/{event['id']}/delete",
                            data={"_csrf_token": token}, follow_redirects=False)
        assert response.status_code == 403
        assert [e.id for e in _events(world["register"]["id"])] == [event["id"]]


# ------------------------------------------------------------------------------------------------ markup


def _no_live_markup(body: str, where: str) -> None:
    """Nothing of the payloads became markup: no script running alert, no element with an onerror handler, no
    template expression evaluated."""
    assert SCRIPT not in body, where
    assert "<img src=x" not in body, where
    assert "49q" not in body, where
    soup = _soup(body)
    assert not [s for s in soup.find_all("script") if "alert(1)" in (s.string or "")], where
    assert not soup.find_all(attrs={"onerror": True}), where


@pytest.fixture
def markup(world) -> dict[str, Any]:
    """An organisation and a scheduled dataset (with a recorded event) whose every text is markup."""
    org = factories.Organization(
        name="markup-org", title=f"KK-org {MARKUP}", title_ru=f"RU-org {MARKUP}", title_en=f"EN-org {MARKUP}",
        users=[{"name": world["editor"]["name"], "capacity": "editor"}],
    )
    dataset = factories.Dataset(
        owner_org=org["id"], name="markup",
        title=f"KK {MARKUP}", title_ru=f"RU {MARKUP}", title_en=f"EN {MARKUP}",
        notes=f"KK notes {MARKUP}", notes_ru=f"RU notes {MARKUP}", notes_en=f"EN notes {MARKUP}",
        maintainer=MARKUP, **legal(40, EVENT_RULE, "IRREG", mes_schedule_deadline_kk=MARKUP),
    )
    helpers.call_action(
        "mes_schedule_event_create", context={"user": world["sysadmin"]["name"]},
        package_id="markup", event_date=(compliance.today() - dt.timedelta(days=3)).isoformat(), note=MARKUP,
    )
    return {"org": org, "dataset": dataset}


LANG_PREFIXES = {"en": "", "ru": "/ru", "kk": "/kk"}


class TestMarkupIsEscaped:
    @pytest.mark.parametrize("lang", sorted(LANG_PREFIXES))
    def test_pages(self, app, world, markup, lang):
        prefix = LANG_PREFIXES[lang]
        shown = f"{lang.upper()} {MARKUP}"
        pages = {
            "/dataset/markup": (shown, world["sysadmin"]),
            "/dataset/markup/compliance": (shown, None),
            "/compliance": (shown, None),
            "/organization/compliance/markup-org": (shown, None),
            "/organization/markup-org": (None, None),
            "/dataset/": (shown, None),
            "/dataset/?q=markup": (shown, None),
            "/dashboard/deadlines": (shown, world["editor"]),
        }
        for path, (expected_text, user) in pages.items():
            response = app.get(prefix + path, headers=_headers(user))
            if response.status_code == 404 and lang == "kk":
                pytest.skip("the Kazakh locale is not built on this portal")
            assert response.status_code == 200, (path, response.status_code)
            _no_live_markup(response.body, prefix + path)
            if expected_text:
                # The text is there, as text: the check above is not vacuous.
                assert expected_text in _soup(response.body).get_text(), (prefix + path, expected_text)
        # The event's note and the order's words, on the dataset's history page.
        history = _soup(app.get(prefix + "/dataset/markup/compliance").body).get_text()
        assert MARKUP in history

    def test_the_embed_code_is_an_attribute_value(self, app, world, markup):
        embed = _soup(app.get("/dataset/markup").body).select_one("input#mes-embed-code")["value"]
        # The value is the HTML to paste elsewhere: the title in it is itself escaped for that HTML.
        pasted = _soup(embed)
        assert pasted.img is not None and pasted.img["alt"] == f"Order 120: EN {MARKUP}"
        assert not pasted.find_all("script") and not pasted.find_all(attrs={"onerror": True})

    def test_the_validation_error_page_of_the_event_form(self, app, world, markup):
        body = app.post("/dataset/markup/compliance/events", data={"event_date": MARKUP, "note": MARKUP},
                        headers=_headers(world["sysadmin"])).body
        _no_live_markup(body, "event form errors")
        assert _soup(body).select_one("input[name=note]")["value"] == MARKUP

    @pytest.mark.parametrize("lang", sorted(LANG_PREFIXES))
    def test_badge_is_well_formed_xml(self, app, world, markup, lang):
        response = app.get("/dataset/markup/compliance.svg", query_string={"lang": lang})
        assert response.status_code == 200
        root = ET.fromstring(response.bytes)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        # The badge names the order and the status, nothing a publisher typed.
        assert "alert" not in response.body and "7*7" not in response.body

    @pytest.mark.parametrize("lang", sorted(LANG_PREFIXES))
    def test_json_keeps_the_text_as_data(self, app, world, markup, lang):
        response = app.get(LANG_PREFIXES[lang] + "/compliance.json")
        if response.status_code == 404 and lang == "kk":
            pytest.skip("the Kazakh locale is not built on this portal")
        data = json.loads(response.body)
        (row,) = [r for r in data["results"] if r["name"] == "markup"]
        assert row["title"] == f"{lang.upper()} {MARKUP}"
        assert (row["title_kk"], row["title_ru"], row["title_en"]) == (f"KK {MARKUP}", f"RU {MARKUP}", f"EN {MARKUP}")
        assert row["deadline_kk"] == MARKUP


@pytest.fixture
def formulas(world) -> list[dict[str, Any]]:
    """Scheduled datasets whose titles, in each language, a spreadsheet would run as formulas."""
    made = []
    for n, formula in enumerate(FORMULAS):
        made.append(factories.Dataset(
            owner_org=world["org"]["id"], name=f"formula-{n}",
            title=formula, title_ru=formula + " ru", title_en=formula + " en", **legal(50 + n),
        ))
    return made


def _csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


class TestDownloads:
    @pytest.mark.parametrize("lang", sorted(LANG_PREFIXES))
    def test_csv_neutralises_formulas_and_keeps_markup_as_data(self, app, world, markup, formulas, lang):
        prefix = LANG_PREFIXES[lang]
        for path in (
            "/compliance.csv", "/organization/compliance/mes-rk.csv", "/organization/compliance/markup-org.csv"
        ):
            response = app.get(prefix + path)
            if response.status_code == 404 and lang == "kk":
                pytest.skip("the Kazakh locale is not built on this portal")
            assert response.status_code == 200
            rows = _csv_rows(response.bytes)
            assert all(len(row) == len(rows[0]) for row in rows), "a title broke the CSV's rows"
            cells = [cell for row in rows for cell in row]
            assert not [c for c in cells if c.startswith(exports.FORMULA_TRIGGERS)], path
            titles = [row[1] for row in rows[1:]]
            if "markup-org" in path:
                assert titles == [f"{lang.upper()} {MARKUP}"]
            else:
                for formula in FORMULAS:
                    # As stored (the Russian and English titles lose surrounding whitespace), neutralised.
                    stored = formula if lang == "kk" else f"{formula} {lang}".strip()
                    assert exports.neutralise(stored) in titles, (stored, titles)

    def test_json_keeps_formulas_as_they_are(self, app, world, formulas):
        data = app.get("/compliance.json").json
        titles = {r["name"]: r["title"] for r in data["results"]}
        for n, formula in enumerate(FORMULAS):
            assert titles[f"formula-{n}"] == f"{formula} en".strip()


# ------------------------------------------------------------------------------------------------ calendar


INJECTED = "Injected\r\nBEGIN:VEVENT\r\nUID:evil\r\nSUMMARY:evil\r\nEND:VEVENT\r\nX-EVIL:1"


class TestCalendarFeeds:
    def test_a_title_cannot_add_events_or_lines(self, app, world):
        org = factories.Organization(name="ics-org", title=f"Org {INJECTED}", title_en=f"Org {INJECTED}")
        bad = factories.Dataset(owner_org=org["id"], name="ics-bad", title=f"KK {INJECTED}",
                                title_ru=f"RU {INJECTED}", title_en=f"EN {INJECTED}\nEND:VCALENDAR", **legal(60))
        good = factories.Dataset(owner_org=org["id"], name="ics-good", title="Good", title_en="Good", **legal(61))
        portal = icalendar.Calendar.from_ical(app.get("/compliance/calendar.ics").data)
        # Both datasets have the same rule: as many due dates in the window each.
        expected = len([e for e in portal.walk("VEVENT") if str(e["uid"]).startswith(good["id"])])
        assert expected >= 1
        for lang in ("en", "ru", "kk"):
            for path in ("/compliance/calendar.ics", "/organization/ics-org/calendar.ics",
                         "/dataset/ics-bad/calendar.ics"):
                response = app.get(path, query_string={"lang": lang})
                assert response.status_code == 200, (path, lang)
                cal = icalendar.Calendar.from_ical(response.data)
                events = cal.walk("VEVENT")
                uids = [str(e["uid"]) for e in events]
                assert "evil" not in uids
                # Exactly the events the feed means, each its own: one per raw BEGIN line.
                raw_lines = response.data.decode("utf-8").split("\r\n")
                assert raw_lines.count("BEGIN:VEVENT") == len(events)
                assert raw_lines.count("END:VCALENDAR") == 1 and raw_lines[-2] == "END:VCALENDAR"
                assert not [line for line in raw_lines if line.startswith(("X-EVIL", "SUMMARY:evil"))]
                bad_events = [e for e in events if str(e["uid"]).startswith(bad["id"])]
                assert len(bad_events) == expected, (path, lang)
                assert len(events) == expected * (1 if "ics-bad" in path else 2) + (
                    len([e for e in events if not str(e["uid"]).startswith((bad["id"], good["id"]))])
                ), "an event the feed does not mean"
                title = {"en": f"EN {INJECTED}\nEND:VCALENDAR", "ru": f"RU {INJECTED}", "kk": f"KK {INJECTED}"}[lang]
                for event in bad_events:
                    assert title.replace("\r\n", "\n") in str(event["summary"]).replace("\r\n", "\n")
            # The dataset's own feed names it in its calendar name: a property value, not new lines.
            own = app.get("/dataset/ics-bad/calendar.ics", query_string={"lang": lang})
            cal = icalendar.Calendar.from_ical(own.data)
            assert "Injected" in str(cal["x-wr-calname"])


# ------------------------------------------------------------------------------------------------ reminder e-mails


def _parts(message: email.message.EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


VICTIM = "victim@evil.example"
HEADER_INJECTION = f"\r\nBcc: {VICTIM}\r\nSubject: injected\r\n\r\n"


class TestReminderEmails:
    def test_titles_and_names_cannot_inject_headers_and_markup_is_escaped(self, app, world, smtp):
        user = factories.User(name="named_editor", email="named@example.kz",
                              fullname=f"Name {SCRIPT}{HEADER_INJECTION}")
        org = factories.Organization(name="mail-org", users=[{"name": user["name"], "capacity": "editor"}])
        factories.Dataset(
            owner_org=org["id"], name="mail-markup", maintainer_email="maint@example.kz",
            title=f"KK {MARKUP}{HEADER_INJECTION}", title_ru=f"RU {MARKUP}{HEADER_INJECTION}",
            title_en=f"EN {MARKUP}{HEADER_INJECTION}", **legal(44),
        )
        with app.flask_app.test_request_context():
            report = reminders.send_reminders(as_of=dt.date(2026, 12, 1))
        assert smtp.received, "no reminder was sent"
        assert VICTIM not in smtp.recipients
        told = {}
        for recipients, message, raw in smtp.received:
            assert not message.get_all("Bcc") and len(message.get_all("Subject")) == 1
            assert "injected" not in message["Subject"]
            # A name with line breaks stays a display name, on one line: it adds no address and no header.
            assert [address for _, address in email.utils.getaddresses(message.get_all("To"))] == recipients
            headers = raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
            lines = headers.split("\r\n")
            assert not [line for line in lines if line.lower().startswith(("bcc:", "subject: injected"))]
            text, html = _parts(message)
            if "mail-markup" in text:
                told[recipients[0]] = (text, html)
                _no_live_markup(html, f"e-mail to {recipients}")
                assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
                assert MARKUP in _soup(html).get_text()
        # Both people who should hear about it did, the editor whatever their name holds.
        assert set(told) == {"maint@example.kz", "named@example.kz"}, (set(told), report.failures)
        assert not report.failures


# ------------------------------------------------------------------------------------------------ private datasets


HIDDEN_TITLES = ("ZqHiddenKK", "ZqHiddenRU", "ZqHiddenEN")


@pytest.fixture
def hidden(world) -> dict[str, Any]:
    dataset = factories.Dataset(
        owner_org=world["org"]["id"], name="hidden-zz", private=True,
        title=HIDDEN_TITLES[0], title_ru=HIDDEN_TITLES[1], title_en=HIDDEN_TITLES[2],
        maintainer_email="hidden-maint@example.kz", **legal(45),
    )
    publish(dataset, dt.datetime(2025, 11, 2, 6, 0), resource_id="r-hidden")
    return dataset


def _secrets(dataset: dict[str, Any]) -> tuple[str, ...]:
    return (*HIDDEN_TITLES, dataset["id"], dataset["name"])


def _status_facet_total(app, headers: dict[str, str]) -> int:
    response = app.get(
        "/api/3/action/package_search",
        query_string={"facet.field": json.dumps(["mes_schedule_status"]), "include_private": "true", "rows": "0"},
        headers=headers,
    )
    assert response.status_code == 200
    items = response.json["result"]["search_facets"].get("mes_schedule_status", {}).get("items", [])
    return sum(item["count"] for item in items)


@pytest.mark.parametrize(
    "role, sees", [("anonymous", False), ("other_member", False), ("other_editor", False), ("member", True)]
)
def test_a_private_dataset_never_shows_to_those_who_may_not_see_it(app, world, hidden, smtp, role, sees):
    """The role "member" (of the dataset's organisation) is the control: the checks would see the dataset if
    it were there."""
    user = world.get(role)
    headers = _headers(user)
    secrets = _secrets(hidden)

    def absent(body: str, where: str, asked_for: bool = False) -> None:
        # Where the address itself names the dataset, its name and id may come back (the asker knew them).
        leaked = [s for s in (HIDDEN_TITLES if asked_for else secrets) if s in body]
        assert sees or not leaked, (where, leaked)

    # The dataset's own addresses: not found (never "forbidden", which would say it exists).
    for path in ("/dataset/hidden-zz", "/dataset/hidden-zz/compliance", "/dataset/hidden-zz/compliance.svg",
                 f"/dataset/{hidden['id']}/compliance.svg", "/dataset/hidden-zz/calendar.ics"):
        response = app.get(path, headers=headers)
        assert response.status_code == (200 if sees else 404), (path, response.status_code)
        absent(response.body, path, asked_for=True)

    # Lists, downloads and search: absent, and not counted.
    for path in ("/compliance", "/compliance.csv", "/compliance.json", "/organization/compliance/mes-rk",
                 "/organization/compliance/mes-rk.csv", "/organization/compliance/mes-rk.json",
                 "/dataset/?q=Zq", "/dashboard/deadlines" if user else "/dataset/"):
        response = app.get(path, headers=headers)
        assert response.status_code == 200, (path, response.status_code)
        if sees:
            assert HIDDEN_TITLES[2] in response.body or path == "/dashboard/deadlines", path
        absent(response.body, path)
    visible = {r["name"] for r in app.get("/compliance.json", headers=headers).json["results"]}
    assert ("hidden-zz" in visible) is sees
    total = app.get("/compliance.json", headers=headers).json["summary"]["total"]
    assert total == len(visible)

    # The actions, over the API.
    listed = app.get("/api/3/action/mes_schedule_compliance_list", query_string={"q": "Zq"}, headers=headers)
    assert [r["name"] for r in listed.json["result"]["results"]] == (["hidden-zz"] if sees else [])
    assert listed.json["result"]["summary"]["total"] == (1 if sees else 0)
    for action, params in (("mes_schedule_compliance_show", {"id": "hidden-zz"}),
                           ("mes_schedule_publication_list", {"id": "hidden-zz"}),
                           ("mes_schedule_event_list", {"package_id": "hidden-zz"})):
        response = app.get(f"/api/3/action/{action}", query_string=params, headers=headers)
        assert response.status_code == (200 if sees else 403), (action, response.status_code)
        absent(response.body, action, asked_for=True)

    # The search facet counts it only for those who see it.
    public_total = _status_facet_total(app, {})
    assert _status_facet_total(app, headers) == public_total + (1 if sees else 0)

    # Calendar feeds, by API token as calendar programs use them.
    for path in ("/compliance/calendar.ics", "/organization/mes-rk/calendar.ics"):
        response = app.get(path, headers=headers)
        assert response.status_code == 200
        uids = [str(e["uid"]) for e in icalendar.Calendar.from_ical(response.data).walk("VEVENT")]
        assert any(uid.startswith(hidden["id"]) for uid in uids) is sees, path
        absent(response.body, path)

    # A reminder run: only its organisation's staff and its maintainer hear about it.
    with app.flask_app.test_request_context():
        report = reminders.send_reminders(as_of=dt.date(2026, 12, 1))
    assert not report.failures
    told = {r for rcpts, message, _ in smtp.received for r in rcpts
            if any(s in _parts(message)[0] + _parts(message)[1] for s in ("hidden-zz", *HIDDEN_TITLES))}
    staff = {world[r]["email"].lower() for r in ("admin", "editor")}
    assert told == staff | {"hidden-maint@example.kz"}
    if role == "other_editor":
        # The other organisation's editor was told about their own organisation's dataset, and only that.
        (own,) = [m for rcpts, m, _ in smtp.received if user["email"].lower() in rcpts]
        assert "elsewhere" in _parts(own)[0]


# ------------------------------------------------------------------------------------------ collaborators


@pytest.mark.ckan_config("ckan.auth.allow_dataset_collaborators", "true")
def test_a_private_dataset_shows_to_its_collaborators_only(app, world):
    # A collaborator who is no member of the organisation sees the private dataset on the compliance pages;
    # nobody else outside it does. (Reading collaborations once failed with an AttributeError, a 500.)
    hidden = factories.Dataset(owner_org=world["org"]["id"], name="draft-register", private=True, **legal(9))
    collaborator = factories.UserWithToken()
    helpers.call_action("package_collaborator_create", id=hidden["id"], user_id=collaborator["id"],
                        capacity="editor")
    seen = app.get("/compliance.json", headers={"Authorization": collaborator["token"]})
    assert seen.status_code == 200 and "draft-register" in {r["name"] for r in seen.json["results"]}
    unseen = app.get("/compliance.json", headers={"Authorization": world["other_member"]["token"]})
    assert "draft-register" not in {r["name"] for r in unseen.json["results"]}
