# -*- coding: utf-8 -*-
"""Metadata lives in pyproject.toml. This file adds what setuptools cannot declare there:

- Babel's message extractors, as the CKAN cookiecutter does (`python setup.py extract_messages`);
- the compiled catalogs. The repository holds only the `.po` sources (`.mo` files are build products), yet a
  portal installed from the wheel needs the `.mo` files: the extension's (kk, ru, en) and our catalogs of
  CKAN's own strings in `i18n-core/` (kk). `build_py` compiles them into the wheel; `python setup.py
  compile_catalogs` (what `scripts/i18n.sh compile` runs) compiles them in place for the development tree.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Command, setup
from setuptools.command.build_py import build_py

PACKAGE = "ckanext.mes_schedule"
# <locale>/LC_MESSAGES/<domain>.po under the package: our domain, and CKAN's domain `ckan` for core strings.
CATALOGS = ("i18n/*/LC_MESSAGES/*.po", "i18n-core/*/LC_MESSAGES/*.po")


def compile_catalogs(src: Path, dest: Path, only_stale: bool) -> list[Path]:
    """Compile every catalog under `src` to the same relative place under `dest`; return the files written.

    Fuzzy entries are left out (as `pybabel compile` does: an unreviewed guess is worse than the English
    original); a catalog with errors (e.g. a placeholder missing from a translation) fails the build.
    """
    # Imported here: Babel is a build requirement ([build-system] in pyproject.toml), not needed to read this file.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(p for pattern in CATALOGS for p in src.glob(pattern)):
        rel = po.relative_to(src)
        mo = dest / rel.with_suffix(".mo")
        if only_stale and mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=rel.parts[-3])
        errors = [f"{po}: {m.id!r}: {e}" for m, problems in catalog.check() for e in problems]
        if errors:
            raise RuntimeError("catalog errors:\n" + "\n".join(errors))
        mo.parent.mkdir(parents=True, exist_ok=True)
        tmp = mo.with_name(mo.name + ".tmp")
        with tmp.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        os.replace(tmp, mo)  # a running portal never reads a half-written file
        written.append(mo)
    return written


class compile_catalogs_command(Command):
    """`python setup.py compile_catalogs`: compile the stale catalogs in place (the development tree).

    Unlike Babel's `compile_catalog` (setup.cfg: our domain only) it covers the core catalogs too.
    """

    description = "compile the extension's and the core .po catalogs to .mo in place (when stale)"
    user_options: list = []

    def initialize_options(self) -> None:
        pass

    def finalize_options(self) -> None:
        pass

    def run(self) -> None:
        root = Path(*PACKAGE.split("."))
        written = compile_catalogs(root, root, only_stale=True)
        if written:
            print(f"i18n: compiled {len(written)} catalog(s)", file=sys.stderr)


class build_py_with_catalogs(build_py):
    """build_py that also puts the compiled catalogs into the build (hence into the wheel)."""

    def run(self) -> None:
        super().run()
        src = Path(self.get_package_dir(PACKAGE))
        if getattr(self, "editable_mode", False):
            # `pip install -e .`: the package is read from the source tree, so that is where the .mo files go.
            compile_catalogs(src, src, only_stale=True)
        else:
            compile_catalogs(src, Path(self.build_lib, *PACKAGE.split(".")), only_stale=False)


setup(
    cmdclass={"build_py": build_py_with_catalogs, "compile_catalogs": compile_catalogs_command},
    message_extractors={
        "ckanext": [
            ("**.py", "python", None),
            ("**.js", "javascript", None),
            ("**/templates/**.html", "ckan", None),
        ],
    },
)
