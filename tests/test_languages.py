"""Every page a citizen, a publisher and an administrator visits reads in the page's language (issue #13).

The pages are rendered in Kazakh (the default), Russian (/ru) and English (/en), as the portal runs: the i18n
directory that `scripts/i18n.sh build-dir` lays out (our Kazakh catalog of CKAN's strings, CKAN's Russian one
with ours merged over it), Kazakh the default locale. The visible text of each page (tags, scripts and styles
stripped) is split into words; a word in another script is a string in another language: Latin on Kazakh and
Russian pages, Cyrillic on English ones; Kazakh letters on Russian pages and Russian-only words on Kazakh ones.
Text inside an element whose `lang` names another language is what the page says it is (the language
switcher's own names, the act's Kazakh wording of a deadline) and is not a fault. Names, codes and acronyms are
in ALLOWED, each with its reason.

The data are built once for the class and each page is rendered once per language (`Site.page` caches the
HTML for the class); the checks of the organisation's title, the site title, the dates, the act's link and the
rule's words read the same renders.
"""
from __future__ import annotations

import dataclasses
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup

import ckan
import ckan.lib.i18n as ckan_i18n
import ckan.plugins
import ckan.tests.factories as factories
from ckan.common import config

from ckanext.mes_schedule import localization
from ckanext.mes_schedule.cli import i18n as cli_i18n
from tests.fixtures import form_token, fresh_database, legal, logged_in, publish, staffed_organization

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "i18n.sh"
CORE = REPO / "ckanext" / "mes_schedule" / "i18n-core"
CORE_RU = CORE / "ru" / "LC_MESSAGES" / "ckan.po"
EXT_RU = REPO / "ckanext" / "mes_schedule" / "i18n" / "ru" / "LC_MESSAGES" / "ckanext-mes_schedule.po"
CKAN_I18N = Path(ckan.__file__).parent / "i18n"
LANGS = ("kk", "ru", "en")
PASSWORD = "Languages-Pass-2026"

SITE_TITLES = {
    "kk": "Ашық деректер: Білім және ғылым министрлігі",
    "ru": "Открытые данные: Министерство образования и науки",
    "en": "Open data: Ministry of Education and Science",
}
ORG = {
    "name": "lang-ministry",
    "title": "Оқу-ағарту министрлігі",
    "title_ru": "Министерство просвещения",
    "title_en": "Ministry of Enlightenment",
    "description": "Мектептер туралы деректер.",
    "description_ru": "Данные о школах.",
    "description_en": "Data about schools.",
}
DATASET = {
    "name": "lang-schools",
    "title": "Мектептер тізілімі",
    "title_ru": "Реестр школ",
    "title_en": "Register of schools",
    "notes": "Елдің мектептері.",
    "notes_ru": "Школы страны.",
    "notes_en": "Schools of the country.",
    "license_id": "cc-by",
}

# Words that are right in every language, each for a reason. Kept short: a core string that shows in English
# is translated in ckanext/mes_schedule/i18n-core/<lang>/LC_MESSAGES/ckan.po, never allowed here.
ALLOWED = {
    # the software's and the formats' names, written in Latin in every language
    "CKAN", "API", "CSV", "XLSX", "JSON", "SVG", "CSS", "DCAT", "URL", "DataStore", "Markdown",
    # licence acronyms (CC0, ODbL, ...), kept by the licences' own translations
    "CC", "ODbL", "PDDL", "OGL", "GNU",
    # social networks named in the dataset page's share links (Twitter on CKAN 2.11, X on 2.12)
    "Facebook", "X", "Twitter",
    # the calendar format, the calendar applications and the hash algorithm (SHA-256) the publishers' pages name
    "iCalendar", "Apple", "Google", "Outlook", "SHA",
    # the name of the state's legal information system, «Әділет», quoted as is in Russian
    "Әділет",
}
# Proper names of several words, taken out of the text before it is split: the licences' publishers (Creative
# Commons keep their name in Latin in their Russian deeds) and calendar applications.
ALLOWED_NAMES = ("Open Data Commons", "Creative Commons", "Google Calendar", "Apple Calendar")
# Russian words that are not Kazakh ones: their presence on a Kazakh page means a Russian string.
RUSSIAN_ONLY = {"и", "в", "на", "для", "или", "данных", "набор", "наборы", "пакет"}

