"""`ckan mes-schedule i18n-dir PATH`: the CKAN i18n directory that offers Kazakh beside CKAN's own locales.

CKAN offers only the locales that are folders of `ckan.i18n_directory` (default: the installed `ckan/i18n`,
which has `ru` but no `kk`) and refuses to start when `ckan.locale_default` is not one of them. This command
makes PATH a directory of symbolic links: `kk` to our Kazakh catalog of CKAN's own strings (gettext domain
`ckan`, shipped in the wheel under `ckanext/mes_schedule/i18n-core/`), every other locale and `ckan.pot` to
the installed CKAN. A locale that both ship (`ru`) is merged: PATH/.merged/ru holds CKAN's own catalog with
ours laid over it (.po for CKAN's JavaScript catalogs, .mo for the pages), and PATH/ru links to it; so our
wording wins ("набор данных", never "пакет данных") and CKAN's other strings stay. The ini then says:

    ckan.i18n_directory = PATH
    ckan.locale_default = kk
    ckan.locales_offered = kk ru en
    ckan.locale_order = kk ru en

Links, not copies, where nothing is merged: upgrading CKAN or this extension in place updates the catalogs CKAN
reads; run the command again after either upgrade (the merged catalogs are rebuilt from the new sources).
Idempotent: it touches nothing that is already right, so a running portal keeps reading the same files. The
development stack builds its directory with this same code (`scripts/i18n.sh build-dir`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

__all__ = ["i18n_dir"]

# Our catalogs of CKAN's strings, one folder per locale, inside the installed package.
CORE_CATALOGS = Path(__file__).resolve().parents[1] / "i18n-core"
DOMAIN = "ckan"
# Where PATH keeps the catalogs it merged (a hidden folder: CKAN lists locales by folder name).
MERGED = ".merged"


def ckan_i18n_source() -> Path:
    """The installed CKAN's own i18n directory (as CKAN itself computes its default)."""
    import ckan

    return Path(os.path.dirname(ckan.__file__)) / "i18n"


def _locales(root: Path) -> dict[str, Path]:
    # Only real locale folders: __pycache__, ckan.pot and the like are not locales.
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if (p / "LC_MESSAGES").is_dir()}


def _link(at: Path, to: Path) -> bool:
    """Point `at` to `to`; False when it already does. Refuse to replace what is not a symbolic link."""
    if at.is_symlink() and os.readlink(at) == str(to):
        return False
    if at.exists() and not at.is_symlink():
        raise click.ClickException(f"{at} exists and is not a symbolic link; remove it and run again")
    tmp = at.with_name(f".{at.name}.tmp")
    if tmp.is_symlink():
        tmp.unlink()
    tmp.symlink_to(to)
    os.replace(tmp, at)  # atomic: a running portal never sees the locale missing
    return True


def _read_catalog(folder: Path, locale: str) -> Any:
    """Our catalog of CKAN's strings in `folder` (a locale folder): the .po source, else the compiled .mo."""
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    po, mo = folder / "LC_MESSAGES" / f"{DOMAIN}.po", folder / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if po.is_file():
        with po.open("rb") as f:
            return read_po(f, locale=locale)
    with mo.open("rb") as f:
        return read_mo(f)


def merge_catalogs(ckans: Path, ours: Path, locale: str) -> Any:
    """CKAN's catalog of `locale` (folder `ckans`) with our translations (folder `ours`) laid over it: ours
    replace CKAN's for the same msgid and add the ones CKAN leaves untranslated; fuzzy entries are left out."""
    from babel.messages.pofile import read_po

    with (ckans / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        merged = read_po(f, locale=locale)
    for message in _read_catalog(ours, locale):
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if not message.id or message.fuzzy or not all(forms):
            continue
        theirs = merged.get(message.id)
        if theirs is None:
            merged[message.id] = message
        else:  # Catalog's own update keeps the old translation: replace it
            theirs.string = message.string
            theirs.flags.discard("fuzzy")
    return merged


def _write_if_changed(path: Path, content: bytes) -> bool:
    if path.is_file() and path.read_bytes() == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)  # a running portal never reads a half-written catalog
    return True


def _merged_locale(dest: Path, name: str, ours: Path, ckans: Path) -> tuple[Path, int]:
    """Write PATH/.merged/<name> (ckan.po and ckan.mo); return the folder and how many files changed."""
    import io

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import write_po

    catalog = merge_catalogs(ckans, ours, name)
    folder = dest / MERGED / name
    changed = 0
    for suffix, write in ((".po", write_po), (".mo", write_mo)):
        buf = io.BytesIO()
        write(buf, catalog)
        changed += _write_if_changed(folder / "LC_MESSAGES" / f"{DOMAIN}{suffix}", buf.getvalue())
    return folder, changed


def build_i18n_dir(dest: Path, ours: Path = CORE_CATALOGS, ckans: Path | None = None) -> tuple[int, int]:
    """Lay out `dest` (created if missing); return (entries, entries changed). Messages go to stderr."""
    ckans = ckans if ckans is not None else ckan_i18n_source()
    if not ckans.is_dir():
        raise click.ClickException(f"CKAN's i18n directory {ckans} is missing")
    dest.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, Path] = {}
    theirs = _locales(ckans)
    changed = 0
    # Our catalogs first: a locale only we ship (kk) is ours; one CKAN ships too (ru) is merged, ours winning.
    for name, folder in _locales(ours).items():
        if name in theirs:
            wanted[name], files = _merged_locale(dest, name, folder, theirs[name])
            changed += files
        else:
            wanted[name] = folder
            if not any((folder / "LC_MESSAGES").glob("*.mo")):
                click.echo(f"i18n: {name} has no compiled catalog yet (run: scripts/i18n.sh compile)", err=True)
    for name, folder in theirs.items():
        wanted.setdefault(name, folder)
    # build_js_translations reads <i18n dir>/ckan.pot to find the strings used by JavaScript.
    if (ckans / "ckan.pot").is_file():
        wanted["ckan.pot"] = ckans / "ckan.pot"

    changed += sum(_link(dest / name, target) for name, target in wanted.items())
    # Locales that disappeared (CKAN upgraded) go away too; what this command did not make stays.
    for entry in sorted(dest.iterdir()):
        if entry.name in wanted or entry.name == MERGED:
            continue
        if entry.is_symlink():
            entry.unlink()
            changed += 1
        else:
            click.echo(f"i18n: leaving {entry} alone (not a link made by this command)", err=True)
    return len(wanted), changed


@click.command("i18n-dir", short_help="Lay out the CKAN i18n directory that adds Kazakh to CKAN's locales.")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
def i18n_dir(path: Path) -> None:
    """Make PATH the directory that `ckan.i18n_directory` names: CKAN's locales plus our Kazakh catalog of
    CKAN's own strings (links), and CKAN's Russian catalog with ours merged over it. Prints the absolute path;
    run it again after upgrading CKAN or this extension.
    """
    dest = path.absolute()
    entries, changed = build_i18n_dir(dest)
    if changed:
        click.echo(f"i18n: {dest} ready ({entries} entries, {changed} changed) for CKAN in {ckan_i18n_source().parent}",
                   err=True)
    click.echo(str(dest))
