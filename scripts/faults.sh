#!/usr/bin/env bash
# Fault checks (issue 7): what the portal does while Solr, Redis or PostgreSQL is down or restarts, and that it
# recovers without restarting CKAN. Runs a stack of its own (own state folder and ports) so the development
# portal is never disturbed, then prints a Markdown table of what each URL answered.
#
#   make faults            (or: bash scripts/faults.sh)
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export STATE_DIR=$REPO/.state/faults
export PG_PORT=5633 REDIS_PORT=6580 SOLR_PORT=9083 CKAN_PORT=5060
BASE=http://127.0.0.1:$CKAN_PORT
stack() { bash "$REPO/scripts/stack.sh" "$@"; }
VENV=${VENV:-$REPO/.venv}
INI=$STATE_DIR/ckan/ckan.ini

stack up >/dev/null || { echo "faults: the stack did not come up; see $STATE_DIR/log" >&2; exit 1; }
TOKEN=$(cat "$STATE_DIR/ckan/sysadmin-token")
DATASET=mes-order-120-item-05

# One publication, so there is a history and a status to show.
curl -fsS -X POST "$BASE/api/3/action/resource_create" -H "Authorization: $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"package_id\": \"$DATASET\", \"url\": \"http://example.com/kindergartens.csv\", \"name\": \"2026\"}" >/dev/null

URLS=(
    "/compliance"
    "/api/3/action/mes_schedule_compliance_list?limit=5"
    "/dataset/$DATASET/compliance.svg"
    "/dataset/$DATASET"
    "/dataset/"
    "/api/3/action/package_search?rows=1"
)

code() { curl -s -o /tmp/faults-body.$$ -w '%{http_code}' --max-time 30 "$BASE$1"; }

declare -a ROWS
check() {  # check SITUATION: one row per URL
    local situation=$1 url c note
    for url in "${URLS[@]}"; do
        c=$(code "$url")
        note=""
        if [ "$c" -ge 500 ] 2>/dev/null; then
            note=$(grep -o -m1 -iE '(search|solr|redis|database|error)[^<"]{0,80}' /tmp/faults-body.$$ | head -n1)
        fi
        ROWS+=("| $situation | \`$url\` | $c | ${note:-} |")
    done
}

facet_has_status() {
    curl -fsS "$BASE/api/3/action/package_search?rows=0&facet.field=%5B%22mes_schedule_status%22%5D" \
        | "$VENV/bin/python" -c 'import json,sys; f=json.load(sys.stdin)["result"]["facets"]; print(sum(f.get("mes_schedule_status", {}).values()))'
}

check "all services up"

bash "$REPO/scripts/solr.sh" stop >/dev/null
check "Solr stopped"
bash "$REPO/scripts/solr.sh" start >/dev/null
check "Solr back (no CKAN restart)"
"$VENV/bin/ckan" -c "$INI" search-index rebuild --quiet >/dev/null 2>&1
ROWS+=("| Solr back, after \`ckan search-index rebuild\` | compliance facet entries | $(facet_has_status) | datasets counted in the mes_schedule_status facet |")

redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1
sleep 1
check "Redis stopped"
stack services >/dev/null
check "Redis restarted (no CKAN restart)"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if [ "$(id -u)" = 0 ]; then runpg() { runuser -u postgres -- "$@"; }; else runpg() { "$@"; }; fi
runpg "$PGBIN/pg_ctl" -D "$STATE_DIR/pg/data" -m fast -w stop >/dev/null
check "PostgreSQL stopped"
runpg "$PGBIN/pg_ctl" -D "$STATE_DIR/pg/data" -l "$STATE_DIR/log/postgres.log" -w \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $STATE_DIR/pg/run" start >/dev/null
check "PostgreSQL restarted (no CKAN restart)"

echo "| situation | URL | HTTP status | message (5xx) |"
echo "| --- | --- | --- | --- |"
printf '%s\n' "${ROWS[@]}"
rm -f /tmp/faults-body.$$
stack down >/dev/null
