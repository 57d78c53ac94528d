"""The trilingual UI: the extension's catalogs (kk, ru, en), our Kazakh catalog of CKAN's own strings, the
script that builds the i18n directory CKAN needs to offer Kazakh, and the real portal rendered in Kazakh.

CKAN offers only the locales that are folders of `ckan.i18n_directory`, and ships no `kk`:
`scripts/i18n.sh build-dir` links the installed CKAN's locales and adds ours. The page tests build that
directory in a temporary place and point CKAN at it, with Kazakh as the default language, as on the portal.
"""
from __future__ import annotations

import gettext
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup

import ckan
import ckan.lib.i18n as ckan_i18n
import ckan.plugins.toolkit as tk
import ckan.tests.factories as factories

from ckanext.mes_schedule import vocab
from tests.fixtures import legal

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "i18n.sh"
DOMAIN = "ckanext-mes_schedule"
EXT_I18N = REPO / "ckanext" / "mes_schedule" / "i18n"
POT = EXT_I18N / f"{DOMAIN}.pot"
CORE_I18N = REPO / "ckanext" / "mes_schedule" / "i18n-core"
CORE_KK = CORE_I18N / "kk" / "LC_MESSAGES" / "ckan.po"
CKAN_POT = Path(ckan.__file__).parent / "i18n" / "ckan.pot"
VENV = Path(sys.prefix)
LANGS = ("kk", "ru", "en")
TRANSLATED = ("kk", "ru")  # English is the source language
# Entries of the core catalog that exist only from this CKAN version on ("CKAN 2.12+") or only in one version
# ("CKAN 2.11 only") carry this translator comment.
VERSION_MARK = re.compile(r"CKAN (\d+)\.(\d+)(\+| only)")

_BRACE = re.compile(r"\{[A-Za-z0-9_]*\}")
_PERCENT = re.compile(r"%(?:\([A-Za-z0-9_]+\))?[sdifr]")


def _po(lang: str) -> Path:
    return EXT_I18N / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _key(message: Any) -> Any:
    return message.id if isinstance(message.id, str) else tuple(message.id)


def _ids(catalog: Catalog) -> list[Any]:
    return [_key(m) for m in catalog if m.id]


def _forms(message: Any) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _placeholders(text: str) -> list[str]:
    return sorted(_BRACE.findall(text) + _PERCENT.findall(text))


def _label(key: Any) -> str:
    return key if isinstance(key, str) else " | ".join(key)


# ------------------------------------------------------------------------------------ the catalogs


def test_pot_lists_every_string_of_the_source(tmp_path: Path) -> None:
    """The template must be re-extracted whenever a wrapped string is added (scripts/i18n.sh extract)."""
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [sys.executable, "setup.py", "-q", "extract_messages", "--output-file", str(fresh)],
        cwd=REPO, check=True, capture_output=True, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    missing = sorted(set(_ids(_read(fresh))) - set(_ids(_read(POT))), key=str)
    assert not missing, (
        "strings in the source but not in ckanext-mes_schedule.pot (run scripts/i18n.sh extract, then update, "
        "then translate):\n" + "\n".join(_label(k) for k in missing)
    )


@pytest.mark.parametrize("lang", LANGS)
def test_every_catalog_follows_the_pot(lang: str) -> None:
    catalog = _read(_po(lang), lang)
    missing = sorted(set(_ids(_read(POT))) - set(_ids(catalog)), key=str)
    assert not missing, f"{lang}: not merged from the pot yet (run scripts/i18n.sh update):\n" + "\n".join(
        _label(k) for k in missing
    )
    assert catalog.plural_forms == get_plural(lang).plural_forms


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_string_is_translated(lang: str) -> None:
    catalog = _read(_po(lang), lang)
    pot_ids = set(_ids(_read(POT)))
    untranslated = [
        _label(_key(m))
        for m in catalog
        if m.id and _key(m) in pot_ids and (m.fuzzy or not all(f.strip() for f in _forms(m)))
    ]
    assert not untranslated, f"{lang}: {len(untranslated)} untranslated or fuzzy:\n" + "\n".join(untranslated)


def _all_catalogs() -> Iterator[tuple[str, Path, str]]:
    for lang in LANGS:
        yield f"ext-{lang}", _po(lang), lang
    yield "core-kk", CORE_KK, "kk"