LATIN = re.compile(r"[A-Za-z]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
KAZAKH_LETTERS = re.compile(r"[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")
ROMAN = re.compile(r"^[IVX]+$")  # quarters are numbered in Roman numerals in all three languages
WORD = re.compile(r"[^\W\d_]+")
# Addresses, paths, e-mails and file names are codes, not words.
CODE = re.compile(r"\S+://\S+|(?<!\S)/\S*|\S+@\S+|\b[\w-]+(?:\.[\w-]+)+\b")


def _prefix(lang: str) -> str:
    return "" if lang == "kk" else f"/{lang}"


def visible_text(html: str, lang: str) -> str:
    """The text a reader of `lang` sees (and a screen reader reads) on the page, without what is marked as
    another language."""
    soup = BeautifulSoup(html, "html.parser")
    # What people typed into a form's text areas is theirs (the Kazakh description in its own field), not the
    # page's words; code is code (the <head> tag named in the site settings' help).
    for tag in soup(["script", "style", "noscript", "template", "head", "textarea", "code"]):
        tag.decompose()
    for tag in soup.find_all(attrs={"lang": True}):
        if tag.name != "html" and tag.get("lang", "").split("-")[0] != lang:
            tag.decompose()
    return " ".join(soup.get_text(" ").split())


def foreign_words(text: str, lang: str, allowed: set[str]) -> set[str]:
    """The words of `text` in another language than `lang`."""
    for name in ALLOWED_NAMES:
        text = text.replace(name, " ")
    words = WORD.findall(CODE.sub(" ", text))
    if lang == "en":
        return {w for w in words if CYRILLIC.search(w) and w not in allowed}
    found = {w for w in words if LATIN.search(w) and w not in allowed and not ROMAN.match(w)}
    if lang == "ru":
        found |= {w for w in words if KAZAKH_LETTERS.search(w) and w not in allowed}
    else:
        found |= {w for w in words if w.lower() in RUSSIAN_ONLY}
    return found


# ------------------------------------------------------------------------------------------------ the world


@dataclasses.dataclass
class World:
    org: dict[str, Any]
    dataset: dict[str, Any]
    resource: dict[str, Any]
    users: dict[str, dict[str, Any]]

    @property
    def allowed(self) -> set[str]:
        """ALLOWED and what the test's people and records say, as it was typed: users' names, full names and
        "about" texts, CKAN's site user (named after the site id, listed among the sysadmins), the slugs."""
        names = {u["name"] for u in self.users.values()}
        names |= {u.get(field) or "" for u in self.users.values() for field in ("fullname", "about")}
        names |= {config["ckan.site_id"], self.org["name"], self.dataset["name"]}
        return ALLOWED | {w for name in names for w in WORD.findall(name)}


@pytest.fixture(scope="class")
def i18n_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The portal's i18n directory, laid out by the script (the .mo files compiled first, as stack.sh does)."""
    state = tmp_path_factory.mktemp("state")
    env = {**os.environ, "VENV": sys.prefix, "STATE_DIR": str(state)}
    subprocess.run(["bash", str(SCRIPT), "compile"], env=env, check=True, capture_output=True)
    done = subprocess.run(["bash", str(SCRIPT), "build-dir"], env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@pytest.fixture(scope="class")
def settings(i18n_dir: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The portal's language settings (scripts/stack.sh writes the same into its ini)."""
    return {
        "ckan.i18n_directory": i18n_dir,
        "ckan.locale_default": "kk",
        "ckan.locales_offered": list(LANGS),
        "ckan.locale_order": list(LANGS),
        "ckan.site_title": SITE_TITLES["kk"],
        "ckanext.mes_schedule.site_title_ru": SITE_TITLES["ru"],
        "ckanext.mes_schedule.site_title_en": SITE_TITLES["en"],
        "ckan.auth.create_user_via_web": True,
        "ckan.storage_path": str(tmp_path_factory.mktemp("storage")),
    }


def _apply(settings: dict[str, Any], setitem: Callable[..., None], setattr_: Callable[..., None]) -> None:
    for key, value in settings.items():
        setitem(config, key, value)
    # CKAN caches the locale list for the life of the process.
    for cached in ("locales", "locales_dict", "available_locales", "_non_translated_locals"):
        setattr_(ckan_i18n, cached, None)


@pytest.fixture(scope="class")
def world(settings: dict[str, Any], reset_db: Any, reset_index: Any, migrate_db_for: Any) -> Iterator[World]:
    """Users in the three roles, an organisation and a scheduled dataset with all three languages filled, a
    resource and a publication. Built once for the class, with the plugins loaded for the whole class (CKAN
    restores its configuration before each test: `site` applies the settings again)."""
    with pytest.MonkeyPatch.context() as patch:
        _apply(settings, patch.setitem, patch.setattr)
        ckan.plugins.load_all()
        try:
            fresh_database(reset_db, reset_index, migrate_db_for)
            org, staff = staffed_organization("editor", prefix="lang", password=PASSWORD, **ORG)
            sysadmin = factories.Sysadmin(name="lang_sysadmin", password=PASSWORD)
            dataset = factories.Dataset(
                owner_org=org["id"], **DATASET,
                **legal(5, "annual quarter=1", mes_schedule_deadline_kk="жылына 1 рет I тоқсан"),
                resources=[{"name": "2025", "url": "http://example.com/schools-2025.csv", "format": "CSV"}],
            )
            publish(dataset, "2025-02-10")
            yield World(org=org, dataset=dataset, resource=dataset["resources"][0],
                        users={"editor": staff["editor"], "sysadmin": sysadmin})
        finally:
            ckan.plugins.unload_all()


@dataclasses.dataclass(frozen=True)
class Page:
    name: str
    role: str  # "anonymous", "editor" or "sysadmin"
    path: str  # formatted with the world: {dataset}, {resource}, {org}, {editor}
    status: int = 200
    post: bool = False  # a form posted (with the page's CSRF token) to show its errors or its flash message


PAGES = (
    Page("home", "anonymous", "/"),
    Page("search", "anonymous", "/dataset/?organization={org}"),
    Page("dataset", "anonymous", "/dataset/{dataset}"),
    Page("resource", "anonymous", "/dataset/{dataset}/resource/{resource}"),
    Page("history", "anonymous", "/dataset/{dataset}/compliance"),
    Page("organizations", "anonymous", "/organization/"),
    Page("organization", "anonymous", "/organization/{org}"),
    Page("organization about", "anonymous", "/organization/about/{org}"),
    Page("compliance", "anonymous", "/compliance"),
    Page("about", "anonymous", "/about"),
    Page("not found", "anonymous", "/dataset/no-such-dataset", status=404),
    Page("unknown address", "anonymous", "/no-such-page", status=404),
    Page("login", "anonymous", "/user/login"),
    Page("login failed", "anonymous", "/user/login", post=True),
    Page("register", "anonymous", "/user/register"),
    Page("register errors", "anonymous", "/user/register", post=True),
    Page("news feed", "editor", "/dashboard/"),
    Page("dashboard", "editor", "/dashboard/datasets"),
    Page("profile", "editor", "/user/{editor}"),
    Page("my deadlines", "editor", "/dashboard/deadlines"),
    Page("dataset as editor", "editor", "/dataset/{dataset}"),
    Page("dataset form", "editor", "/dataset/edit/{dataset}"),
    Page("dataset form errors", "editor", "/dataset/new", post=True),
    Page("resource form", "editor", "/dataset/{dataset}/resource/new"),
    Page("activity", "editor", "/dataset/activity/{dataset}"),
    Page("members", "sysadmin", "/organization/members/{org}"),
    Page("sysadmin", "sysadmin", "/ckan-admin/"),
    Page("site settings", "sysadmin", "/ckan-admin/config"),
)
BY_NAME = {page.name: page for page in PAGES}

# What each posted form sends: wrong credentials, a registration and a dataset with every field wrong or empty.
FORMS: dict[str, dict[str, str]] = {
    "login failed": {"login": "lang_editor", "password": "not-the-password"},
    "register errors": {"name": "", "fullname": "", "email": "12345", "password1": "a", "password2": "b"},
    "dataset form errors": {"title": "", "name": "", "owner_org": "", "save": "continue"},
}


class Site:
    """The pages of the world in each language, each rendered once for the class."""

    def __init__(self, app: Any, world: World) -> None:
        self.app, self.world = app, world
        self._cache: dict[tuple[str, str], tuple[int, str]] = {}
        self._browsers: dict[str, Any] = {}

    def _browser(self, role: str) -> Any:
        if role == "anonymous":
            return self.app
        if role not in self._browsers:
            self._browsers[role] = logged_in(self.app, self.world.users[role], PASSWORD)
        return self._browsers[role]

    def url(self, page: Page, lang: str) -> str:
        return _prefix(lang) + page.path.format(
            dataset=self.world.dataset["name"], resource=self.world.resource["id"], org=self.world.org["name"],
            editor=self.world.users["editor"]["name"],
        )

    def page(self, name: str, lang: str) -> str:
        key = (name, lang)
        if key not in self._cache:
            page = BY_NAME[name]
            browser, url = self._browser(page.role), self.url(page, lang)
            if page.post:
                field, token = form_token(browser.get(url).body)
                response = browser.post(url, data={**FORMS[name], field: token}, follow_redirects=False)
            else:
                response = browser.get(url, follow_redirects=False)
            self._cache[key] = (response.status_code, response.body)
        status, body = self._cache[key]
        assert status == BY_NAME[name].status, f"{name} ({lang}): {status}"
        return body

    def text(self, name: str, lang: str) -> str:
        return visible_text(self.page(name, lang), lang)


@pytest.fixture(scope="class")
def portal(world: World) -> Site:
    """One application for the class (made with the plugins `world` loaded and the portal's settings)."""
    from ckan.lib.app_globals import _CONFIG_CACHE
    from ckan.tests.helpers import _get_test_app

    _CONFIG_CACHE.clear()  # as CKAN's make_app fixture: no value cached by an earlier test
    return Site(_get_test_app(), world)


@pytest.fixture
def site(settings: dict[str, Any], portal: Site, monkeypatch: pytest.MonkeyPatch) -> Site:
    _apply(settings, monkeypatch.setitem, monkeypatch.setattr)
    return portal


# ------------------------------------------------------------------------------------------------ the pages


class TestEveryPageInTheReadersLanguage:
    @pytest.mark.parametrize("lang", LANGS)
    def test_no_string_in_another_language(self, site: Site, lang: str) -> None:
        found = {}
        for page in PAGES:
            words = foreign_words(site.text(page.name, lang), lang, site.world.allowed)
            if words:
                found[page.name] = sorted(words)
        assert not found, f"{lang}: words in another language:\n" + "\n".join(
            f"  {name} ({site.url(BY_NAME[name], lang)}): {' '.join(words)}" for name, words in found.items()
        )

    @pytest.mark.parametrize("lang", LANGS)
    def test_organisation_title_and_description_follow_the_language(self, site: Site, lang: str) -> None:
        title = ORG["title"] if lang == "kk" else ORG[f"title_{lang}"]
        description = ORG["description"] if lang == "kk" else ORG[f"description_{lang}"]
        for name in ("organizations", "organization", "organization about"):
            text = site.text(name, lang)
            assert title in text and description in text, name
        soup = BeautifulSoup(site.page("dataset", lang), "html.parser")
        assert title in soup.select_one(".breadcrumb").get_text(), "breadcrumb"
        assert title in soup.select_one("aside").get_text(), "sidebar"
        assert description in soup.select_one("aside").get_text(), "sidebar"
        search = BeautifulSoup(site.page("search", lang), "html.parser")
        assert title in search.select_one("aside").get_text(), "facet"
        assert title in search.select_one(".filter-list, .search-form").get_text(), "filter pill"
        form = BeautifulSoup(site.page("dataset form", lang), "html.parser")
        assert title in form.select_one("#field-organizations").get_text(), "form select"
        others = [ORG[f] for f in ("title", "title_ru", "title_en") if ORG[f] != title]
        for name in ("organizations", "organization", "dataset", "search"):
            assert not [o for o in others if o in site.text(name, lang)], name

    @pytest.mark.parametrize("lang", LANGS)
    def test_site_title_and_licence_follow_the_language(self, site: Site, lang: str) -> None:
        soup = BeautifulSoup(site.page("dataset", lang), "html.parser")
        assert soup.title.get_text().strip().endswith(SITE_TITLES[lang])
        assert SITE_TITLES[lang] in soup.select_one("footer").get_text()
        licence = soup.select_one("section.license").get_text(" ", strip=True)
        assert {"kk": "Авторлықты көрсету", "ru": "Атрибуция", "en": "Attribution"}[lang] in licence

    @pytest.mark.parametrize("lang", LANGS)
    def test_a_sentence_ending_with_a_date_has_one_full_stop(self, site: Site, lang: str) -> None:
        for name in ("dataset as editor", "my deadlines", "dataset"):
            text = site.text(name, lang)
            assert not re.search(r"[^.]\.\.(?!\.)", text), (name, re.findall(r".{30}[^.]\.\.(?!\.)", text))

    @pytest.mark.parametrize("lang", LANGS)
    def test_the_act_opens_in_the_readers_language(self, site: Site, lang: str) -> None:
        soup = BeautifulSoup(site.page("dataset", lang), "html.parser")
        link = soup.select_one(".mes-legal-basis a")
        folder = {"kk": "/kaz/", "ru": "/rus/", "en": "/rus/"}[lang]
        assert folder in link["href"] and link["hreflang"] == {"kk": "kk"}.get(lang, "ru")

    @pytest.mark.parametrize("lang", LANGS)
    def test_citizens_see_the_deadline_in_words_not_the_rule(self, site: Site, lang: str) -> None:
        for name in ("dataset", "history", "compliance"):
            assert "quarter=" not in site.page(name, lang), name
        words = {"kk": "тоқсан", "ru": "квартал", "en": "quarter"}[lang]
        assert words in site.text("dataset", lang)


# ------------------------------------------------------------------------------------------------ the catalogs


def _read(path: Path, locale: str) -> Any:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _key(message: Any) -> Any:
    return message.id if isinstance(message.id, str) else tuple(message.id)


def _forms(message: Any) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


_PLACEHOLDER = re.compile(r"\{[A-Za-z0-9_]*\}|%(?:\([A-Za-z0-9_]+\))?[sdifr]")
_VERSION_MARK = re.compile(r"CKAN (\d+)\.(\d+)(\+| only)")


def _for_this_ckan(message: Any) -> bool:
    """False for an entry marked for another CKAN version ("CKAN 2.12+", "CKAN 2.11 only")."""
    version = tuple(int(x) for x in ckan.__version__.split(".")[:2])
    for major, minor, kind in _VERSION_MARK.findall(" ".join(message.user_comments + message.auto_comments)):
        marked = (int(major), int(minor))
        if (kind == "+" and version < marked) or (kind == " only" and version != marked):
            return False
    return True


class TestRussianCatalogOfCkanStrings:
    def test_entries_are_ckans_msgids_translated_with_their_placeholders(self) -> None:
        known = {_key(m) for m in _read(CKAN_I18N / "ckan.pot", "ru") if m.id}
        catalog = _read(CORE_RU, "ru")
        assert catalog.plural_forms == _read(CKAN_I18N / "ru" / "LC_MESSAGES" / "ckan.po", "ru").plural_forms
        problems = []
        for m in catalog:
            if not m.id:
                continue
            source = m.id if isinstance(m.id, str) else m.id[-1]
            if _for_this_ckan(m) and _key(m) not in known:
                problems.append(f"not a msgid of CKAN {ckan.__version__}: {m.id!r}")
            if m.fuzzy or not all(_forms(m)):
                problems.append(f"untranslated: {m.id!r}")
            for form in _forms(m):
                if sorted(_PLACEHOLDER.findall(form)) != sorted(_PLACEHOLDER.findall(source)):
                    problems.append(f"placeholders changed: {m.id!r} -> {form!r}")
        problems += [f"{_key(m)!r}: {e}" for m, errors in catalog.check() for e in errors]
        assert not problems, "\n".join(problems)

    def test_a_string_shared_with_our_catalog_reads_the_same(self) -> None:
        """Flask-Babel merges our domain over CKAN's: one wording per string."""
        core = {_key(m): m.string for m in _read(CORE_RU, "ru") if m.id}
        ours = {_key(m): m.string for m in _read(EXT_RU, "ru") if m.id and m.string}
        differ = [f"{k!r}: ckan {core[k]!r} / ours {ours[k]!r}" for k in ours if k in core and core[k] != ours[k]]
        assert not differ, "\n".join(differ)

    def test_build_dir_merges_ours_over_ckans_russian(self, tmp_path: Path) -> None:
        dest = tmp_path / "i18n"
        entries, changed = cli_i18n.build_i18n_dir(dest)
        assert changed and (dest / "ru").resolve() == (dest / cli_i18n.MERGED / "ru").resolve()
        assert os.readlink(dest / "kk") == str(CORE / "kk")
        assert os.readlink(dest / "de") == str(CKAN_I18N / "de")
        merged = _read(dest / "ru" / "LC_MESSAGES" / "ckan.po", "ru")
        ckans = _read(CKAN_I18N / "ru" / "LC_MESSAGES" / "ckan.po", "ru")
        assert merged.get("Datasets").string == "Наборы данных"
        assert not [m.id for m in merged if m.id and any("пакет" in f.lower() for f in _forms(m) if f)]
        # CKAN's other Russian strings stay.
        kept = next(m for m in ckans if m.id == "Organizations")
        assert merged.get("Organizations").string == kept.string
        # The compiled catalog is the merged one; a second run changes nothing.
        buf = io.BytesIO()
        write_mo(buf, merged)
        assert (dest / "ru" / "LC_MESSAGES" / "ckan.mo").read_bytes() == buf.getvalue()
        assert cli_i18n.build_i18n_dir(dest) == (entries, 0)


def test_russian_long_dates_end_without_a_full_stop() -> None:
    import datetime as dt

    day = dt.date(2026, 11, 30)
    assert localization.long_date(day, "ru") == "30 ноября 2026 года"
    assert localization.long_date(day, "kk") == "2026\u202fж. 30 қараша"  # CLDR's narrow no-break space
    assert localization.long_date(day, "en") == "November 30, 2026"


@pytest.mark.parametrize("lang, folder", [("kk", "/kaz/"), ("ru", "/rus/"), ("en", "/rus/")])
def test_act_url_in_each_language(lang: str, folder: str) -> None:
    for given in ("https://adilet.zan.kz/kaz/docs/V1600013381", "https://adilet.zan.kz/rus/docs/V1600013381"):
        assert localization.act_url(given, lang) == f"https://adilet.zan.kz{folder}docs/V1600013381"
    assert localization.act_url("https://example.com/kaz/act", lang) == "https://example.com/kaz/act"

