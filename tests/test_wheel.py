"""The wheel is what portals install: build it with `python -m build`, install it (not editable) into a fresh
virtualenv beside CKAN, follow README's "Installation on a portal" and find the Kazakh and Russian UI.

The fresh virtualenv gets the CKAN under test (the one running this suite, 2.11 or 2.12) and every other
package of that environment as links, except this extension's editable install, which would shadow the wheel;
pip then installs the wheel into it, offline, and must find every dependency the wheel declares already there.
That takes a second, where installing CKAN's hundred dependencies afresh would take minutes.

Select it alone with `-m wheel`; it runs in `make test`.
"""
from __future__ import annotations

import gettext
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tarfile
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po

import ckan.plugins.toolkit as tk

pytestmark = pytest.mark.wheel

REPO = Path(__file__).resolve().parents[1]
PKG = "ckanext/mes_schedule"
DIST = "ckanext_mes_schedule"
CATALOGS = [
    f"{PKG}/i18n/{lang}/LC_MESSAGES/ckanext-mes_schedule" for lang in ("kk", "ru", "en")
] + [f"{PKG}/i18n-core/{lang}/LC_MESSAGES/ckan" for lang in ("kk", "ru")]
# What a portal needs besides the Python modules.
DATA = [
    f"{PKG}/config_declaration.yaml",
    f"{PKG}/data/order-120.yaml",
    f"{PKG}/schemas/dataset.yaml",
    f"{PKG}/schemas/organization.yaml",
    f"{PKG}/templates/mes_schedule/compliance.html",
    f"{PKG}/assets/webassets.yaml",
    f"{PKG}/assets/mes_schedule.css",
    f"{PKG}/i18n/ckanext-mes_schedule.pot",
    f"{PKG}/migration/mes_schedule/alembic.ini",
    f"{PKG}/migration/mes_schedule/env.py",
    f"{PKG}/migration/mes_schedule/script.py.mako",
]
# README's Kazakh settings (the i18n directory is added where the test lays it out).
KAZAKH = ["ckan.locale_default = kk", "ckan.locales_offered = kk ru en", "ckan.locale_order = kk ru en"]


def _run(*args: Any, timeout: int = 300, **kwargs: Any) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