@pytest.mark.parametrize("name, path, lang", list(_all_catalogs()), ids=[c[0] for c in _all_catalogs()])
def test_translations_keep_the_placeholders(name: str, path: Path, lang: str) -> None:
    """{name}, %(name)s and %s are filled in by the code: a translation must keep exactly the same ones."""
    broken = []
    for m in _read(path, lang):
        if not m.id:
            continue
        source = m.id if isinstance(m.id, str) else m.id[-1]
        expected = _placeholders(source)
        for form in _forms(m):
            if form and _placeholders(form) != expected:
                broken.append(f"{_label(_key(m))!r}: {expected} -> {form!r}")
    assert not broken, f"{name}: placeholders changed:\n" + "\n".join(broken)


@pytest.mark.parametrize("name, path, lang", list(_all_catalogs()), ids=[c[0] for c in _all_catalogs()])
def test_catalogs_compile(name: str, path: Path, lang: str) -> None:
    catalog = _read(path, lang)
    problems = [f"{_label(_key(m))}: {e}" for m, errors in catalog.check() for e in errors]
    assert not problems, f"{name}:\n" + "\n".join(problems)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    translations = gettext.GNUTranslations(buf)
    if lang != "en":
        translated = next(m for m in catalog if m.id and isinstance(m.id, str) and m.string)
        assert translations.gettext(translated.id) == translated.string


def test_core_catalog_holds_only_strings_of_the_installed_ckan() -> None:
    """Our Kazakh catalog of CKAN's strings is keyed by CKAN's msgids, character for character."""
    with CKAN_POT.open("rb") as f:
        known = set(_ids(read_po(f)))
    version = tuple(int(x) for x in ckan.__version__.split(".")[:2])
    core = _read(CORE_KK, "kk")
    assert core.plural_forms == get_plural("kk").plural_forms  # CKAN's JS catalog build reads this header
    unknown = []
    for m in core:
        if not m.id:
            continue
        comments = " ".join(m.auto_comments + m.user_comments)
        marks = [((int(major), int(minor)), kind) for major, minor, kind in VERSION_MARK.findall(comments)]
        if any(version < marked if kind == "+" else version != marked for marked, kind in marks):
            continue
        if _key(m) not in known:
            unknown.append(_label(_key(m)))
    assert not unknown, f"not msgids of CKAN {ckan.__version__}:\n" + "\n".join(unknown)
    untranslated = [_label(_key(m)) for m in core if m.id and (m.fuzzy or not all(_forms(m)))]
    assert not untranslated


def test_core_catalog_covers_the_words_of_every_page() -> None:
    core = {m.id: m.string for m in _read(CORE_KK, "kk") if m.id and isinstance(m.id, str)}
    # header, search, dataset page, footer, login: what a citizen sees first
    for msgid in (
        "Datasets", "Organizations", "Groups", "About", "Search", "Log in", "Register", "Dashboard", "Log out",
        "Order by", "Relevance", "Last Modified", "Tags", "Formats", "Licenses", "Show More {facet_type}",
        "Data and Resources", "Additional Info", "Field", "Value", "Source", "Author", "Maintainer", "Version",
        "State", "Last Updated", "Created", "License", "Social", "Explore", "Preview", "More information",
        "Go to resource", "Download", "Activity Stream", "Members", "Password", "Remember me", "Previous",
    ):
        assert core.get(msgid), msgid


def test_a_string_shared_with_ckan_reads_the_same_in_both_kazakh_catalogs() -> None:
    """Flask-Babel merges every domain into one catalog, the extension's last: keep one wording per string."""
    core = {_key(m): m.string for m in _read(CORE_KK, "kk") if m.id}
    ext = {_key(m): m.string for m in _read(_po("kk"), "kk") if m.id and m.string}
    differ = [f"{_label(k)!r}: ckan {core[k]!r} / ours {ext[k]!r}" for k in ext if k in core and core[k] != ext[k]]
    assert not differ, "\n".join(differ)


# ----------------------------------------------------------------------------- scripts/i18n.sh


def _script(*args: str, state_dir: Path, venv: Path = VENV) -> subprocess.CompletedProcess:
    env = {**os.environ, "VENV": str(venv), "STATE_DIR": str(state_dir)}
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, check=True)


