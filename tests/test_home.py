"""The main menu's Compliance item, the home page built around the record, and the About page, in kk, ru and en.

The pages run on the portal's language settings (Kazakh default, then Russian and English by URL prefix):
tests/test_i18n.py's `kazakh_app` builds the i18n directory CKAN needs to offer Kazakh.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from bs4 import BeautifulSoup
from dateutil.relativedelta import relativedelta

import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories

from ckanext.mes_schedule import compliance, localization, schedule, vocab
from tests.fixtures import legal, publish, staffed_organization
from tests.test_i18n import kazakh_app, kazakh_i18n_dir, kazakh_portal  # noqa: F401 (fixtures)

# The menu item's words: the established msgid "Compliance" of the extension's catalogs.
MENU_WORDS = {"kk": "Мерзімдердің сақталуы", "ru": "Соблюдение сроков", "en": "Compliance"}
PREFIX = {"kk": "", "ru": "/ru", "en": "/en"}
ABOUT_HEADINGS = {"kk": "Портал туралы", "ru": "О портале", "en": "About the portal"}


def _soup(body: str) -> BeautifulSoup:
    return BeautifulSoup(body, "html.parser")


def _menu(soup: BeautifulSoup) -> dict[str, Any]:
    """The main menu's items by their words: (address, active)."""
    items = {}
    for li in soup.select("header nav ul.navbar-nav > li"):
        link = li.find("a")
        items[link.get_text(strip=True)] = (link["href"], "active" in (li.get("class") or []))
    return items


@dataclasses.dataclass
class World:
    org: dict[str, Any]
    member: dict[str, Any]
    datasets: dict[str, dict[str, Any]]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": self.member["token"]} if who == "member" else {}

    def user_name(self, who: str) -> str:
        return self.member["name"] if who == "member" else ""


@pytest.fixture
def site(kazakh_app: Any) -> Any:  # noqa: F811 (the imported fixture)
    """The test app with the portal's language settings."""
    return kazakh_app


@pytest.fixture
def world(clean_db: Any, clean_index: Any, site: Any) -> World:
    """Eight datasets of one organisation with deadlines spread over the year, one of them private, and
    publications dated from yesterday back, relative to today (the home page always shows today)."""
    org, users = staffed_organization("member", name="mes-rk", title="Министрлік")
    rules = {
        "q1": "annual quarter=1", "q2": "annual quarter=2", "q3": "annual quarter=3", "q4": "annual quarter=4",
        "quarterly": "quarterly day=10", "m6": "annual month=6", "secret": "annual month=3",
        "none": "as-established",
    }
    datasets = {}
    for number, (key, rule) in enumerate(rules.items(), start=5):
        frequency = {"quarterly": "QUARTERLY", "none": "IRREG"}.get(key, "ANNUAL")
        datasets[key] = factories.Dataset(
            owner_org=org["id"], name=f"home-{key}", title=f"Деректер {key}", title_ru=f"Данные {key}",
            title_en=f"Data {key}", private=key == "secret", **legal(number, rule, frequency),
        )
    today = localization.today()
    for key, days_ago in (("secret", 1), ("q4", 2), ("q1", 10), ("quarterly", 40), ("m6", 400)):
        publish(datasets[key], (today - dt.timedelta(days=days_ago)).isoformat())
    return World(org, users["member"], datasets)


def _rows(who_name: str) -> list[compliance.ComplianceRow]:
    return compliance.assess_datasets(visibility=compliance.visibility_for(who_name))


# ------------------------------------------------------------------------------------------- the main menu


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_the_menu_leads_to_compliance_on_every_page_in_each_language(site: Any) -> None:
    dataset = factories.Dataset(name="menu-dataset", owner_org=factories.Organization()["id"], **legal(5))
    for lang, prefix in PREFIX.items():
        for page in ("/", "/dataset/", f"/dataset/{dataset['name']}", "/organization/", "/about", "/compliance"):
            soup = _soup(site.get(prefix + page).body)
            menu = _menu(soup)
            assert MENU_WORDS[lang] in menu, (lang, page, menu)
            href, active = menu[MENU_WORDS[lang]]
            assert href == f"{prefix}/compliance", (lang, page, href)
            # Active on the compliance page only; "About" stays CKAN's last item.
            assert active == (page == "/compliance"), (lang, page)
            assert list(menu)[-2:] == [MENU_WORDS[lang], list(menu)[-1]]
        assert site.get(f"{prefix}/compliance").status_code == 200


# ------------------------------------------------------------------------------------------- the home page


def _figures(soup: BeautifulSoup) -> dict[str, str]:
    return {p["data-figure"]: p.get_text(strip=True) for p in soup.select("[data-figure]")}


def _missed_in_last_year(rows: list[compliance.ComplianceRow], today: dt.date) -> int:
    """The contract of h.mes_schedule_missed_in_last(months=12): periods whose due date fell in the last 12
    months and has passed, not published by then (missed, or published late)."""
    since = today - relativedelta(months=12)
    return sum(
        1
        for row in rows
        for outcome in row.assessment.periods
        if since < outcome.period.due < today and outcome.outcome in ("missed", "late")
    )


