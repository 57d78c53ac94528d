"""Accessibility (issue #13, part 6): axe-core finds no serious or critical violation of WCAG 2.1 A/AA (and axe's
best practices) on the pages citizens and publishers use, in kk, ru and en.

axe-core runs in the system's headless Chromium, driven by puppeteer-core (tests/a11y: npm packages pinned in its
package.json, installed by `scripts/stack.sh install`; no browser is downloaded), against the test app served on
a local port.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

import ckan.tests.factories as factories
import ckan.tests.helpers as helpers

from tests.fixtures import CHROMIUM, legal, publish, serve_wsgi, staffed_organization
from tests.test_i18n import kazakh_app, kazakh_i18n_dir, kazakh_portal  # noqa: F401 (fixtures)

A11Y = Path(__file__).resolve().parent / "a11y"
PASSWORD = "Accessible-Portal-2026"

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(
        shutil.which("node") is None or not (A11Y / "node_modules" / "axe-core").is_dir(),
        reason="node and tests/a11y/node_modules (scripts/stack.sh install) are needed",
    ),
]


def _axe(base: str, paths: list[str], login: dict[str, str] | None = None) -> dict[str, Any]:
    config = {"base": base, "paths": paths, **({"login": login} if login else {})}
    done = subprocess.run(
        ["node", str(A11Y / "axe.mjs"), json.dumps(config)], capture_output=True, text=True, timeout=300,
        cwd=str(A11Y), env={"CHROMIUM": str(CHROMIUM), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def _serious(results: dict[str, Any]) -> dict[str, list[str]]:
    """Per page: its serious and critical violations, as 'rule: first elements' (empty pages left out)."""
    found = {}
    for path, result in results.items():
        assert result["status"] == 200, f"{path} answered {result['status']}"
        if result["violations"]:
            found[path] = [f"{v['id']} ({v['impact']}): {v['help']} at {v['targets']}" for v in result["violations"]]
    return found


@pytest.fixture
def portal(kazakh_app: Any) -> Iterator[dict[str, Any]]:  # noqa: F811 (the imported fixture)
    """The portal's languages (Kazakh by default, the catalogues as `make up` builds them); a ministry with an
    editor, scheduled datasets in several states (more than a page of them at the page size set below, so the
    pager shows), a publication and a link resource; served on a local port."""
    org, users = staffed_organization("editor", prefix="a11y", password=PASSWORD, name="ministry",
                                      title="Министрлік", title_ru="Министерство", title_en="Ministry")
    datasets = [factories.Dataset(owner_org=org["id"], name=f"item-{item}", **legal(item)) for item in (5, 6, 7)]
    publish(datasets[0], "2025-11-20")
    helpers.call_action("resource_create", context={"user": users["editor"]["name"]},
                        package_id=datasets[1]["id"], url="http://example.com/data.csv", name="Data")
    with serve_wsgi(kazakh_app.app, "a11y-ckan") as url:
        yield {"url": url, "editor": users["editor"], "dataset": datasets[1]}


# One browser per role for all three languages: axe and Chromium take seconds to start.
@pytest.mark.ckan_config("ckanext.mes_schedule.page_size", "2")
@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_no_serious_violation_for_citizens_and_publishers_in_kk_ru_en(portal):
    name = portal["dataset"]["name"]
    langs = ("", "/ru", "/en")  # Kazakh is the default language: no prefix
    citizen = [f"{lang}{path}" for lang in langs
               for path in ("/", "/compliance", f"/dataset/{name}", f"/dataset/{name}/compliance")]
    publisher = [f"{lang}{path}" for lang in langs
                 for path in ("/dashboard/deadlines", f"/dataset/{name}", f"/dataset/{name}/resource/new")]
    found = _serious(_axe(portal["url"], citizen))
    found.update({f"(editor) {path}": v for path, v in _serious(
        _axe(portal["url"], publisher, {"user": portal["editor"]["name"], "password": PASSWORD})).items()})
    assert found == {}
