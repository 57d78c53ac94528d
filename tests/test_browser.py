"""The compliance page in a real browser: headless Chromium against a live server of the test app.

The server runs in a thread of the test process (werkzeug's make_server with the `app` fixture's Flask app), so
it uses the test database and configuration; the data are committed before the browser asks for them.
Needs the Debian packages chromium and chromium-driver (the CI installs them).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from ckanext.mes_schedule import vocab
from tests.fixtures import CHROMIUM, serve_wsgi
from tests.test_views import AS_OF, _engine, world  # noqa: F401 (world is a fixture)

SCREENSHOTS = Path(__file__).resolve().parents[1] / ".state" / "screenshots"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="headless browser test: /usr/bin/chromium is not installed (apt-get install chromium chromium-driver)",
)


@pytest.fixture
def live_server(app, world) -> Iterator[str]:  # noqa: F811 (world is the imported fixture)
    with serve_wsgi(app.app) as url:
        yield url


@pytest.fixture
def browser(chromium: Any) -> Any:
    return chromium


def test_choosing_the_overdue_filter_leaves_only_overdue_rows(live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live_server}/compliance?as_of={AS_OF}")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.mes-compliance-table tbody tr")
    expected = _engine()
    assert sorted(r.get_attribute("data-name") for r in rows) == sorted(expected)
    assert len({r.get_attribute("data-status") for r in rows}) > 1

    link = browser.find_element(By.CSS_SELECTOR, 'a[data-status="overdue"]')
    assert vocab.status_label("overdue", "en") in link.text
    link.click()
    WebDriverWait(browser, 30).until(ec.url_contains("status=overdue"))
    chosen = (By.CSS_SELECTOR, "a.mes-active[data-status=overdue]")
    WebDriverWait(browser, 30).until(ec.presence_of_element_located(chosen))

    rows = browser.find_elements(By.CSS_SELECTOR, "table.mes-compliance-table tbody tr")
    overdue = sorted(name for name, status in expected.items() if status == "overdue")
    assert overdue, "the fixture has an overdue dataset"
    assert sorted(r.get_attribute("data-name") for r in rows) == overdue
    assert {r.get_attribute("data-status") for r in rows} == {"overdue"}
    # The status cell shows the label, coloured by the stylesheet (the asset was served and applied).
    cell = rows[0].find_element(By.CSS_SELECTOR, ".mes-status")
    assert cell.text == vocab.status_label("overdue", "en")
    assert cell.value_of_css_property("background-color") in ("rgba(198, 40, 40, 1)", "rgb(198, 40, 40)")
    # The filter kept the date asked for.
    assert "as_of=2026-02-15" in browser.current_url

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOTS / "compliance-overdue.png"))


# The titles the citizen clicks, in the reader's language (world's "on-time" dataset).
_TITLES = {"/kk": "Деректер 5", "/ru": "Данные 5", "/en": "Data 5"}


# (English is the test configuration's default language, so Kazakh has its prefix here.)
@pytest.mark.parametrize("lang", ["/kk", "/ru", "/en"])
def test_a_citizen_finds_the_record_from_the_home_page(live_server, browser, lang):
    """Home -> the Compliance menu item -> a dataset -> its history, by clicks alone, in kk, ru and en; the page
    shows the dataset's period strip and its table."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 30)
    browser.get(f"{live_server}{lang}/")
    browser.find_element(By.CSS_SELECTOR, f'nav a[href="{lang}/compliance"]').click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "table.mes-compliance-table")))
    link = browser.find_element(By.CSS_SELECTOR, 'table.mes-compliance-table a[href$="/dataset/on-time"]')
    assert _TITLES[lang] in link.text
    link.click()
    wait.until(ec.url_contains("/dataset/on-time"))
    browser.find_element(By.CSS_SELECTOR, 'a[href$="/dataset/on-time/compliance"]').click()
    wait.until(ec.url_contains("/dataset/on-time/compliance"))
    strip = browser.find_element(By.CSS_SELECTOR, "svg[role=img]")
    assert strip.get_attribute("aria-label"), "the period strip has an accessible name"
    assert browser.find_elements(By.CSS_SELECTOR, "table"), "the periods as a table"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang").startswith(lang.strip("/"))
