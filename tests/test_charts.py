"""Compliance over time: each dataset's period strip, the portal's and organisations' charts, the missed
deadlines of the summaries, on the real stack.

A small portfolio checked by hand: three annual datasets ("annual quarter=4": a period a year, window from
1 October, due at the year's end, moved to the next working day), assessed on 2026-02-15, when ten periods
(2016 to 2025) have fallen due:

- `mixed` (mes-rk, public): 2016 on time, 2017 late, 2024 on time, the seven others missed;
- `hidden` (mes-rk, private): nothing published, ten missed;
- `elsewhere` (akimat, public): 2025 on time, nine missed.
"""
from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from typing import Any, Iterator

import pytest
from bs4 import BeautifulSoup

import ckan.plugins
import ckan.tests.factories as factories

from ckanext.mes_schedule import charts, compliance, schedule, strip, vocab
from tests.fixtures import fresh_database, legal, publish, staffed_organization

pytestmark = pytest.mark.usefixtures("with_plugins")

AS_OF = "2026-02-15"
DAY = dt.date.fromisoformat(AS_OF)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def world(reset_db: Any, reset_index: Any, migrate_db_for: Any) -> Iterator[dict[str, Any]]:
    """Built once for the module: every test only reads."""
    ckan.plugins.load_all()
    try:
        fresh_database(reset_db, reset_index, migrate_db_for)
        sysadmin = factories.SysadminWithToken()
        org, staff = staffed_organization("member", name="mes-rk", title="Министрлік", title_en="The Ministry")
        other = factories.Organization(name="akimat", title="Әкімдік")

        def make(name: str, item: int, owner: dict, **extra: Any) -> dict:
            return factories.Dataset(
                name=name, title=f"Деректер {item}", title_en=f"Data {item}", owner_org=owner["id"], **legal(item),
                **extra,
            )

        datasets = {
            "mixed": make("mixed", 5, org),
            "hidden": make("hidden", 6, org, private=True),
            "elsewhere": make("elsewhere", 7, other),
            "unscheduled": factories.Dataset(name="unscheduled", owner_org=org["id"]),
        }
        publish(datasets["mixed"], "2016-11-10", "2018-01-20", "2024-12-01")
        publish(datasets["elsewhere"], "2025-11-01")
        tokens = {"sysadmin": sysadmin["token"], "member": staff["member"]["token"]}
        yield {"org": org, "datasets": datasets, "tokens": tokens, "sysadmin": sysadmin["name"]}
    finally:
        ckan.plugins.unload_all()


def _auth(world: dict[str, Any], role: str) -> dict[str, str]:
    return {"Authorization": world["tokens"][role]} if role != "anonymous" else {}


def _xml(response) -> ET.Element:
    assert response.headers["Content-Type"] == "image/svg+xml; charset=utf-8"
    return ET.fromstring(response.bytes)  # well-formed XML, or this fails


def _cells(root: ET.Element) -> list[tuple[str, str, str]]:
    """(outcome, fill colour, hover text) of each cell of a strip, left to right."""
    out = []
    for g in root.iter(f"{SVG}g"):
        if g.get("data-outcome"):
            rect = g.find(f"{SVG}rect")
            out.append((g.get("data-outcome"), rect.get("fill") if rect.get("fill") != "#fff" else rect.get("stroke"),
                        g.find(f"{SVG}title").text))
    return out


def _bar_total(root: ET.Element) -> int:
    """The sum of the numbers a chart's bars say on hover ("2019: 3")."""
    titles = [t.text for g in root.iter(f"{SVG}g") if g.get("class") == "bar" for t in g.findall(f"{SVG}title")]
    return sum(int(text.rsplit(": ", 1)[1]) for text in titles)


def _rows(user: str = "") -> list[compliance.ComplianceRow]:
    return compliance.assess_datasets(as_of=DAY, visibility=compliance.visibility_for(user))


def _soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.body, "html.parser")


