"""The publisher's way from login to a finished upload (issue #13, parts 4 and 5): where editors land after
login, "My deadlines" with its filters and its "Upload data for <period>" links, the new-resource form opened
from them (period box, period selected, name filled in), the flash message saying what an upload recorded, the
empty form refused, and the badge that never contradicts the status beside it. The last test walks it all in
headless Chromium and counts the clicks.
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from bs4 import BeautifulSoup

import ckan.model as model
import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories

from ckanext.mes_schedule import compliance, localization, vocab
from ckanext.mes_schedule.views.publisher import AFTER_LOGIN_ENDPOINT, route_after_login_default
from tests.fixtures import CHROMIUM, form_token, legal, logged_in, publish, serve_wsgi, staffed_organization

PASSWORD = "Publisher-Flow-2026"
CSV = b"a,b\n1,2\n"

# Until the plugin sets it itself (IConfigurer.update_config -> views.publisher.route_after_login_default), the
# tests of the landing page name the route as an operator would.
after_login_route = pytest.mark.ckan_config("ckan.auth.route_after_login", AFTER_LOGIN_ENDPOINT)


@pytest.fixture
def world(clean_db, clean_index, with_plugins) -> dict[str, Any]:
    """A ministry with an editor (also an editor of a second organisation) and a plain member; a quarterly
    dataset whose current reporting quarter is unpublished, an annual one, one in the second organisation; a
    user with no organisation and a sysadmin who is a member of none."""
    org, staff = staffed_organization("editor", "member", prefix="pub", password=PASSWORD, name="ministry",
                                      title="Министрлік", title_en="Ministry")
    editor = staff["editor"]
    other = factories.Organization(name="other-org", title="Басқа", title_en="Other organisation",
                                   users=[{"name": editor["name"], "capacity": "editor"}])
    quarterly = factories.Dataset(name="quarterly-stats", title="Тоқсандық", title_en="Quarterly statistics",
                                  owner_org=org["id"], **legal(6, "quarterly day=10", "QUARTERLY"))
    annual = factories.Dataset(name="annual-report", title="Жылдық есеп", title_en="Annual report",
                               owner_org=org["id"], **legal(5, "annual quarter=4"))
    elsewhere = factories.Dataset(name="elsewhere", title_en="Elsewhere", owner_org=other["id"],
                                  **legal(10, "annual quarter=4"))
    outsider = factories.User(name="pub_outsider", password=PASSWORD)
    sysadmin = factories.Sysadmin(name="pub_sysadmin", password=PASSWORD)
    return {"org": org, "other": other, "editor": editor, "member": staff["member"], "outsider": outsider,
            "sysadmin": sysadmin, "quarterly": quarterly, "annual": annual, "elsewhere": elsewhere}


def _soup(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def _current(name: str) -> compliance.ComplianceRow:
    return next(r for r in compliance.assess_datasets() if r.dataset.name == name)


def _late_by(name: str) -> int:
    """How late an upload made today is for the dataset's current period (0: on time)."""
    period = _current(name).assessment.periods[-1].period
    return max(0, (localization.today() - period.due).days)


def _flashes(soup: BeautifulSoup) -> list[str]:
    return [" ".join(el.get_text(" ").split()) for el in soup.select(".flash-messages .alert")]


def _form_link(href: str) -> tuple[str, str]:
    """The path of a link and the period it pre-selects."""
    url = urlparse(href)
    return url.path, parse_qs(url.query)["mes_schedule_covers"][0]


def _login(app: Any, user: dict[str, Any], query: str = "") -> list[str]:
    """Log in through CKAN's form; the addresses of the redirects followed (paths)."""
    browser = app.test_client()
    response = browser.post(f"/user/login{query}", data={"login": user["name"], "password": PASSWORD},
                            follow_redirects=False)
    hops = []
    while response.status_code in (301, 302, 303) and len(hops) < 5:
        hops.append(urlparse(response.headers["Location"]).path)
        response = browser.get(response.headers["Location"], follow_redirects=False)
    assert response.status_code == 200, hops
    return hops