class TestHomePage:
    def test_the_figures_are_those_of_the_compliance_page(self, world: World, site: Any) -> None:
        for who in ("anonymous", "member"):
            self._figures_match(world, site, who)

    @staticmethod
    def _figures_match(world: World, site: Any, who: str) -> None:
        headers = world.headers(who)
        soup = _soup(site.get("/en/", headers=headers).body)
        summary = tk.get_action("mes_schedule_compliance_list")({"user": world.user_name(who)}, {"limit": 0})[
            "summary"
        ]
        figures = _figures(soup)
        assert figures["total"] == str(summary["total"]) == ("8" if who == "member" else "7")
        assert figures["on_time_rate"] == f"{round(summary['on_time_rate'] * 100)}%"
        rows = _rows(world.user_name(who))
        assert figures["missed"] == str(_missed_in_last_year(rows, localization.today()))

        # Every status, with the compliance page's count, links to the compliance table filtered by it; the
        # compliance page shows the same counts.
        chips = {a["data-status"]: a for a in soup.select(".mes-home-record a[data-status]")}
        assert list(chips) == list(schedule.STATUSES)
        table = _soup(site.get("/en/compliance", headers=headers).body)
        for status, chip in chips.items():
            assert chip["href"] == f"/en/compliance?status={status}"
            assert chip.select_one(".mes-count").get_text(strip=True) == str(summary["by_status"][status])
            assert vocab.status_label(status, "en") in chip.get_text()
            on_table = table.select_one(f".mes-summary a[data-status={status}] .mes-count")
            assert on_table.get_text(strip=True) == str(summary["by_status"][status])

    def test_next_deadlines_soonest_first_in_words(self, world: World, site: Any) -> None:
        today = localization.today()
        expected = sorted(
            (r.assessment.next_due, r.dataset.name) for r in _rows("") if r.assessment.next_due is not None
        )[:5]
        for lang, prefix in PREFIX.items():
            soup = _soup(site.get(prefix + "/").body)
            entries = soup.select(".mes-home-deadlines li")
            shown = [(dt.date.fromisoformat(li["data-due"]), li["data-name"]) for li in entries]
            assert shown == expected
            assert len(shown) == 5 and "home-secret" not in {name for _, name in shown}
            first = entries[0]
            assert first.find("a")["href"] == f"{prefix}/dataset/{expected[0][1]}"
            assert first.find("time").get_text(strip=True) == localization.long_date(expected[0][0], lang)
            title = world.datasets[expected[0][1].removeprefix("home-")]
            assert first.find("a").get_text(strip=True) == {
                "kk": title["title"], "ru": title["title_ru"], "en": title["title_en"]
            }[lang]
            assert all(due > today for due, _ in shown)

    def test_latest_publications_show_private_datasets_to_members_only(self, world: World, site: Any) -> None:
        def latest(who: str) -> list[str]:
            soup = _soup(site.get("/en/", headers=world.headers(who)).body)
            return [li["data-name"] for li in soup.select(".mes-home-published li")]

        assert latest("anonymous") == ["home-q4", "home-q1", "home-quarterly", "home-m6"]
        assert latest("member") == ["home-secret", "home-q4", "home-q1", "home-quarterly", "home-m6"]
        # Nothing of the private dataset anywhere on the page for an anonymous reader.
        assert "home-secret" not in site.get("/en/").body
        soup = _soup(site.get("/en/", headers=world.headers("member")).body)
        first = soup.select_one(".mes-home-published li")
        yesterday = localization.today() - dt.timedelta(days=1)
        assert first.find("time")["datetime"] == yesterday.isoformat()
        assert first.find("time").get_text(strip=True) == localization.long_date(yesterday, "en")

    def test_the_page_keeps_search_and_shows_the_chart_not_the_placeholders(
        self, world: World, site: Any
    ) -> None:
        for prefix in PREFIX.values():
            body = site.get(prefix + "/").body
            soup = _soup(body)
            form = soup.select_one("form.search-form")
            assert form["action"] == f"{prefix}/dataset/" and form.select_one("input[name=q]")
            chart = soup.select_one(".mes-home-chart")
            assert chart.select_one("svg, img"), chart
            assert "placeholder-420x220" not in body
            assert "a short introduction" not in body.lower() and "nice introductory paragraph" not in body
            assert "Popular tags" not in body
        assert site.get("/en/dataset/?q=Data").status_code == 200

    @pytest.mark.ckan_config("ckan.site_intro_text", "Our ministry's **own** introduction")
    def test_a_sysadmins_introduction_replaces_ours(self, world: World, site: Any) -> None:
        soup = _soup(site.get("/en/").body)
        intro = soup.select_one(".mes-home-intro")
        assert "Our ministry's own introduction" in intro.get_text(" ", strip=True)
        assert intro.find("strong").get_text() == "own"


# ------------------------------------------------------------------------------------------- the About page


@pytest.mark.usefixtures("clean_db")
def test_about_speaks_of_the_portal_and_the_order_in_each_language(site: Any) -> None:
    for lang, prefix in PREFIX.items():
        soup = _soup(site.get(prefix + "/about").body)
        main = soup.select_one(".mes-about")
        assert main["lang"] == lang
        assert main.find("h1").get_text(strip=True) == ABOUT_HEADINGS[lang]
        text = main.get_text(" ", strip=True)
        assert "120" in text and "13381" in text
        act = main.select_one("a[href*='adilet.zan.kz']")["href"]
        assert act == "https://adilet.zan.kz/{}/docs/V1600013381".format("kaz" if lang == "kk" else "rus")
        assert main.select_one(f"a[href='{prefix}/compliance']")
        for status in schedule.STATUSES:
            assert vocab.status_label(status, lang) in text
        assert "CKAN is the world" not in text


@pytest.mark.usefixtures("clean_db")
@pytest.mark.ckan_config("ckan.site_about", "The **ministry's** own words about this portal.")
def test_the_sysadmins_about_text_wins(site: Any) -> None:
    for prefix in PREFIX.values():
        soup = _soup(site.get(prefix + "/about").body)
        assert soup.select_one(".mes-about") is None
        article = soup.select_one("article.module")
        assert "The ministry's own words about this portal." in article.get_text(" ", strip=True)
        assert article.find("strong").get_text() == "ministry's"