def test_build_dir_links_ckans_locales_and_adds_kazakh(tmp_path: Path) -> None:
    first = _script("build-dir", state_dir=tmp_path)
    target = Path(first.stdout.strip())
    assert target == tmp_path / f"i18n-{VENV.name}"
    ckan_dir = CKAN_POT.parent
    assert os.readlink(target / "kk") == str(CORE_I18N / "kk")
    # Russian: CKAN's catalog with ours merged over it (tests/test_languages.py checks the merge itself).
    assert os.readlink(target / "ru") == str(target / ".merged" / "ru")
    assert os.readlink(target / "de") == str(ckan_dir / "de")
    assert os.readlink(target / "ckan.pot") == str(CKAN_POT)  # build_js_translations reads it
    assert not (target / "__pycache__").exists()
    ckan_locales = {p.name for p in ckan_dir.iterdir() if (p / "LC_MESSAGES").is_dir()}
    assert {p.name for p in target.iterdir()} == ckan_locales | {"kk", "ckan.pot", ".merged"}

    # A second run changes nothing; a locale gone from CKAN goes away; what the script did not make stays.
    (target / "xx").symlink_to(ckan_dir / "ru")
    (target / "notes").mkdir()
    second = _script("build-dir", state_dir=tmp_path)
    assert second.stdout == first.stdout
    assert not (target / "xx").exists() and not (target / "xx").is_symlink()
    assert (target / "notes").is_dir()
    third = _script("build-dir", state_dir=tmp_path)
    assert "changed" not in third.stderr


def test_each_virtualenv_gets_its_own_directory(tmp_path: Path) -> None:
    assert _script("path", state_dir=tmp_path, venv=Path("/srv/.venv-ckan-2.11")).stdout.strip() == str(
        tmp_path / "i18n-.venv-ckan-2.11"
    )


# ------------------------------------------------------------------------------ the real portal


@pytest.fixture(scope="session")
def kazakh_i18n_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    # .mo files are build products: compile them (as stack.sh does) before CKAN reads them.
    _script("compile", state_dir=tmp_path_factory.mktemp("state"))
    return _script("build-dir", state_dir=tmp_path_factory.mktemp("state")).stdout.strip()


