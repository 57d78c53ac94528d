"""Publisher pages: the calendar feeds over HTTP (private datasets only with an API token), "My deadlines" on
the dashboard, and the upload outlook for a dataset's editors."""
from __future__ import annotations

import datetime as dt
from typing import Any

import icalendar
import pytest

import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories

from ckanext.mes_schedule import calendar_feed, compliance
from ckanext.mes_schedule.helpers.publisher import deadline_rows, upload_outlook
from ckanext.mes_schedule.localization import ui_lang
from tests.fixtures import legal, publish, staffed_organization


@pytest.fixture
def data(with_plugins, clean_db, clean_index):
    password = "Publisher-Pass-2026"
    org, staff = staffed_organization(
        "editor", "member", prefix="the", password=password,
        name="ministry", title="Министрлік", title_ru="Министерство", title_en="Ministry",
    )
    editor, member = staff["editor"], staff["member"]
    outsider = factories.UserWithToken(name="the_outsider")
    other_org = factories.Organization(name="other-org")
    public = factories.Dataset(
        name="annual-report", title="Жылдық есеп", title_ru="Годовой отчёт", title_en="Annual report",
        owner_org=org["id"], **legal(5, "annual quarter=4"),
    )
    quarterly = factories.Dataset(
        name="quarterly-stats", title="Тоқсандық", title_en="Quarterly statistics", owner_org=org["id"],
        **legal(6, "quarterly day=10", "QUARTERLY"),
    )
    private = factories.Dataset(
        name="private-annual", title="Жабық", title_en="Closed one", owner_org=org["id"], private=True,
        **legal(7, "annual quarter=4"),
    )
    established = factories.Dataset(
        name="as-established", title="Белгіленген", title_en="As established", owner_org=org["id"],
        **legal(9, "as-established", "IRREG"),
    )
    elsewhere = factories.Dataset(name="elsewhere", title_en="Elsewhere", owner_org=other_org["id"],
                                  **legal(10, "annual quarter=4"))
    group = factories.Group(name="a-group")
    return {"password": password, "editor": editor, "member": member, "outsider": outsider, "org": org,
            "public": public, "quarterly": quarterly, "private": private, "established": established,
            "elsewhere": elsewhere, "group": group}


def _calendar(response) -> icalendar.Calendar:
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.data)


def _datasets_in(cal: icalendar.Calendar) -> set[str]:
    return {str(e["url"]).rsplit("/", 1)[-1] for e in cal.walk("VEVENT")}


def _expected_events(names: list[str]) -> int:
    """What the feed should hold today: the due dates of these datasets in the configured window."""
    first, last = calendar_feed.window(compliance.today())
    return sum(
        len(calendar_feed.upcoming_due_dates(r, (), first, last))
        for r in compliance.assess_datasets()
        if r.dataset.name in names
    )