# --------------------------------------------------------------------------------------------- after login


@after_login_route
def test_editors_land_on_my_deadlines_others_where_ckan_sends_them(app, world):
    assert _login(app, world["editor"]) == ["/dashboard/after-login", "/dashboard/deadlines"]
    # No organisation; a plain member (edits nothing); a sysadmin who edits no organisation's datasets.
    for user in ("outsider", "member", "sysadmin"):
        assert _login(app, world[user]) == ["/dashboard/after-login", "/dashboard/datasets"], user
    # The page asked for before login wins; only a local one, as on CKAN's own login form.
    assert _login(app, world["editor"], "?came_from=/dataset/annual-report") == ["/dataset/annual-report"]
    browser = logged_in(app, world["editor"], PASSWORD)
    response = browser.get("/dashboard/after-login?next=https://evil.example/x", follow_redirects=False)
    assert urlparse(response.headers["Location"]).path == "/dashboard/deadlines"


def test_the_plugin_sets_the_route_unless_the_operator_chose_one():
    config = {"ckan.auth.route_after_login": "dashboard.datasets"}  # CKAN's default, filled in before plugins run
    route_after_login_default(config)
    assert config["ckan.auth.route_after_login"] == AFTER_LOGIN_ENDPOINT
    chosen = {"ckan.auth.route_after_login": "home.index"}
    route_after_login_default(chosen)
    assert chosen["ckan.auth.route_after_login"] == "home.index"


@pytest.mark.usefixtures("with_plugins")
def test_the_portal_sends_users_to_the_landing_view():
    """Holds once plugin.py's update_config calls views.publisher.route_after_login_default."""
    assert tk.config["ckan.auth.route_after_login"] == AFTER_LOGIN_ENDPOINT


# ------------------------------------------------------------------------------------------- my deadlines


def _deadline_rows(browser: Any, query: str = "") -> list[tuple[str, str]]:
    soup = _soup(browser.get(f"/dashboard/deadlines{query}"))
    return [(tr["data-dataset"], tr["data-status"]) for tr in soup.select("tr.mes-deadline")]


def test_my_deadlines_filters_and_links_to_the_upload_form(app, world):
    publish(world["annual"], localization.today())  # a status of its own
    browser = logged_in(app, world["editor"], PASSWORD, "/dashboard/deadlines")
    every = _deadline_rows(browser)
    assert {name for name, _ in every} == {"quarterly-stats", "annual-report", "elsewhere"}
    assert every[0][0] == "quarterly-stats"  # soonest deadline first: the quarterly one is past its due date
    statuses = dict(every)
    assert statuses["annual-report"] != statuses["elsewhere"]
    assert [n for n, _ in _deadline_rows(browser, f"?status={statuses['annual-report']}")] == ["annual-report"]
    assert [n for n, _ in _deadline_rows(browser, "?organization=other-org")] == ["elsewhere"]
    assert _deadline_rows(browser, f"?organization=other-org&status={statuses['annual-report']}") == []
    both = _deadline_rows(browser, f"?status={statuses['annual-report']}&status={statuses['elsewhere']}")
    assert {n for n, _ in both} == {n for n, s in every if s in (statuses["annual-report"], statuses["elsewhere"])}
    page = _soup(browser.get("/dashboard/deadlines?organization=other-org"))
    assert page.select_one("#mes-deadlines-organization option[selected]")["value"] == "other-org"
    labels = [o.get_text() for o in page.select("#mes-deadlines-organization option")]
    assert "Other organisation (1)" in labels and "Ministry (2)" in labels
    assert "None of your datasets matches these filters." in _soup(browser.get(
        f"/dashboard/deadlines?organization=other-org&status={statuses['annual-report']}")).get_text()
    assert _deadline_rows(browser, "?organization=no-such-org") == []
    assert browser.get("/dashboard/deadlines?status=bogus").status_code == 400

    # Each row: "Upload data for <period>", the period an upload made now counts for.
    link = _soup(browser.get("/dashboard/deadlines")).select_one('tr[data-dataset="quarterly-stats"] a.mes-upload-link')
    period = _current("quarterly-stats").assessment.periods[-1].period
    assert _form_link(link["href"]) == ("/dataset/quarterly-stats/resource/new", period.label)
    assert " ".join(link.get_text().split()) == f"Upload data for {localization.period_in_words(period, 'en')}"