# ------------------------------------------------------------------------------------------- the build


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m build`: the sdist, then the wheel built from that sdist (isolated: only pyproject's
    [build-system] requirements, from PyPI or pip's cache)."""
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", out, REPO, timeout=600)
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (found,) = dist.glob(f"{DIST}-*.whl")
    return found


def test_sdist_carries_the_sources(dist: Path) -> None:
    (sdist,) = dist.glob(f"{DIST}-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    expected = ["setup.py", "setup.cfg", "pyproject.toml", "MANIFEST.in", "README.md", "LICENSE"]
    expected += [f"{c}.po" for c in CATALOGS] + DATA
    missing = [n for n in expected if n not in names]
    assert not missing


def test_wheel_carries_what_a_portal_needs(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
    expected = [f"{c}.mo" for c in CATALOGS] + [f"{c}.po" for c in CATALOGS] + DATA
    missing = [n for n in expected if n not in names]
    assert not missing
    migrations = {n for n in names if re.fullmatch(rf"{PKG}/migration/mes_schedule/versions/\d{{4}}_\w+\.py", n)}
    in_repo = {str(p.relative_to(REPO)) for p in (REPO / PKG / "migration/mes_schedule/versions").glob("*.py")}
    assert migrations == in_repo
    templates = {n for n in names if n.startswith(f"{PKG}/templates/")}
    assert templates == {str(p.relative_to(REPO)) for p in (REPO / PKG / "templates").rglob("*.html")}


def test_wheel_catalogs_are_compiled_from_its_own_po_files(wheel: Path) -> None:
    """The build compiles the catalogs (a stale .mo left in a checkout never reaches a portal)."""
    with zipfile.ZipFile(wheel) as whl:
        for name in CATALOGS:
            lang = name.split("/")[-3]
            catalog = read_po(whl.open(f"{name}.po"), locale=lang)
            compiled = gettext.GNUTranslations(whl.open(f"{name}.mo"))
            wrong = [
                m.id
                for m in catalog
                if m.id and isinstance(m.id, str) and m.string and not m.fuzzy and compiled.gettext(m.id) != m.string
            ]
            assert not wrong, f"{name}.mo differs from {name}.po: {wrong[:5]}"
            translated = [m for m in catalog if m.id and m.string and not m.fuzzy]
            assert lang == "en" or translated, name


# ----------------------------------------------------------------------------- a virtualenv beside CKAN


def _ours(name: str) -> bool:
    """This extension's editable install (its .dist-info, .pth and import hook) in a site-packages."""
    return "ckanext_mes_schedule" in name.replace("-", "_").lower()


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv whose site-packages links every package of the running one but ours."""
    root = tmp_path_factory.mktemp("portal") / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", root)
    here = Path(sysconfig.get_paths()["purelib"])
    site = Path(_run(root / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                     cwd=root).stdout.strip())
    for entry in here.iterdir():
        if _ours(entry.name) or entry.name == "__pycache__" or (site / entry.name).exists():
            continue
        if entry.name == "ckanext":
            # A real folder: the wheel installs ckanext/mes_schedule into it, not into the CKAN under test.
            (site / "ckanext").mkdir()
            for sub in entry.iterdir():
                if sub.name not in ("mes_schedule", "__pycache__", "__init__.py"):
                    (site / "ckanext" / sub.name).symlink_to(sub)
            continue
        (site / entry.name).symlink_to(entry)
    # Console scripts are the one thing a link cannot carry (their first line names the interpreter).
    script = Path(sys.prefix, "bin", "ckan").read_text().split("\n", 1)[1]
    (root / "bin" / "ckan").write_text(f"#!{root}/bin/python\n{script}")
    (root / "bin" / "ckan").chmod(0o755)
    return root


def _env() -> dict[str, str]:
    # CKAN reads CKAN_* variables as config (the suite's database, site id ...): the portal has its own ini.
    return {k: v for k, v in os.environ.items() if not k.startswith(("CKAN", "PYTHONPATH"))}


@pytest.fixture(scope="module")
def installed(venv: Path, wheel: Path) -> Path:
    # README: `pip install <wheel>`, dependencies included (offline here: they must all be present already).
    _run(venv / "bin" / "python", "-m", "pip", "install", "--no-index", wheel, cwd=venv, env=_env())
    return venv


def test_the_wheel_not_the_checkout_is_imported(installed: Path) -> None:
    where = _run(installed / "bin" / "python", "-c", "import ckanext.mes_schedule as m; print(m.__file__)",
                 cwd=installed, env=_env()).stdout.strip()
    assert where.startswith(str(installed)) and not where.startswith(str(REPO)), where


# ------------------------------------------------------------------------------ the portal from the wheel


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A database of its own on the test PostgreSQL, dropped afterwards."""
    url = sa.engine.make_url(tk.config["sqlalchemy.url"])
    name = f"{url.database}_wheel"
    admin = sa.create_engine(url.set(username="postgres", password=None, database="postgres"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        c.execute(sa.text(f'create database "{name}" owner "{url.username}" encoding \'utf8\' template template0'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as c:
        c.execute(sa.text(f'drop database if exists "{name}" with (force)'))
    admin.dispose()


@pytest.fixture(scope="module")
def portal(installed: Path, database: str) -> Iterator[str]:
    """README's "Installation on a portal", step by step, then `ckan run`; yields the portal's address."""
    home = installed.parent
    ini, i18n = home / "ckan.ini", home / "i18n"
    port = _free_port()

    def ckan(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess:
        return _run(installed / "bin" / "ckan", "-c", ini, *args, cwd=home, env=_env(), **kwargs)

    def config(*settings: str) -> None:
        # without -c: config-tool edits the ini, it does not load the portal
        _run(installed / "bin" / "ckan", "config-tool", ini, *settings, cwd=home, env=_env())

    _run(installed / "bin" / "ckan", "generate", "config", ini, cwd=home, env=_env())
    config(
         f"sqlalchemy.url = {database}",
         f"solr_url = {tk.config['solr_url']}",
         f"ckan.redis.url = {tk.config['ckan.redis.url']}",
         f"ckan.site_id = {tk.config['ckan.site_id']}_wheel",
         f"ckan.site_url = http://127.0.0.1:{port}",
         f"ckan.storage_path = {home / 'storage'}",
         # README: the plugins and the schemas
         "ckan.plugins = mes_schedule scheming_datasets scheming_organizations activity",
         "scheming.dataset_schemas = ckanext.mes_schedule:schemas/dataset.yaml",
         "scheming.organization_schemas = ckanext.mes_schedule:schemas/organization.yaml")
    ckan("db", "upgrade")
    ckan("db", "upgrade", "-p", "mes_schedule")
    assert ckan("mes-schedule", "i18n-dir", i18n).stdout.strip() == str(i18n)
    config(f"ckan.i18n_directory = {i18n}", *KAZAKH)
    ckan("mes-schedule", "seed")

    log = (home / "ckan.log").open("w")
    server = subprocess.Popen(
        [str(installed / "bin" / "ckan"), "-c", str(ini), "run", "--host", "127.0.0.1", "--port", str(port),
         "--disable-reloader"],
        cwd=home, env=_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/3/action/status_show", timeout=5).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("CKAN did not start:\n" + (home / "ckan.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
        # The seeded datasets leave the shared Solr core (only this site id's documents).
        ckan("search-index", "clear")
        shutil.rmtree(home / "storage", ignore_errors=True)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=60) as response:
        assert response.status == 200
        return response.read().decode()


def _translation(po: Path, lang: str, msgid: str) -> str:
    with po.open("rb") as f:
        found = read_po(f, locale=lang).get(msgid)
    assert found is not None and found.string, (po, msgid)
    return found.string


def _order_titles() -> dict[str, str]:
    import yaml

    item = yaml.safe_load((REPO / PKG / "data/order-120.yaml").read_text())["items"][0]
    return {"kk": item["title"]["kk"], "ru": item["title"]["ru"]}


def test_compliance_speaks_kazakh_by_default_and_russian_under_ru(portal: str, installed: Path) -> None:
    ours = REPO / PKG / "i18n"
    core_kk = REPO / PKG / "i18n-core/kk/LC_MESSAGES/ckan.po"
    core_ru = REPO / PKG / "i18n-core/ru/LC_MESSAGES/ckan.po"  # merged over CKAN's own Russian catalog
    heading = "Compliance with Order No. 120"
    titles = _order_titles()

    kk = _get(f"{portal}/compliance")
    assert '<html lang="kk"' in kk
    assert _translation(ours / "kk/LC_MESSAGES/ckanext-mes_schedule.po", "kk", heading) in kk  # our catalog
    assert _translation(core_kk, "kk", "Datasets") in kk  # our Kazakh catalog of CKAN's own strings
    assert titles["kk"] in kk  # the order's data file, seeded
    assert heading not in kk

    ru = _get(f"{portal}/ru/compliance")
    assert '<html lang="ru"' in ru
    assert _translation(ours / "ru/LC_MESSAGES/ckanext-mes_schedule.po", "ru", heading) in ru
    assert _translation(core_ru, "ru", "Datasets") in ru  # our Russian catalog of CKAN's strings ("Наборы данных")
    assert titles["ru"] in ru