class TestPeriodStrip:
    def test_cells_colours_and_titles_are_the_engines_outcomes(self, app, world):
        response = app.get("/dataset/mixed/periods.svg", query_string={"as_of": AS_OF, "lang": "en"})
        root = _xml(response)
        [row] = [r for r in _rows() if r.dataset.name == "mixed"]
        cells = _cells(root)
        assert [c[0] for c in cells] == [o.outcome for o in row.assessment.periods]  # oldest left
        assert [c[0] for c in cells] == ["on_time", "late", *["missed"] * 6, "on_time", "missed"]
        assert all(colour == vocab.OUTCOME_COLOURS[outcome] for outcome, colour, _ in cells)
        assert root.get("role") == "img"
        assert root.get("aria-label") == "10 periods: On time 2; Late 1; Missed 7"
        first, late, missed = cells[0][2], cells[1][2], cells[-1][2]
        assert first.startswith("year 2016: On time\nDue: ") and first.endswith("First published: November 10, 2016")
        assert late.startswith("year 2017: Late") and late.endswith("First published: January 20, 2018")
        assert missed.startswith("year 2025: Missed\nDue: December 31, 2025") and missed.endswith("Not published")
        assert response.headers["Cache-Control"] == "public, no-cache"
        # In the language asked: the outcome words of the vocabulary.
        kk = _xml(app.get("/dataset/mixed/periods.svg", query_string={"as_of": AS_OF, "lang": "kk"}))
        assert "Мерзімінде 2" in kk.get("aria-label") and "Жарияланбаған 7" in kk.get("aria-label")

    def test_the_latest_forty_periods_and_the_texts_escaped(self, app):
        outcomes = schedule.assess("quarterly day=10", [], as_of=dt.date(2026, 11, 20)).periods
        assert len(outcomes) > strip.MAX_PERIODS
        odd = schedule.Period(index=1, opens=DAY, due=DAY, closes=None, label='<x&"y\x01>')
        with app.flask_app.test_request_context():
            svg = strip.render(outcomes, "en")
            small = strip.render(outcomes, "en", limit=strip.SMALL_PERIODS, small=True)
            empty = strip.render((), "en")
            escaped = strip.render([schedule.PeriodOutcome(odd, "open")], "en")
        assert ET.fromstring(escaped).find(f"{SVG}g").get("data-period") == '<x&"y>'
        root = ET.fromstring(svg)
        assert len(_cells(root)) == strip.MAX_PERIODS
        assert _cells(root)[-1][2].startswith("quarter III of 2026")  # the current period, right
        texts = [t.text for t in root.iter(f"{SVG}text")]
        assert f"last 40 of {len(outcomes)}" in texts and "2026" in texts
        assert root.get("aria-label").endswith("The last 40 are shown.")
        assert len(_cells(ET.fromstring(small))) == 12
        assert ET.fromstring(empty).get("aria-label") == "No period has opened yet."

    def test_private_unknown_and_unscheduled_datasets_are_404(self, app, world):
        app.get("/dataset/hidden/periods.svg", status=404)
        app.get("/dataset/no-such/periods.svg", status=404)
        app.get("/dataset/unscheduled/periods.svg", status=404)
        for role in ("member", "sysadmin"):
            response = app.get("/dataset/hidden/periods.svg", headers=_auth(world, role), status=200)
            assert response.headers["Cache-Control"] == "private, no-store"
            assert len(_cells(_xml(response))) >= 10


