"""Calendar feeds: one all-day VEVENT per due date in the window, valid iCalendar, parsed back with icalendar."""
from __future__ import annotations

import datetime as dt
from typing import Any

import icalendar
import pytest

import ckan.model as model
import ckan.tests.factories as factories

from ckanext.mes_schedule import calendar_feed, compliance, reminders
from ckanext.mes_schedule.model import Event, Publication

ANNUAL = "http://publications.europa.eu/resource/authority/frequency/ANNUAL"
QUARTERLY = "http://publications.europa.eu/resource/authority/frequency/QUARTERLY"
IRREG = "http://publications.europa.eu/resource/authority/frequency/IRREG"
TODAY = dt.date(2026, 11, 26)


def _legal(item: int, rule: str, frequency: str = ANNUAL) -> dict[str, Any]:
    return {
        "mes_schedule_item": item,
        "mes_schedule_act_number": "120",
        "mes_schedule_act_date": "2016-01-29",
        "mes_schedule_act_registration": "13381",
        "mes_schedule_frequency": frequency,
        "mes_schedule_rule": rule,
        "mes_schedule_deadline_kk": "мерзімі",
    }


def _parse(body: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(body)


def _events(cal: icalendar.Calendar) -> list[icalendar.Event]:
    return [c for c in cal.walk("VEVENT")]


def _build(app, rows, lang: str = "en", months: int | None = None, name: str = "Deadlines") -> bytes:
    with app.flask_app.test_request_context(), reminders.forced_locale(lang):
        return calendar_feed.build_calendar(rows, name, lang, today=TODAY, months=months)


@pytest.fixture
def data(with_plugins, clean_db, clean_index):
    member = factories.User(name="ministry_member")
    org = factories.Organization(name="ministry", users=[{"name": member["name"], "capacity": "member"}])
    annual = factories.Dataset(
        name="annual-report", title="Жылдық есеп", title_ru="Годовой отчёт", title_en="Annual report",
        owner_org=org["id"], **_legal(5, "annual quarter=4"),
    )
    quarterly = factories.Dataset(
        name="quarterly-stats", title="Тоқсандық", title_en="Quarterly statistics",
        owner_org=org["id"], **_legal(6, "quarterly day=10", QUARTERLY),
    )
    private = factories.Dataset(
        name="private-annual", title="Жабық", title_en="Closed one", owner_org=org["id"], private=True,
        **_legal(7, "annual month=12"),
    )
    event = factories.Dataset(
        name="event-driven", title="Оқиға", title_en="Event driven", owner_org=org["id"],
        **_legal(8, "event working-days=10 max-per-year=2", IRREG),
    )
    established = factories.Dataset(
        name="as-established", title="Белгіленген", owner_org=org["id"], **_legal(9, "as-established", IRREG)
    )
    return {"member": member, "org": org, "annual": annual, "quarterly": quarterly, "private": private,
            "event": event, "established": established}


def _rows(names: list[str] | None = None, visibility: compliance.Visibility | None = None):
    rows = compliance.assess_datasets(as_of=TODAY, visibility=visibility)
    return [r for r in rows if names is None or r.dataset.name in names]


class TestBuildCalendar:
    def test_one_all_day_event_per_due_date_in_the_next_twelve_months(self, app, data):
        cal = _parse(_build(app, _rows(["annual-report", "quarterly-stats"])))
        events = _events(cal)
        by_dataset: dict[str, list[dt.date]] = {}
        for event in events:
            start = event.decoded("dtstart")
            assert type(start) is dt.date  # a DATE value, not a date-time
            assert event.decoded("dtend") == start + dt.timedelta(days=1)
            by_dataset.setdefault(str(event["url"]).rsplit("/", 1)[-1], []).append(start)
        assert by_dataset == {
            "annual-report": [dt.date(2026, 12, 31)],
            # 10 Jan 2027 is a Sunday, 10 Apr and 10 Jul are Saturdays, 10 Oct a Sunday.
            "quarterly-stats": [dt.date(2027, 1, 11), dt.date(2027, 4, 12), dt.date(2027, 7, 12),
                                dt.date(2027, 10, 11)],
        }

    def test_the_calendar_is_valid_rfc_5545(self, app, data):
        body = _build(app, _rows(), name="Order No. 120 deadlines")
        assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")
        assert all(len(line) <= 75 for line in body.split(b"\r\n"))  # folded at 75 octets
        cal = _parse(body)
        assert str(cal["version"]) == "2.0"
        assert str(cal["prodid"]) == calendar_feed.PRODID
        assert str(cal["x-wr-calname"]) == "Order No. 120 deadlines"
        for event in _events(cal):
            for prop in ("uid", "dtstamp", "dtstart", "summary", "url", "description"):
                assert prop in event, prop

    def test_uids_are_the_dataset_and_the_period_and_stable(self, app, data):
        # The period, not its due date: a moved due date keeps the event (issue 14).
        first = {str(e["uid"]) for e in _events(_parse(_build(app, _rows(["annual-report"]))))}
        again = {str(e["uid"]) for e in _events(_parse(_build(app, _rows(["annual-report"]))))}
        assert first == again == {f"{data['annual']['id']}-2026@test.ckan.net"}
        quarterly = {str(e["uid"]).split("-", 5)[-1] for e in
                     _events(_parse(_build(app, _rows(["quarterly-stats"]))))}
        assert quarterly == {"2026-Q4@test.ckan.net", "2027-Q1@test.ckan.net", "2027-Q2@test.ckan.net",
                             "2027-Q3@test.ckan.net"}

    def test_the_same_data_give_the_same_bytes(self, app, data):
        # DTSTAMP is the event's LAST-MODIFIED, not the time of the request: the ETag of a feed stays put.
        assert _build(app, _rows()) == _build(app, _rows())

    def test_sequence_last_modified_and_refresh_interval(self, app, data):
        body = _build(app, _rows(["annual-report"]))
        assert b"REFRESH-INTERVAL;VALUE=DURATION:PT12H\r\n" in body
        assert b"X-PUBLISHED-TTL:PT12H\r\n" in body
        (event,) = _events(_parse(body))
        assert event.decoded("sequence") == 0
        modified = model.Package.get("annual-report").metadata_modified
        assert event.decoded("last-modified") == modified.replace(microsecond=0, tzinfo=dt.timezone.utc)
        assert event.decoded("dtstamp") == event.decoded("last-modified")

    @pytest.mark.parametrize("lang, categories", [
        ("en", ["Order 120", "Annual"]), ("ru", ["Приказ №120", "Ежегодно"]), ("kk", ["№120 бұйрық", "Жыл сайын"]),
    ])
    def test_categories_in_the_feeds_language(self, app, data, lang, categories):
        (event,) = _events(_parse(_build(app, _rows(["annual-report"]), lang=lang)))
        assert [str(c) for c in event["categories"].cats] == categories

    def test_summary_and_description_name_the_dataset_link_and_rule(self, app, data):
        (event,) = _events(_parse(_build(app, _rows(["annual-report"]))))
        assert "Annual report" in str(event["summary"])
        assert str(event["url"]) == "http://test.ckan.net/dataset/annual-report"
        description = str(event["description"])
        assert "http://test.ckan.net/dataset/annual-report" in description
        assert "quarter IV" in description  # the rule in words
        (ru,) = _events(_parse(_build(app, _rows(["annual-report"]), lang="ru")))
        assert "Годовой отчёт" in str(ru["summary"])

    def test_a_published_period_says_so(self, app, data):
        model.Session.add(Publication(package_id=data["annual"]["id"], resource_id="r1", kind="backfill",
                                      published_at=dt.datetime(2026, 11, 2, 6, 0)))
        model.Session.commit()
        (event,) = _events(_parse(_build(app, _rows(["annual-report"]))))
        assert "November 2, 2026" in str(event["description"])

    def test_the_window_is_configurable(self, app, data):
        assert _events(_parse(_build(app, _rows(["annual-report", "quarterly-stats"]), months=1))) == []
        assert len(_events(_parse(_build(app, _rows(["annual-report", "quarterly-stats"]), months=2)))) == 2

    @pytest.mark.ckan_config("ckanext.mes_schedule.calendar_months", "3")
    def test_the_configured_window_is_the_default(self, app, data):
        assert calendar_feed.window(TODAY) == (TODAY, dt.date(2027, 2, 26))
        assert len(_events(_parse(_build(app, _rows(["annual-report", "quarterly-stats"]))))) == 2

    def test_event_driven_datasets_have_dates_only_once_an_event_is_recorded(self, app, data):
        assert _events(_parse(_build(app, _rows(["event-driven", "as-established"])))) == []
        model.Session.add(Event(package_id=data["event"]["id"], event_date=dt.date(2026, 11, 20)))
        model.Session.commit()
        (event,) = _events(_parse(_build(app, _rows(["event-driven", "as-established"]))))
        # 10 working days after Friday 20 November 2026.
        assert event.decoded("dtstart") == dt.date(2026, 12, 4)

    def test_private_datasets_follow_the_visibility(self, app, data):
        anonymous = compliance.Visibility(False, frozenset(), frozenset())
        body = _build(app, _rows(visibility=anonymous))
        assert data["private"]["id"].encode() not in body and b"Closed one" not in body
        member = compliance.visibility_for(data["member"]["name"])
        assert data["private"]["id"].encode() in _build(app, _rows(visibility=member))