def _auth(user: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": user["token"]}


class TestPortalCalendar:
    def test_anonymous_feed_lists_public_datasets_one_event_per_due_date(self, app, data):
        cal = _calendar(app.get("/compliance/calendar.ics"))
        assert _datasets_in(cal) == {"annual-report", "quarterly-stats", "elsewhere"}
        assert len(cal.walk("VEVENT")) == _expected_events(["annual-report", "quarterly-stats", "elsewhere"])
        assert "Order No. 120" in str(cal["x-wr-calname"])

    def test_an_api_token_of_a_member_adds_the_private_datasets(self, app, data):
        cal = _calendar(app.get("/compliance/calendar.ics", headers=_auth(data["member"])))
        assert "private-annual" in _datasets_in(cal)
        outsider = _calendar(app.get("/compliance/calendar.ics", headers=_auth(data["outsider"])))
        assert "private-annual" not in _datasets_in(outsider)

    def test_a_browser_session_without_token_gets_the_public_feed(self, app, data):
        login = app.post(
            tk.h.url_for("user.login"),
            data={"login": "the_editor", "password": data["password"]},
            follow_redirects=False,
        )
        assert login.status_code == 302
        # The session cookie, sent explicitly (the test clients of CKAN 2.11 and 2.12 keep cookies differently).
        cookie = {"Cookie": login.headers["Set-Cookie"].split(";", 1)[0]}
        # The session works: its user sees the private dataset on their dashboard...
        dashboard = app.get("/dashboard/deadlines", headers=cookie, follow_redirects=False)
        if dashboard.status_code == 302:
            pytest.skip("this CKAN's test client does not carry the login session (CKAN 2.11)")
        assert 'data-dataset="private-annual"' in dashboard.body
        cal = _calendar(app.get("/compliance/calendar.ics", headers=cookie))
        assert "private-annual" not in _datasets_in(cal)  # ...but the feed does not use it
        assert app.get("/dataset/private-annual/calendar.ics", headers=cookie).status_code == 404

    def test_an_invalid_token_is_refused(self, app, data):
        response = app.get("/compliance/calendar.ics", headers={"Authorization": "not-a-token"})
        assert response.status_code == 403

    def test_the_language_can_be_chosen(self, app, data):
        cal = _calendar(app.get("/compliance/calendar.ics?lang=ru"))
        summaries = {str(e["summary"]) for e in cal.walk("VEVENT")}
        assert any("Годовой отчёт" in s for s in summaries)
        assert app.get("/compliance/calendar.ics?lang=de").status_code == 400


class TestOrganizationAndDatasetCalendars:
    def test_organization_feed(self, app, data):
        cal = _calendar(app.get("/organization/ministry/calendar.ics"))
        assert _datasets_in(cal) == {"annual-report", "quarterly-stats"}
        assert "Ministry" in str(cal["x-wr-calname"])
        by_id = _calendar(app.get(f"/organization/{data['org']['id']}/calendar.ics", headers=_auth(data["member"])))
        assert _datasets_in(by_id) == {"annual-report", "quarterly-stats", "private-annual"}

    def test_unknown_organization_or_a_group_is_404(self, app, data):
        assert app.get("/organization/no-such-org/calendar.ics").status_code == 404
        assert app.get("/organization/a-group/calendar.ics").status_code == 404

    def test_dataset_feed(self, app, data):
        cal = _calendar(app.get("/dataset/quarterly-stats/calendar.ics"))
        assert _datasets_in(cal) == {"quarterly-stats"}
        assert len(cal.walk("VEVENT")) == _expected_events(["quarterly-stats"])
        assert _datasets_in(_calendar(app.get("/dataset/as-established/calendar.ics"))) == set()

    def test_private_dataset_feed_needs_a_token_that_may_see_it(self, app, data):
        assert app.get("/dataset/private-annual/calendar.ics").status_code == 404
        assert app.get("/dataset/private-annual/calendar.ics", headers=_auth(data["outsider"])).status_code == 404
        cal = _calendar(app.get("/dataset/private-annual/calendar.ics", headers=_auth(data["member"])))
        assert _datasets_in(cal) == {"private-annual"}
        response = app.get("/dataset/private-annual/calendar.ics", headers=_auth(data["member"]))
        assert "private" in response.headers["Cache-Control"]

    def test_unknown_dataset_is_404(self, app, data):
        assert app.get("/dataset/no-such-dataset/calendar.ics").status_code == 404


class TestMyDeadlines:
    def test_anonymous_users_are_sent_to_the_login_page(self, app, data):
        response = app.get("/dashboard/deadlines", follow_redirects=False)
        assert response.status_code == 302
        assert "/user/login" in response.headers["Location"]

    def test_an_editor_sees_the_datasets_they_can_edit_soonest_first(self, app, data):
        response = app.get("/dashboard/deadlines", headers=_auth(data["editor"]))
        assert response.status_code == 200
        body = response.body
        for name in ("annual-report", "quarterly-stats", "private-annual", "as-established"):
            assert f'data-dataset="{name}"' in body
        assert 'data-dataset="elsewhere"' not in body
        with app.flask_app.test_request_context():
            lang = ui_lang()  # ties are broken by title, in the page's language
        expected = [d.dataset.name for d in deadline_rows("the_editor", lang)]
        positions = [body.index(f'data-dataset="{name}"') for name in expected]
        assert positions == sorted(positions)
        # "My deadlines" is a tab of the dashboard, and only once.
        nav = body[body.index('class="nav nav-tabs"'):]
        nav = nav[: nav.index("</ul>")]
        assert nav.count('href="/dashboard/deadlines"') == 1

    def test_a_plain_member_edits_nothing(self, app, data):
        response = app.get("/dashboard/deadlines", headers=_auth(data["member"]))
        assert response.status_code == 200
        assert "data-dataset=" not in response.body

    def test_order_on_a_given_day(self, data):
        rows = deadline_rows("the_editor", "en", as_of=dt.date(2026, 11, 26))
        # The quarterly Q3 deadline (12 Oct) is past and unpublished: first; the annual ones are due 31 Dec;
        # no deadline comes last.
        assert [r.dataset.name for r in rows] == [
            "quarterly-stats", "annual-report", "private-annual", "as-established"
        ]
        assert [r.act_by for r in rows] == [dt.date(2026, 10, 12), dt.date(2026, 12, 31), dt.date(2026, 12, 31), None]
        assert rows[0].status == "never_published"


class TestUploadOutlook:
    def test_an_open_period_is_on_time(self, data):
        outlook = upload_outlook(data["public"]["id"], as_of=dt.date(2026, 11, 26))
        assert outlook["case"] == "period"
        assert outlook["due"] == dt.date(2026, 12, 31) and outlook["days"] == 35
        assert outlook["on_time"] is True and outlook["published"] is None
        assert outlook["period"].label == "2026"

    def test_after_the_deadline_an_upload_counts_for_the_same_period_late(self, data):
        outlook = upload_outlook(data["public"]["id"], as_of=dt.date(2027, 2, 15))
        assert outlook["period"].label == "2026"
        assert outlook["on_time"] is False and outlook["days"] == -46
        assert outlook["next_due"] == dt.date(2027, 12, 31)

    def test_quarterly_counts_for_the_reporting_quarter(self, data):
        outlook = upload_outlook(data["quarterly"]["id"], as_of=dt.date(2026, 11, 26))
        assert outlook["period"].covers == "2026 Q3"
        assert outlook["on_time"] is False and outlook["next_due"] == dt.date(2027, 1, 11)

    def test_an_already_published_period(self, data):
        publish(data["public"], dt.datetime(2026, 11, 2, 6, 0), kind="backfill")
        outlook = upload_outlook(data["public"]["id"], as_of=dt.date(2026, 11, 26))
        assert outlook["published"] == "on_time" and outlook["first_published"] == dt.date(2026, 11, 2)

    def test_no_deadline_and_awaiting_an_event(self, data):
        assert upload_outlook(data["established"]["id"])["case"] == "no_deadline"
        event = factories.Dataset(
            owner_org=data["org"]["id"], **legal(11, "event working-days=10 max-per-year=2", "IRREG")
        )
        assert upload_outlook(event["id"])["case"] == "awaiting_event"
        assert upload_outlook(factories.Dataset(owner_org=data["org"]["id"])["id"]) is None

    def test_the_snippet_renders_for_a_scheduled_dataset(self, app, data):
        with app.flask_app.test_request_context():
            pkg = tk.get_action("package_show")({"ignore_auth": True}, {"id": "annual-report"})
            html = tk.render_snippet("mes_schedule/snippets/upload_outlook.html", {"pkg": pkg})
            established = tk.get_action("package_show")({"ignore_auth": True}, {"id": "as-established"})
            none_html = tk.render_snippet("mes_schedule/snippets/upload_outlook.html", {"pkg": established})
            outside = tk.render_snippet("mes_schedule/snippets/upload_outlook.html", {"pkg": {"id": "x", "name": "x"}})
        assert "mes-outlook-period" in html
        assert "/dataset/annual-report/calendar.ics" in html
        assert "mes-outlook-no_deadline" in none_html
        assert outside.strip() == ""
