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
# ckanext/mes_schedule/i18n-core/ (our Kazakh catalog of CKAN's own strings, gettext domain `ckan`).
# The ini then says:
#   ckan.i18n_directory = <printed path>
#   ckan.locale_default = kk
#   ckan.locales_offered = kk ru en
#   ckan.locale_order = kk ru en
# CKAN 2.11 and 2.12 ship different catalogs, so each virtualenv gets its own directory:
# $STATE_DIR/i18n-<basename of $VENV>. Every subcommand is idempotent.
#
# environment: VENV (default <repo>/.venv), STATE_DIR (default <repo>/.state)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$REPO/.venv}
STATE_DIR=${STATE_DIR:-$REPO/.state}
EXT_I18N=$REPO/ckanext/mes_schedule/i18n
CORE_I18N=$REPO/ckanext/mes_schedule/i18n-core
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

# Point $1 at $2, touching nothing when it already does (a running portal keeps reading the same files).
link() {
    local at=$1 to=$2
    if [ -L "$at" ] && [ "$(readlink "$at")" = "$to" ]; then
        return 0
    fi
    if [ -e "$at" ] && [ ! -L "$at" ]; then
        die "$at exists and is not a symbolic link; remove it and run build-dir again"
    fi
    ln -sfn "$to" "$at"
    CHANGED=$((CHANGED + 1))
}

cmd_build_dir() {
    need_venv
    local src dest name entry
    src=$("$VENV/bin/python" -c 'import ckan, os; print(os.path.join(os.path.dirname(ckan.__file__), "i18n"))') \
        || die "cannot import ckan from $VENV"
    [ -d "$src" ] || die "CKAN's i18n directory $src is missing"
    dest=$(i18n_dir)
    mkdir -p "$dest"
    CHANGED=0
    declare -A wanted=()

    # Our catalogs first: a locale we ship wins over one CKAN might ship later (ours is the reviewed one).
    for entry in "$CORE_I18N"/*/; do
        [ -d "$entry/LC_MESSAGES" ] || continue
        name=$(basename "$entry")
        link "$dest/$name" "${entry%/}"
        wanted[$name]=1
        if [ ! -f "$entry/LC_MESSAGES/ckan.mo" ]; then
            say "i18n: $name has no compiled ckan.mo yet (run: scripts/i18n.sh compile)"
        fi
    done
    for entry in "$src"/*/; do
        # only real locale folders: __pycache__ and the like are not locales
        [ -d "$entry/LC_MESSAGES" ] || continue
        name=$(basename "$entry")
        [ -n "${wanted[$name]:-}" ] && { say "i18n: CKAN now ships '$name' too; ours is used"; continue; }
        link "$dest/$name" "${entry%/}"
        wanted[$name]=1
    done
    # build_js_translations reads <i18n dir>/ckan.pot to find the strings used by JavaScript
    if [ -f "$src/ckan.pot" ]; then
        link "$dest/ckan.pot" "$src/ckan.pot"
        wanted[ckan.pot]=1
    fi
    # Locales that disappeared (CKAN upgraded in this venv) go away too.
    for entry in "$dest"/* "$dest"/.[!.]*; do
        [ -e "$entry" ] || [ -L "$entry" ] || continue
        name=$(basename "$entry")
        [ -n "${wanted[$name]:-}" ] && continue
        if [ -L "$entry" ]; then
            rm -f "$entry"
            CHANGED=$((CHANGED + 1))
        else
            say "i18n: leaving $entry alone (not a link made by this script)"
        fi
    done
    if [ "$CHANGED" -gt 0 ]; then
        say "i18n: $dest ready (${#wanted[@]} entries, $CHANGED changed) for CKAN in $VENV"
    fi
    printf '%s\n' "$dest"
}

cmd_compile() {
    need_venv
    local po mo n=0 failed=0
    shopt -s nullglob
    for po in "$EXT_I18N"/*/LC_MESSAGES/*.po "$CORE_I18N"/*/LC_MESSAGES/*.po; do
        mo=${po%.po}.mo
        if [ -f "$mo" ] && [ "$mo" -nt "$po" ]; then
            continue
        fi
        # pybabel leaves out fuzzy entries (an unreviewed guess is worse than the English original)
        if "$VENV/bin/pybabel" -q compile -i "$po" -o "$mo"; then
            n=$((n + 1))
        else
            say "i18n: could not compile $po"
            failed=1
        fi
    done
    [ "$failed" = 0 ] || exit 1
    [ "$n" = 0 ] || say "i18n: compiled $n catalog(s)"
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