class TestCharts:
    def test_series_match_the_assessments(self, app, world):
        for name, due, on_time, missed in (("", 20, 3, 17), (world["sysadmin"], 30, 3, 27)):
            rows = _rows(name)
            years = charts.series(rows, "year", DAY)
            quarters = charts.series(rows, "quarter", DAY)
            for buckets in (years, quarters):
                assert (sum(b.due for b in buckets), sum(b.on_time for b in buckets)) == (due, on_time)
                assert sum(b.missed for b in buckets) == missed
            # Each period in the year of its due date, as the engine dates it.
            expected: dict[int, list[int]] = {}
            for row in rows:
                for o in row.assessment.periods:
                    tally = expected.setdefault(o.period.due.year, [0, 0, 0])
                    tally[0] += 1
                    tally[1] += o.outcome == "on_time"
                    tally[2] += o.outcome in ("missed", "late")
            got = {b.year: [b.due, b.on_time, b.missed] for b in years if b.due}
            assert got == expected
            assert years[-1].year == 2026 and years[-1].due == 0 and years[-1].on_time_rate is None
            assert [b.key for b in quarters[-2:]] == ["2025 Q4", "2026 Q1"]
            visibility = compliance.visibility_for(name)
            # Only the 2025 periods fell due in the last twelve months: mixed's and hidden's were missed.
            assert charts.missed_in_last(12, visibility, as_of=DAY) == (2 if name else 1)
            assert charts.missed_in_last(12, visibility, world["org"]["id"], as_of=DAY) == (2 if name else 1)
            assert charts.missed_in_last(120, visibility, as_of=DAY) == missed
        with app.flask_app.test_request_context():
            rows = charts.series_dicts(charts.series(_rows(), "year", DAY))
        assert {"key", "label", "due", "on_time", "missed", "on_time_rate", "rate_text"} <= set(rows[0])

    def test_chart_images_count_what_the_caller_may_see(self, app, world):
        def chart(path: str, role: str = "anonymous", **params: str):
            return app.get(path, query_string={"as_of": AS_OF, **params}, headers=_auth(world, role))

        anonymous = chart("/compliance/chart.svg", measure="missed")
        root = _xml(anonymous)
        assert _bar_total(root) == 17
        assert anonymous.headers["Cache-Control"] == "public, no-cache"
        assert root.get("role") == "img"
        title_id, desc_id = root.get("aria-labelledby").split()
        assert root.find(f"{SVG}title").get("id") == title_id and root.find(f"{SVG}title").text == (
            "Missed deadlines by year"
        )
        assert root.find(f"{SVG}desc").get("id") == desc_id
        assert not list(root.iter(f"{SVG}script"))
        assert b"<script" not in anonymous.bytes and b"<!--" not in anonymous.bytes
        sysadmin = chart("/compliance/chart.svg", "sysadmin", measure="missed")
        assert _bar_total(_xml(sysadmin)) == 27
        assert sysadmin.headers["Cache-Control"] == "private, no-cache"
        # An organisation's chart: its private dataset only for those who may see it.
        assert _bar_total(_xml(chart("/organization/mes-rk/compliance/chart.svg", measure="missed"))) == 8
        assert _bar_total(_xml(chart("/organization/mes-rk/compliance/chart.svg", "member", measure="missed"))) == 18
        by_id = chart(f"/organization/{world['org']['id']}/compliance/chart.svg", measure="missed", by="quarter")
        assert _bar_total(_xml(by_id)) == 8
        # The on-time rate: one bar per year where something fell due, its hover text with the counts.
        rate = _xml(chart("/organization/mes-rk/compliance/chart.svg", "member"))
        titles = [t.text for g in rate.iter(f"{SVG}g") if g.get("class") == "bar" for t in g.findall(f"{SVG}title")]
        assert titles and all(re.fullmatch(r"\d{4}: \d+% \(\d+ of \d+ on time\)", t) for t in titles)
        assert "The Ministry" in rate.find(f"{SVG}desc").text
        app.get("/organization/no-such/compliance/chart.svg", status=404)

    def test_bad_parameters_are_a_400_naming_it(self, app, world):
        for path, params, name in (
            ("/compliance/chart.svg", {"measure": "speed"}, "measure"),
            ("/compliance/chart.svg", {"by": "month"}, "by"),
            ("/compliance/chart.svg", {"lang": "fr"}, "lang"),
            ("/compliance/chart.svg", {"as_of": "2026-13-01"}, "as_of"),
            ("/organization/mes-rk/compliance/chart.svg", {"by": "<b>"}, "by"),
            ("/dataset/mixed/periods.svg", {"lang": "de"}, "lang"),
            ("/dataset/mixed/periods.svg", {"as_of": "soon"}, "as_of"),
        ):
            response = app.get(path, query_string=params, status=400)
            assert f"{name}:" in response.body and "<b>" not in response.body, (path, params)

    def test_etag_and_304(self, app, world):
        for path, params, change in (
            ("/dataset/mixed/periods.svg", {"as_of": AS_OF}, {"lang": "ru"}),
            ("/compliance/chart.svg", {"as_of": AS_OF, "by": "quarter"}, {"measure": "missed"}),
        ):
            first = app.get(path, query_string=params)
            etag = first.headers["ETag"]
            assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
            assert app.get(path, query_string=params).bytes == first.bytes  # the same picture, the same bytes
            again = app.get(path, query_string=params, headers={"If-None-Match": etag})
            assert again.status_code == 304 and again.bytes == b"" and again.headers["ETag"] == etag
            assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
            other = app.get(path, query_string={**params, **change}, headers={"If-None-Match": etag})
            assert other.status_code == 200