# ------------------------------------------------------------------------------------------- the form


def test_the_upload_form_selects_the_period_names_the_resource_and_shows_the_box(app, world):
    browser = logged_in(app, world["editor"], PASSWORD)
    # The dataset page's period box links to the form; citizens see neither.
    box = _soup(browser.get("/dataset/annual-report")).select_one(".mes-upload-outlook")
    label = _current("annual-report").assessment.periods[-1].period.label
    assert _form_link(box.select_one("a.mes-upload-link")["href"]) == ("/dataset/annual-report/resource/new", label)
    assert _soup(app.get("/dataset/annual-report")).select_one(".mes-upload-link") is None

    period = _current("quarterly-stats").assessment.periods[-1].period
    soup = _soup(browser.get("/dataset/quarterly-stats/resource/new", query_string={
        "mes_schedule_covers": period.label}))
    assert soup.select_one("#field-mes_schedule_covers option[selected]")["value"] == period.label
    words = localization.period_in_words(period, "en")
    assert soup.select_one("#field-name")["value"] == words[:1].upper() + words[1:]
    box = soup.select_one(".mes-upload-outlook")
    text = " ".join(box.get_text(" ").split())
    assert f"This upload counts for {localization.period_in_words(period, 'en')}" in text
    late = _late_by("quarterly-stats")
    assert (f"the deadline passed {late} days ago" in text) if late > 1 else ("on time" in text or late == 1)
    assert box.select_one("a.mes-upload-link") is None  # already on the form
    html = str(soup)
    assert html.index("mes-upload-outlook") < html.index('id="resource-edit"')  # above the fields

    # A period the dataset does not have is ignored: the current one, no name.
    soup = _soup(browser.get("/dataset/quarterly-stats/resource/new?mes_schedule_covers=1999%20Q1"))
    assert not soup.select_one("#field-name").get("value")
    assert soup.select_one("#field-mes_schedule_covers option[selected]")["value"] == period.label


# ------------------------------------------------------------------------------------- saving the form


def _post_form(browser: Any, dataset: str, data: dict[str, Any], query: str = "") -> Any:
    page = browser.get(f"/dataset/{dataset}/resource/new{query}").get_data(as_text=True)
    field, token = form_token(page)
    return browser.post(f"/dataset/{dataset}/resource/new", data={"id": "", **data, field: token},
                        content_type="multipart/form-data", follow_redirects=False)


def _resources(name: str) -> list[model.Resource]:
    model.Session.expire_all()
    package = model.Package.get(name)
    return [r for r in package.resources_all if r.state == "active"]


def _recorded(words: str, late: int) -> str:
    if not late:
        return f"Recorded: counted for {words}, on time."
    return f"Recorded: counted for {words}, late by {late} day{'s' if late > 1 else ''}."