@pytest.fixture
def kazakh_portal(kazakh_i18n_dir: str, ckan_config: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """The portal's language settings: Kazakh first and default, then Russian and English."""
    monkeypatch.setitem(ckan_config, "ckan.i18n_directory", kazakh_i18n_dir)
    monkeypatch.setitem(ckan_config, "ckan.locale_default", "kk")
    monkeypatch.setitem(ckan_config, "ckan.locales_offered", ["kk", "ru", "en"])
    monkeypatch.setitem(ckan_config, "ckan.locale_order", ["kk", "ru", "en"])
    monkeypatch.setitem(ckan_config, "ckan.storage_path", str(tmp_path))
    # CKAN caches the locale list for the life of the process.
    for cached in ("locales", "locales_dict", "available_locales", "_non_translated_locals"):
        monkeypatch.setattr(ckan_i18n, cached, None)
    return ckan_config


@pytest.fixture
def kazakh_app(kazakh_portal: Any, with_plugins: Any, make_app: Any) -> Any:
    return make_app()


def _soup(body: str) -> BeautifulSoup:
    return BeautifulSoup(body, "html.parser")


def _nav(soup: BeautifulSoup) -> list[str]:
    return [a.get_text(strip=True) for a in soup.select("header nav ul li a")]


def _scheduled_dataset() -> dict[str, Any]:
    org = factories.Organization(name="mes-rk", title="Білім және ғылым министрлігі")
    return factories.Dataset(
        owner_org=org["id"],
        name="kindergartens",
        title="Балабақшалар тізілімі",
        title_ru="Реестр детских садов",
        title_en="Register of kindergartens",
        **legal(5),
    )


@pytest.mark.usefixtures("kazakh_portal", "with_plugins")
def test_kazakh_is_the_default_locale_then_russian_and_english() -> None:
    assert ckan_i18n.get_locales() == ["kk", "ru", "en"]


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestKazakhPages:
    def test_home_page_speaks_kazakh_by_default(self, kazakh_app: Any) -> None:
        response = kazakh_app.get("/")
        assert response.status_code == 200
        soup = _soup(response.body)
        assert soup.html["lang"] == "kk"
        nav = _nav(soup)
        for word in ("Деректер жиындары", "Ұйымдар", "Топтар", "Ақпарат"):
            assert word in nav, nav
        assert "Datasets" not in nav
        assert soup.select_one("a[href$='/user/login']").get_text(strip=True) == "Кіру"
        offered = [o["lang"] for o in soup.select("#field-lang-select option")]
        assert offered == ["kk", "ru", "en"]

    def test_russian_and_english_by_url_prefix(self, kazakh_app: Any) -> None:
        ru = _soup(kazakh_app.get("/ru/").body)
        assert ru.html["lang"] == "ru"
        assert "Деректер жиындары" not in _nav(ru)
        en = _soup(kazakh_app.get("/en/").body)
        assert "Datasets" in _nav(en)

    def test_search_page_in_kazakh(self, kazakh_app: Any) -> None:
        _scheduled_dataset()
        body = kazakh_app.get("/dataset/").body
        assert "1 деректер жиыны табылды" in body
        assert "Сұрыптау" in body and "Соңғы өзгертілгені" in body
        assert "Балабақшалар тізілімі" in body

    def test_compliance_in_the_selected_language(self, kazakh_app: Any) -> None:
        dataset = _scheduled_dataset()
        if "mes_schedule.compliance" not in kazakh_app.flask_app.view_functions:
            # Before the compliance page existed: the legal basis on the dataset page.
            body = kazakh_app.get(f"/dataset/{dataset['name']}").body
            assert "бұйрықпен бекітілген тізбенің 5-тармағы" in body
            return
        kk = _soup(kazakh_app.get("/compliance").body)
        assert kk.select_one("div.primary h1").get_text(strip=True) == "№ 120 бұйрық бойынша мерзімдердің сақталуы"
        assert "Деректер жиындары" in _nav(kk)
        row = kk.select_one("tr[data-status]")
        assert row.select_one(".mes-status").get_text(strip=True) == vocab.status_label(row["data-status"], "kk")
        assert "Балабақшалар тізілімі" in row.get_text()

        ru = _soup(kazakh_app.get("/ru/compliance").body)
        assert ru.select_one("div.primary h1").get_text(strip=True) == "Соблюдение сроков по приказу № 120"
        row = ru.select_one("tr[data-status]")
        assert row.select_one(".mes-status").get_text(strip=True) == vocab.status_label(row["data-status"], "ru")

        en = _soup(kazakh_app.get("/en/compliance").body)
        assert en.select_one("div.primary h1").get_text(strip=True) == "Compliance with Order No. 120"

    def test_dataset_page_in_kazakh(self, kazakh_app: Any) -> None:
        dataset = _scheduled_dataset()
        body = kazakh_app.get(f"/dataset/{dataset['name']}").body
        for words in ("Қосымша ақпарат", "Деректер мен ресурстар", "Өріс", "Мәні"):
            assert words in body, words

    def test_javascript_catalog_of_kazakh(self, kazakh_app: Any, kazakh_portal: Any) -> None:
        """`ckan run` builds the JavaScript catalogs at start; Kazakh must build and be served."""
        ckan_i18n.build_js_translations()
        built = json.loads(Path(kazakh_portal["ckan.storage_path"], "i18n", "js", "kk.js").read_text("utf-8"))
        assert built[""]["lang"] == "kk"
        assert built["Add Filter"] == [None, "Сүзгі қосу"]
        served = kazakh_app.get("/api/i18n/kk")
        assert served.status_code == 200
        assert served.json["Add Filter"] == [None, "Сүзгі қосу"]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_one_wording_per_status(kazakh_app: Any, lang: str) -> None:
    """Every helper that names a status says it with the words of the badges (vocab.STATUS_LABELS)."""
    names = [n for n in ("mes_schedule_status_label", "mes_schedule_deadline_status_label") if n in tk.h]
    assert names
    with kazakh_app.flask_app.test_request_context(f"/{lang}/", environ_overrides={"CKAN_LANG": lang}):
        for status in vocab.STATUS_LABELS:
            seen = {name: tk.h[name](status) for name in names}
            assert set(seen.values()) == {vocab.status_label(status, lang)}, (status, seen)