class TestPages:
    def test_compliance_pages_show_strips_charts_and_missed_deadlines(self, app, world):
        soup = _soup(app.get("/compliance", query_string={"as_of": AS_OF}))
        strips = {tr["data-name"]: tr.select_one("td.mes-col-title .mes-row-strip svg.mes-strip") for tr in
                  soup.select("table.mes-compliance-table tbody tr")}
        assert set(strips) == {"mixed", "elsewhere"}
        assert strips["mixed"]["aria-label"] == "10 periods: On time 2; Late 1; Missed 7"
        assert len(strips["mixed"].select("g[data-outcome]")) == 10
        assert soup.select(".mes-strip-legend li") and len(soup.select(".mes-strip-legend li")) == 4
        counts = [int(s["data-count"]) for s in soup.select(".mes-summary .mes-missed strong")]
        assert counts == [1, 17]
        over_time = soup.select_one("section.mes-over-time")
        assert len(over_time.select("svg.pygal-chart")) == 2  # the years, inline
        assert not over_time.select("script")
        quarter_images = [img["src"] for img in over_time.select("details.mes-by-quarter img")]
        assert len(quarter_images) == 2 and all("by=quarter" in src for src in quarter_images)
        table = over_time.select_one("figure[data-measure=missed] details table")
        assert sum(int(tr.find_all("td")[1].get_text()) for tr in table.select("tbody tr")) == 17
        # Filters count too: the text filter leaves one dataset, and its missed deadlines.
        filtered = _soup(app.get("/compliance", query_string={"as_of": AS_OF, "q": "Data 7"}))
        assert [int(s["data-count"]) for s in filtered.select(".mes-summary .mes-missed strong")] == [0, 9]
        # The organisation's tab: its private dataset for its member, not for anonymous readers.
        for role, missed in (("anonymous", [1, 8]), ("member", [2, 18])):
            tab = _soup(app.get("/organization/compliance/mes-rk", query_string={"as_of": AS_OF},
                                headers=_auth(world, role)))
            assert [int(s["data-count"]) for s in tab.select(".mes-summary .mes-missed strong")] == missed
            assert len(tab.select("section.mes-over-time svg.pygal-chart")) == 2
        assert app.get("/ru/compliance", query_string={"as_of": AS_OF}).status_code == 200

    def test_dataset_and_history_pages_show_the_strip(self, app, world):
        page = _soup(app.get("/dataset/mixed"))
        section = page.select_one("section.mes-dataset-compliance")
        [row] = [r for r in compliance.assess_datasets(visibility=compliance.visibility_for(""))
                 if r.dataset.name == "mixed"]
        assert len(section.select(".mes-period-strip svg.mes-strip g[data-outcome]")) == len(row.assessment.periods)
        fallback = section.select("details.mes-strip-table tbody tr")
        assert [tr["data-outcome"] for tr in fallback] == [o.outcome for o in reversed(row.assessment.periods)]
        assert fallback[-1].find("th").get_text(strip=True) == "year 2016"
        assert fallback[-1].find_all("td")[-1].get_text(strip=True) == "November 10, 2016"
        history = _soup(app.get("/dataset/mixed/compliance", query_string={"as_of": AS_OF}))
        strip_svg = history.select_one(".mes-period-strip svg.mes-strip")
        assert strip_svg["aria-label"] == "10 periods: On time 2; Late 1; Missed 7"
        assert not history.select("details.mes-strip-table")  # the periods table below is the accessible form
        # A private dataset's page shows its strip to its member.
        member = _soup(app.get("/dataset/hidden", headers=_auth(world, "member")))
        assert member.select_one(".mes-period-strip svg.mes-strip") is not None