def test_after_saving_a_flash_says_what_was_recorded(app, world):
    browser = logged_in(app, world["editor"], PASSWORD)
    period = _current("quarterly-stats").assessment.periods[-1].period
    late = _late_by("quarterly-stats")
    saved = _post_form(browser, "quarterly-stats", {
        "upload": (io.BytesIO(CSV), "data.csv"), "url": "data.csv", "name": "Q", "save": "go-dataset-complete",
        "mes_schedule_covers": period.label,
    })
    assert saved.status_code == 302, saved.get_data(as_text=True)[-2000:]
    page = _soup(browser.get(saved.headers["Location"]))
    assert _recorded(localization.period_in_words(period, "en"), late) in _flashes(page)
    # The same file again is no new publication, and the message says so.
    again = _post_form(browser, "quarterly-stats", {
        "upload": (io.BytesIO(CSV), "again.csv"), "url": "again.csv", "save": "go-dataset-complete"})
    assert any("Nothing new was recorded" in f for f in _flashes(_soup(browser.get(again.headers["Location"]))))

    # An undeclared upload counts for the period of its date.
    period = _current("annual-report").assessment.periods[-1].period
    late = _late_by("annual-report")
    saved = _post_form(browser, "annual-report", {
        "upload": (io.BytesIO(CSV), "data.csv"), "url": "data.csv", "save": "go-dataset-complete"})
    assert _recorded(localization.period_in_words(period, "en"), late) in _flashes(
        _soup(browser.get(saved.headers["Location"])))

    # API calls get no message (they have no session to carry one).
    response = app.post("/api/3/action/resource_create", json={"package_id": "annual-report",
                                                               "url": "https://example.org/a.csv"},
                        headers={"Authorization": world["editor"]["token"]})
    assert response.status_code == 200 and "Set-Cookie" not in response.headers


def test_an_empty_form_is_refused_on_a_scheduled_dataset(app, world):
    browser = logged_in(app, world["editor"], PASSWORD)
    period = _current("quarterly-stats").assessment.periods[-1].period.label
    for save in ("go-dataset-complete", "again"):
        response = _post_form(browser, "quarterly-stats", {
            "url": "", "name": "quarter", "mes_schedule_covers": period, "save": save})
        assert response.status_code == 200
        soup = _soup(response)
        assert "Choose a file to upload or give a link" in soup.get_text()
        assert soup.select_one("#field-name")["value"] == "quarter"  # what was typed stays
    assert _resources("quarterly-stats") == []
    # A dataset outside the order, and the API, keep CKAN's behaviour.
    factories.Dataset(owner_org=world["org"]["id"], name="plain")
    assert _post_form(browser, "plain", {"url": "", "save": "go-dataset-complete"}).status_code == 302
    response = app.post("/api/3/action/resource_create", json={"package_id": "quarterly-stats", "name": "x"},
                        headers={"Authorization": world["editor"]["token"]})
    assert response.status_code == 200

    # A draft's resource step: "Previous" goes back; "Finish" with nothing typed finishes it without a resource
    # (CKAN's own case); with a name but no data it is refused.
    draft = factories.Dataset(owner_org=world["org"]["id"], name="draft-one", state="draft",
                              **legal(7, "annual quarter=4"))
    back = _post_form(browser, "draft-one", {"url": "", "save": "go-dataset"})
    assert back.status_code == 302 and urlparse(back.headers["Location"]).path == "/dataset/edit/draft-one"
    typed = _post_form(browser, "draft-one", {"url": "", "name": "forgot the file", "save": "go-metadata"})
    assert typed.status_code == 200 and "Choose a file to upload" in typed.get_data(as_text=True)
    finished = _post_form(browser, "draft-one", {"url": "", "save": "go-metadata"})
    model.Session.expire_all()
    if tk.check_ckan_version(min_version="2.12"):
        assert finished.status_code == 302
        assert model.Package.get(draft["id"]).state == "active" and _resources("draft-one") == []
    else:  # CKAN 2.11 keeps the draft on its resource step ("You must add at least one data resource")
        assert finished.status_code == 200
        assert model.Package.get(draft["id"]).state == "draft" and _resources("draft-one") == []


# ------------------------------------------------------------------------------------------- the badge


