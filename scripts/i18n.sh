#!/usr/bin/env bash
# Translations of the portal: Kazakh (default), Russian and English.
#
#   scripts/i18n.sh build-dir   create or refresh the CKAN i18n directory for $VENV and print its path
#   scripts/i18n.sh path        print that path without building anything
#   scripts/i18n.sh compile     compile every .po of the extension and of the core catalogs to .mo (when stale)
#   scripts/i18n.sh extract     refresh ckanext/mes_schedule/i18n/ckanext-mes_schedule.pot from the source
#   scripts/i18n.sh update      merge that .pot into the kk, ru and en catalogs (creating missing ones)
#
# Why a directory of our own: CKAN offers only the locales that are folders of `ckan.i18n_directory` (default:
# the installed ckan/i18n, which has ru but no kk) and refuses to start when `ckan.locale_default` is not one
# of them. The directory built here links every locale folder of the installed CKAN and adds `kk` from
# ckanext/mes_schedule/i18n-core/ (our Kazakh catalog of CKAN's own strings, gettext domain `ckan`); for `ru`
# it merges our Russian catalog of CKAN's strings over CKAN's own (one term, "набор данных"; the strings CKAN
# leaves untranslated) into <dir>/.merged/ru and links `ru` to it.
# The ini then says:
#   ckan.i18n_directory = <printed path>
#   ckan.locale_default = kk
#   ckan.locales_offered = kk ru en
#   ckan.locale_order = kk ru en
# CKAN 2.11 and 2.12 ship different catalogs, so each virtualenv gets its own directory:
# $STATE_DIR/i18n-<basename of $VENV>. Every subcommand is idempotent.
# One home for each step, shared with a portal installed from the wheel: build-dir runs the extension's
# `ckan mes-schedule i18n-dir` (ckanext/mes_schedule/cli/i18n.py); compile runs setup.py's `compile_catalogs`,
# the code that `python -m build` runs to put the .mo files into the wheel.
#
# environment: VENV (default <repo>/.venv), STATE_DIR (default <repo>/.state)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$REPO/.venv}
STATE_DIR=${STATE_DIR:-$REPO/.state}
EXT_I18N=$REPO/ckanext/mes_schedule/i18n
DOMAIN=ckanext-mes_schedule
POT=$EXT_I18N/$DOMAIN.pot
LANGS=(kk ru en)

say() { printf '%s\n' "$*" >&2; }
die() { printf 'i18n: %s\n' "$*" >&2; exit 1; }

need_venv() {
    [ -x "$VENV/bin/python" ] || die "no virtualenv at $VENV (run: scripts/stack.sh install)"
}

i18n_dir() {
    local venv
    venv=$(cd "$VENV" 2>/dev/null && pwd || printf '%s' "$VENV")
    printf '%s/i18n-%s' "$STATE_DIR" "$(basename "$venv")"
}

cmd_build_dir() {
    need_venv
    # One home for the layout: the extension's `ckan mes-schedule i18n-dir` command (ckanext/mes_schedule/cli/
    # i18n.py), which a portal installed from the wheel runs too. Called without a CKAN ini here.
    "$VENV/bin/python" -c 'import sys
from ckanext.mes_schedule.cli.i18n import i18n_dir
i18n_dir.main(sys.argv[1:], prog_name="scripts/i18n.sh build-dir")' "$(i18n_dir)" \
        || die "could not build the i18n directory with CKAN and the extension in $VENV"
}

cmd_compile() {
    need_venv
    # Only stale catalogs; fuzzy entries are left out (an unreviewed guess is worse than the English original).
    (cd "$REPO" && PYTHONWARNINGS=ignore "$VENV/bin/python" setup.py -q compile_catalogs) \
        || die "could not compile the catalogs (python setup.py compile_catalogs)"
}

cmd_extract() {
    need_venv
    local before
    before=$(mktemp)
    trap 'rm -f "$before"' RETURN
    [ -f "$POT" ] && cp "$POT" "$before"
    # setup.py holds the extractor map (python, javascript, and CKAN's jinja extractor for the templates)
    # and setup.cfg the keywords and the output file: one source of truth for `python setup.py
    # extract_messages` and for this script.
    (cd "$REPO" && PYTHONWARNINGS=ignore "$VENV/bin/python" setup.py -q extract_messages >/dev/null) \
        || die "extraction failed (python setup.py extract_messages)"
    # Keep the file untouched when only the creation date changed.
    if [ -s "$before" ] && diff -q <(grep -v '^"POT-Creation-Date:' "$before") \
            <(grep -v '^"POT-Creation-Date:' "$POT") >/dev/null; then
        cp "$before" "$POT"
        say "i18n: $POT unchanged"
    else
        say "i18n: $POT updated ($(grep -c '^msgid ' "$POT") entries with the header)"
    fi
}

cmd_update() {
    need_venv
    [ -f "$POT" ] || die "$POT is missing (run: scripts/i18n.sh extract)"
    local lang po
    for lang in "${LANGS[@]}"; do
        po=$EXT_I18N/$lang/LC_MESSAGES/$DOMAIN.po
        if [ -f "$po" ]; then
            "$VENV/bin/pybabel" -q update -i "$POT" -d "$EXT_I18N" -D "$DOMAIN" -l "$lang" -w 80 \
                --previous --ignore-obsolete --ignore-pot-creation-date
        else
            "$VENV/bin/pybabel" -q init -i "$POT" -d "$EXT_I18N" -D "$DOMAIN" -l "$lang" -w 80
        fi
        say "i18n: $po: $("$VENV/bin/python" - "$po" <<'EOF'
import sys
from babel.messages.pofile import read_po
with open(sys.argv[1], "rb") as f:
    cat = read_po(f)
msgs = [m for m in cat if m.id]
todo = [m for m in msgs if m.fuzzy or not (all(m.string) if isinstance(m.string, tuple) else m.string)]
print(f"{len(msgs)} messages, {len(todo)} to translate or review")
EOF
)"
    done
}

verb=${1:-}
[ $# -gt 0 ] && shift
case "$verb" in
    build-dir) cmd_build_dir ;;
    path) i18n_dir; echo ;;
    compile) cmd_compile ;;
    extract) cmd_extract ;;
    update) cmd_update ;;
    *) die "usage: scripts/i18n.sh build-dir|path|compile|extract|update" ;;
esac