def test_the_badge_is_revalidated_at_every_use_with_a_cheap_304(app, world):
    url = "/dataset/quarterly-stats/compliance.svg"
    first = app.get(url)
    assert first.headers["Cache-Control"] == "public, no-cache"
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    again = app.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["Cache-Control"] == "public, no-cache"
    # An upload that changes the status changes the ETag: the browser's copy is replaced.
    app.post("/api/3/action/resource_create", json={"package_id": "quarterly-stats",
                                                    "url": "https://example.org/q.csv"},
             headers={"Authorization": world["editor"]["token"]})
    after = app.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != first.headers["ETag"]
    assert vocab.status_label(_current("quarterly-stats").status, "en") in after.get_data(as_text=True)


# ------------------------------------------------------------------------------------------- in a browser

SHOTS = os.environ.get("MES_SCHEDULE_SHOTS")  # a folder: also save screenshots there


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless browser test: /usr/bin/chromium is not installed")
@after_login_route
def test_login_to_a_finished_upload_in_four_clicks(app, world, chromium, tmp_path, ckan_config, monkeypatch):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    clicks = 0

    def click(element: Any) -> None:
        nonlocal clicks
        clicks += 1
        element.click()

    data_file = tmp_path / "q3.csv"
    data_file.write_bytes(CSV)
    wait = WebDriverWait(chromium, 30)
    with serve_wsgi(app.app) as url:
        monkeypatch.setitem(ckan_config, "ckan.site_url", url)  # CKAN's redirects name the site's address
        # A citizen has a dataset page open (the browser holds its badge); data are published meanwhile.
        status_shown = (By.CSS_SELECTOR, ".mes-compliance-facts .mes-status")
        chromium.get(f"{url}/dataset/annual-report")
        before = chromium.find_element(*status_shown).text
        app.post("/api/3/action/resource_create", json={"package_id": "annual-report", "url": "https://example.org/a"},
                 headers={"Authorization": world["editor"]["token"]})
        chromium.get(f"{url}/dataset/annual-report")
        after = chromium.find_element(*status_shown).text
        assert after != before and after in _badge_shown(chromium)

        # The publisher: login, "Upload data for ...", the file, "Add".
        before = _current("quarterly-stats").status
        chromium.get(f"{url}/user/login")
        chromium.find_element(By.ID, "field-login").send_keys(world["editor"]["name"])
        chromium.find_element(By.ID, "field-password").send_keys(PASSWORD)
        click(chromium.find_element(By.CSS_SELECTOR, "form[method=post] button[type=submit]"))
        wait.until(ec.url_contains("/dashboard/deadlines"))
        _shot(chromium, "my-deadlines")
        click(chromium.find_element(By.CSS_SELECTOR, 'tr[data-dataset="quarterly-stats"] a.mes-upload-link'))
        wait.until(ec.presence_of_element_located((By.ID, "resource-edit")))
        _shot(chromium, "upload-form")
        # "Upload" opens the file chooser; the choice is the file given to its input.
        click(chromium.find_element(By.ID, "resource-upload-button"))
        chromium.find_element(By.ID, "field-resource-upload").send_keys(str(data_file))
        click(chromium.find_element(By.CSS_SELECTOR, 'button[name="save"][value="go-dataset-complete"]'))
        wait.until(ec.url_matches(r"/dataset/quarterly-stats/?$"))
        _shot(chromium, "flash")
        assert clicks <= 4

        flash = chromium.find_element(By.CSS_SELECTOR, ".flash-messages .alert").text
        assert flash.startswith("Recorded: counted for"), flash
        status = _current("quarterly-stats").status
        shown = chromium.find_element(*status_shown).text
        assert shown == vocab.status_label(status, "en") and status != before
        assert shown in _badge_shown(chromium)


def _badge_shown(driver: Any) -> str:
    """The text of the badge the page shows, as the browser's cache gives it (the image's own request)."""
    svg = driver.execute_async_script(
        "const done = arguments[0]; const img = document.querySelector('.mes-badge-line img');"
        "fetch(img.src).then(r => r.text()).then(done);"
    )
    return re.sub(r"\s+", " ", svg)


def _shot(driver: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SHOTS) / f"{name}-en.png"))
