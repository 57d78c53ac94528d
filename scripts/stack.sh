#!/usr/bin/env bash
# The project's development and CI stack: PostgreSQL and Redis from Debian packages, Solr 9 from Maven Central
# (scripts/solr.sh), CKAN from PyPI in a virtualenv. All state lives in $STATE_DIR (git-ignored).
#
#   scripts/stack.sh install   install what is missing (apt packages, virtualenv, CKAN, this extension)
#   scripts/stack.sh services  start PostgreSQL, Redis and Solr; create the databases
#   scripts/stack.sh up        install + services + portal ini + db upgrade + sysadmin + seed + serve on :5000
#   scripts/stack.sh test [pytest args]   install + services + run the test suite against them
#   scripts/stack.sh down      stop everything this script started (the portal, its jobs worker, the services)
#   scripts/stack.sh status    one line per service
#   scripts/stack.sh bench [args]  the benchmark (scripts/bench.py) on a database of its own
#
# Every step is idempotent: running it twice does nothing the second time.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE_DIR=${STATE_DIR:-$REPO/.state}
LOG_DIR=$STATE_DIR/log
CKAN_VERSION=${CKAN_VERSION:-2.12.x}
PG_PORT=${PG_PORT:-5433}
REDIS_PORT=${REDIS_PORT:-6380}
SOLR_PORT=${SOLR_PORT:-8983}
CKAN_PORT=${CKAN_PORT:-5000}
PYTHON=${PYTHON:-python3}
export STATE_DIR SOLR_PORT

# 2.12.x keeps the conventional .venv; any other series gets a venv of its own, so switching between the two
# supported versions (CI tests both) never reinstalls CKAN.
case "$CKAN_VERSION" in
    2.12.x) VENV=${VENV:-$REPO/.venv}; CKAN_SPEC='>=2.12,<2.13' ;;
    2.11.x) VENV=${VENV:-$REPO/.venv-ckan-2.11}; CKAN_SPEC='>=2.11,<2.12' ;;
    *) echo "stack: unsupported CKAN_VERSION '$CKAN_VERSION' (use 2.12.x or 2.11.x)" >&2; exit 2 ;;
esac
export VENV

PORTAL_INI=$STATE_DIR/ckan/ckan.ini
DB_PORTAL=ckan
DB_TEST=${DB_TEST:-ckan_test}  # another name gives a parallel run a database of its own
DB_USER=ckan
DB_PASSWORD=ckan
# The DataStore: a database of its own beside each CKAN database, written by CKAN's user and read by a
# read-only role (`ckan datastore set-permissions` grants what each may do).
DS_PORTAL=${DB_PORTAL}_datastore
DS_TEST=${DB_TEST}_datastore
DS_READER=datastore_ro
DS_READER_PASSWORD=datastore_ro
SYSADMIN=${SYSADMIN:-mes_admin}

say() { printf '%s\n' "$*"; }
die() { printf '%s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

pg_bin() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$d" ] || die "postgres: no server binaries under /usr/lib/postgresql (run: scripts/stack.sh install)"
    printf '%s' "$d"
}

# PostgreSQL refuses to run as root; as root we run it as the Debian package's `postgres` user.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# ----------------------------------------------------------------------------------------------- install
install_system() {
    local missing=()
    [ -n "$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null)" ] || missing+=(postgresql)
    command -v redis-server >/dev/null || missing+=(redis-server)
    command -v curl >/dev/null || missing+=(curl)
    command -v mvn >/dev/null || missing+=(maven)
    command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
    # headless Chromium and its driver for the browser test (tests/test_browser.py)
    command -v chromium >/dev/null || missing+=(chromium)
    command -v chromedriver >/dev/null || missing+=(chromium-driver)
    # libmagic for python-magic (CKAN's upload type sniffing)
    [ -e /usr/lib/x86_64-linux-gnu/libmagic.so.1 ] || ls /usr/lib/*/libmagic.so.1 >/dev/null 2>&1 || missing+=(libmagic1)
    if [ ${#missing[@]} -gt 0 ]; then
        say "stack: apt-get install ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >"$LOG_DIR/apt.log" 2>&1 \
            || die "stack: apt-get install failed; see $LOG_DIR/apt.log"
    fi
}

install_python() {
    local stamp=$VENV/.mes_schedule-installed
    # Reinstall when the package metadata changed since the last install.
    if [ -f "$stamp" ] && [ "$stamp" -nt "$REPO/pyproject.toml" ] && [ "$stamp" -nt "$REPO/requirements-dev.txt" ]; then
        return 0
    fi
    say "stack: installing CKAN $CKAN_VERSION and the extension into $VENV"
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip >"$LOG_DIR/pip.log" 2>&1
    # CKAN's wheel declares its pinned runtime and test dependencies as the extras `requirements` and `dev`.
    "$VENV/bin/pip" install -q "ckan[requirements,dev]$CKAN_SPEC" >>"$LOG_DIR/pip.log" 2>&1 \
        || die "stack: pip install ckan failed; see $LOG_DIR/pip.log"
    "$VENV/bin/pip" install -q -r "$REPO/requirements-dev.txt" -e "$REPO[test,dcat,xloader]" >>"$LOG_DIR/pip.log" 2>&1 \
        || die "stack: pip install of the extension failed; see $LOG_DIR/pip.log"
    # ckanext-xloader's wheel ships a pkg_resources-style ckanext/__init__.py, which makes `ckanext` a regular
    # package; CKAN's own wheel leaves it a PEP 420 namespace. Without the file every ckanext.* imports as before,
    # and tools that walk the namespace (import-linter, `make lint`) find this extension again.
    rm -rf "$VENV"/lib/python3*/site-packages/ckanext/__init__.py "$VENV"/lib/python3*/site-packages/ckanext/__pycache__
    touch "$stamp"
}

compile_translations() {
    # .mo files are build products (git-ignored): the extension's catalogs and our kk catalog of CKAN's strings.
    bash "$REPO/scripts/i18n.sh" compile || die "stack: could not compile the translations"
}

# axe-core and puppeteer-core for tests/test_accessibility.py (they drive the system Chromium; no download).
install_a11y() {
    local dir=$REPO/tests/a11y
    command -v npm >/dev/null || { say "stack: npm not found: tests/test_accessibility.py will be skipped"; return 0; }
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
        say "stack: npm ci in tests/a11y"
        (cd "$dir" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) >"$LOG_DIR/npm.log" 2>&1 \
            || die "stack: npm ci failed; see $LOG_DIR/npm.log"
        touch "$dir/node_modules"
    fi
}

cmd_install() {
    mkdir -p "$LOG_DIR"
    install_system
    install_python
    install_a11y
    compile_translations
    bash "$REPO/scripts/solr.sh" build
}

# -------------------------------------------------------------------------------------------- PostgreSQL
pg_data_dir() {
    # The cluster lives in $STATE_DIR/pg. When the checkout sits where the postgres user cannot reach it
    # (e.g. under /root), the data goes to /var/lib/mes_schedule and $STATE_DIR/pg links to it.
    local dir=$STATE_DIR/pg
    if [ ! -e "$dir" ]; then
        mkdir -p "$dir"
        if [ "$(id -u)" = 0 ]; then
            chown postgres:postgres "$dir"
            if ! runuser -u postgres -- test -w "$dir"; then
                rmdir "$dir"
                local alt
                alt=/var/lib/mes_schedule/pg-$(printf '%s' "$STATE_DIR" | md5sum | cut -c1-12)
                mkdir -p "$alt"
                chown postgres:postgres "$alt"
                ln -s "$alt" "$dir"
            fi
        fi
    fi
    printf '%s' "$dir"
}

pg_running() {
    local bin
    bin=$(pg_bin)
    as_pg "$bin/pg_ctl" -D "$STATE_DIR/pg/data" status >/dev/null 2>&1
}

pg_start() {
    local bin dir
    bin=$(pg_bin)
    dir=$(pg_data_dir)
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        say "postgres: initdb in $dir/data"
        # trust on loopback only: a local development and CI cluster that listens on 127.0.0.1 alone
        as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$LOG_DIR/initdb.log" 2>&1 \
            || die "postgres: initdb failed; see $LOG_DIR/initdb.log"
    fi
    mkdir -p "$dir/run"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir/run"
    if ! pg_running; then
        say "postgres: starting on 127.0.0.1:$PG_PORT"
        touch "$LOG_DIR/postgres.log"
        [ "$(id -u)" = 0 ] && chown postgres "$LOG_DIR/postgres.log"
        as_pg "$bin/pg_ctl" -D "$dir/data" -l "$LOG_DIR/postgres.log" -w -t 60 \
            -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $dir/run -c fsync=off -c full_page_writes=off" start >/dev/null \
            || die "postgres: failed to start; see $LOG_DIR/postgres.log"
    fi
    pg_wait
    pg_create_db "$DB_PORTAL"
    pg_create_db "$DB_TEST"
    local db
    for db in "$DS_PORTAL" "$DS_TEST" "${DB_PORTAL}_xloader" "${DB_TEST}_xloader"; do pg_create_db "$db"; done
    if [ -z "$(pg_psql -c "select 1 from pg_roles where rolname='$DS_READER'")" ]; then
        pg_psql -c "create role $DS_READER login password '$DS_READER_PASSWORD'"
    fi
}

# ds_permissions INI: apply what `ckan datastore set-permissions` emits for that ini, as the superuser.
ds_permissions() {
    "$VENV/bin/ckan" -c "$1" datastore set-permissions 2>>"$LOG_DIR/datastore.log" \
        | pg_psql -f - >>"$LOG_DIR/datastore.log" 2>&1 \
        || die "datastore: set-permissions failed; see $LOG_DIR/datastore.log"
}

pg_psql() {
    "$(pg_bin)/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"
}

pg_wait() {
    local i
    for i in $(seq 1 60); do
        pg_psql -c 'select 1' >/dev/null 2>&1 && return 0
        sleep 1
    done
    die "postgres: not answering on 127.0.0.1:$PG_PORT; see $LOG_DIR/postgres.log"
}

pg_create_db() {
    local db=$1
    if [ -z "$(pg_psql -c "select 1 from pg_roles where rolname='$DB_USER'")" ]; then
        pg_psql -c "create role $DB_USER login password '$DB_PASSWORD'"
    fi
    if [ -z "$(pg_psql -c "select 1 from pg_database where datname='$db'")" ]; then
        say "postgres: creating database $db"
        pg_psql -c "create database $db owner $DB_USER encoding 'utf8' template template0"
    fi
}

pg_stop() {
    local bin
    bin=$(pg_bin 2>/dev/null) || return 0
    [ -d "$STATE_DIR/pg/data" ] || return 0
    if pg_running; then
        as_pg "$bin/pg_ctl" -D "$STATE_DIR/pg/data" -m fast -w stop >/dev/null && say "postgres: stopped"
    fi
}

# ------------------------------------------------------------------------------------------------- Redis
redis_start() {
    mkdir -p "$STATE_DIR/redis"
    if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then return 0; fi
    say "redis: starting on 127.0.0.1:$REDIS_PORT"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$STATE_DIR/redis" \
        --pidfile "$STATE_DIR/redis/redis.pid" --logfile "$LOG_DIR/redis.log" --save '' >/dev/null \
        || die "redis: failed to start; see $LOG_DIR/redis.log"
    local i
    for i in $(seq 1 30); do
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    die "redis: not answering on 127.0.0.1:$REDIS_PORT; see $LOG_DIR/redis.log"
}

redis_stop() {
    if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
        say "redis: stopped"
    fi
}

# ------------------------------------------------------------------------------------------- mail (dev)
# The development portal sends its reminders to a local SMTP server that keeps every message in a maildir
# ($STATE_DIR/mail), so `ckan mes-schedule remind` can run for real on a `make up` portal.
MAIL_PORT=${MAIL_PORT:-8025}

mail_running() { [ -f "$STATE_DIR/mail.pid" ] && kill -0 "$(cat "$STATE_DIR/mail.pid")" 2>/dev/null; }

mail_start() {
    mail_running && return 0
    mkdir -p "$STATE_DIR/mail/cur" "$STATE_DIR/mail/new" "$STATE_DIR/mail/tmp"  # a maildir
    setsid nohup "$VENV/bin/python" -m aiosmtpd -n -l "127.0.0.1:$MAIL_PORT" -c aiosmtpd.handlers.Mailbox \
        "$STATE_DIR/mail" >"$LOG_DIR/mail.log" 2>&1 < /dev/null &
    echo $! >"$STATE_DIR/mail.pid"
    local i
    for i in $(seq 1 20); do
        "$VENV/bin/python" -c "import socket; socket.create_connection(('127.0.0.1', $MAIL_PORT), 1)" 2>/dev/null && return 0
        sleep 0.5
    done
    die "mail: the development SMTP server did not start; see $LOG_DIR/mail.log"
}

mail_stop() {
    if mail_running; then kill "$(cat "$STATE_DIR/mail.pid")" 2>/dev/null || true; say "mail: stopped"; fi
    rm -f "$STATE_DIR/mail.pid"
}

# -------------------------------------------------------------------------------------------------- CKAN
ckan_cli() { "$VENV/bin/ckan" -c "$PORTAL_INI" "$@"; }

# ckan_config INI DATABASE SITE_ID PORT: write (or refresh) a CKAN ini for this stack.
ckan_config() {
    local ini=$1 db=$2 site_id=$3 port=$4
    mkdir -p "$(dirname "$ini")/storage"
    # CKAN offers only the locales of its i18n directory and ships no Kazakh: ours adds it.
    local i18n_dir
    i18n_dir=$(bash "$REPO/scripts/i18n.sh" build-dir) || die "stack: could not build the i18n directory"
    if [ ! -f "$ini" ]; then
        "$VENV/bin/ckan" generate config "$ini" >/dev/null
    fi
    # Re-applied every time so an ini from an older checkout picks up the current settings.
    "$VENV/bin/ckan" config-tool "$ini" \
        "sqlalchemy.url = postgresql://$DB_USER:$DB_PASSWORD@127.0.0.1:$PG_PORT/$db" \
        "solr_url = http://127.0.0.1:$SOLR_PORT/solr/ckan" \
        "ckan.redis.url = redis://127.0.0.1:$REDIS_PORT/0" \
        "ckan.site_url = http://127.0.0.1:$port" \
        "ckan.site_id = $site_id" \
        "ckan.storage_path = $(dirname "$ini")/storage" \
        "ckan.plugins = mes_schedule scheming_datasets scheming_organizations activity dcat structured_data datastore xloader datatables_view" \
        "ckan.datastore.write_url = postgresql://$DB_USER:$DB_PASSWORD@127.0.0.1:$PG_PORT/${db}_datastore" \
        "ckan.datastore.read_url = postgresql://$DS_READER:$DS_READER_PASSWORD@127.0.0.1:$PG_PORT/${db}_datastore" \
        "ckanext.xloader.jobs_db.uri = postgresql://$DB_USER:$DB_PASSWORD@127.0.0.1:$PG_PORT/${db}_xloader" \
        "scheming.dataset_schemas = ckanext.mes_schedule:schemas/dataset.yaml" \
        "scheming.organization_schemas = ckanext.mes_schedule:schemas/organization.yaml" \
        "ckanext.dcat.rdf.profiles = euro_dcat_ap_3 mes_schedule" \
        "ckan.site_title = Ашық деректер: Білім және ғылым министрлігі" \
        "ckanext.mes_schedule.site_title_ru = Открытые данные: Министерство образования и науки" \
        "ckanext.mes_schedule.site_title_en = Open data: Ministry of Education and Science" \
        "ckan.auth.create_user_via_web = false" \
        "ckan.csrf_protection.ignore_extensions = false" \
        "REMEMBER_COOKIE_SAMESITE = Lax" \
        "ckan.i18n_directory = $i18n_dir" \
        "ckan.locale_default = kk" \
        "ckan.locales_offered = kk ru en" \
        "ckan.locale_order = kk ru en" \
        "smtp.server = 127.0.0.1:$MAIL_PORT" \
        "smtp.mail_from = portal@localhost" >/dev/null
    # CKAN rebuilds a JavaScript catalog only when a .po is newer than it: drop one built before kk was complete.
    rm -f "$(dirname "$ini")/storage/i18n/js/kk.js"
}

ckan_running() {
    local pid
    [ -f "$STATE_DIR/ckan/ckan.pid" ] || return 1
    pid=$(cat "$STATE_DIR/ckan/ckan.pid")
    kill -0 "$pid" 2>/dev/null
}

ckan_serve() {
    if ckan_running; then
        say "ckan: already serving http://127.0.0.1:$CKAN_PORT (pid $(cat "$STATE_DIR/ckan/ckan.pid"))"
        return 0
    fi
    say "ckan: serving on http://127.0.0.1:$CKAN_PORT"
    setsid nohup "$VENV/bin/ckan" -c "$PORTAL_INI" run --host 127.0.0.1 --port "$CKAN_PORT" --disable-reloader \
        >"$LOG_DIR/ckan.log" 2>&1 < /dev/null &
    echo $! >"$STATE_DIR/ckan/ckan.pid"
    local i
    for i in $(seq 1 90); do
        if curl -fsS "http://127.0.0.1:$CKAN_PORT/api/3/action/status_show" >/dev/null 2>&1; then return 0; fi
        ckan_running || break
        sleep 1
    done
    tail -n 30 "$LOG_DIR/ckan.log" >&2 || true
    die "ckan: failed to start; see $LOG_DIR/ckan.log"
}

# stop_group PIDFILE NAME: stop a process group started with setsid (TERM, then KILL after 10 s).
stop_group() {
    local pidfile=$1 name=$2 pid
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        pid=$(cat "$pidfile")
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        say "$name: stopped"
    fi
    rm -f "$pidfile"
}

ckan_stop() { stop_group "$STATE_DIR/ckan/ckan.pid" ckan; }

# The background jobs worker: XLoader's loads (and any other job the portal enqueues) run in it.
worker_running() { [ -f "$STATE_DIR/ckan/worker.pid" ] && kill -0 "$(cat "$STATE_DIR/ckan/worker.pid")" 2>/dev/null; }

worker_start() {
    worker_running && return 0
    say "ckan: starting the jobs worker"
    setsid nohup "$VENV/bin/ckan" -c "$PORTAL_INI" jobs worker >"$LOG_DIR/worker.log" 2>&1 < /dev/null &
    echo $! >"$STATE_DIR/ckan/worker.pid"
    local i
    for i in $(seq 1 60); do
        grep -q "Listening on\|Worker .* started" "$LOG_DIR/worker.log" 2>/dev/null && return 0
        worker_running || break
        sleep 1
    done
    tail -n 30 "$LOG_DIR/worker.log" >&2 || true
    die "ckan: the jobs worker did not start; see $LOG_DIR/worker.log"
}

worker_stop() { stop_group "$STATE_DIR/ckan/worker.pid" "ckan: jobs worker"; }

# XLoader calls the portal's API as a sysadmin: a token of its own, kept beside the sysadmin's.
ckan_xloader_token() {
    local tokfile=$STATE_DIR/ckan/xloader-token
    if [ ! -s "$tokfile" ]; then
        ckan_cli user token add "$SYSADMIN" xloader | tail -n 1 | tr -d '[:space:]' >"$tokfile"
        chmod 600 "$tokfile"
    fi
    "$VENV/bin/ckan" config-tool "$PORTAL_INI" "ckanext.xloader.api_token = $(cat "$tokfile")" >/dev/null
}

ckan_sysadmin() {
    local pwfile=$STATE_DIR/ckan/sysadmin-password tokfile=$STATE_DIR/ckan/sysadmin-token
    if [ ! -f "$pwfile" ]; then
        "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(12))' >"$pwfile"
        chmod 600 "$pwfile"
    fi
    if ! ckan_cli user show "$SYSADMIN" 2>/dev/null | grep -q "name=$SYSADMIN"; then
        ckan_cli user add "$SYSADMIN" email="$SYSADMIN@localhost" password="$(cat "$pwfile")" >/dev/null
    fi
    ckan_cli sysadmin add "$SYSADMIN" >/dev/null 2>&1 || true
    if [ ! -s "$tokfile" ]; then
        ckan_cli user token add "$SYSADMIN" make-up | tail -n 1 | tr -d '[:space:]' >"$tokfile"
        chmod 600 "$tokfile"
    fi
}

# ------------------------------------------------------------------------------------------------ verbs
cmd_services() {
    mkdir -p "$LOG_DIR"
    pg_start
    redis_start
    CKAN_SCHEMA=$("$VENV/bin/python" -c 'import ckan, os; print(os.path.join(os.path.dirname(ckan.__file__), "config/solr/schema.xml"))') \
        bash "$REPO/scripts/solr.sh" start
}

# CKAN's tables and the extension's (alembic), then the DataStore's permissions, for the portal's ini.
db_upgrade() {
    say "ckan: database upgrade"
    ckan_cli db upgrade >"$LOG_DIR/db-upgrade.log" 2>&1 || die "ckan: db upgrade failed; see $LOG_DIR/db-upgrade.log"
    ckan_cli db upgrade -p mes_schedule >>"$LOG_DIR/db-upgrade.log" 2>&1 \
        || die "ckan: db upgrade -p mes_schedule failed; see $LOG_DIR/db-upgrade.log"
    say "datastore: set-permissions"
    ds_permissions "$PORTAL_INI"
}

cmd_up() {
    cmd_install
    cmd_services
    ckan_config "$PORTAL_INI" "$DB_PORTAL" mes_schedule_portal "$CKAN_PORT"
    db_upgrade
    ckan_sysadmin
    ckan_xloader_token
    say "ckan: seeding the ministry"
    ckan_cli mes-schedule seed | tail -n 2
    mail_start
    ckan_serve
    worker_start
    # The sysadmin administers the ministry too, so reminders have a recipient on a development portal.
    curl -fsS -X POST "http://127.0.0.1:$CKAN_PORT/api/3/action/organization_member_create" \
        -H "Authorization: $(cat "$STATE_DIR/ckan/sysadmin-token")" -H 'Content-Type: application/json' \
        -d "{\"id\": \"mes-rk\", \"username\": \"$SYSADMIN\", \"role\": \"admin\"}" >/dev/null \
        || die "ckan: could not make $SYSADMIN an admin of mes-rk; see $LOG_DIR/ckan.log"
    cat <<EOF

The portal is up: http://127.0.0.1:$CKAN_PORT
  sysadmin:  $SYSADMIN
  password:  $(cat "$STATE_DIR/ckan/sysadmin-password")
  API token: $(cat "$STATE_DIR/ckan/sysadmin-token")
  CLI:       $VENV/bin/ckan -c $PORTAL_INI mes-schedule --help
  logs:      $LOG_DIR/
  mail:      reminders land in $STATE_DIR/mail (a maildir) via 127.0.0.1:$MAIL_PORT
EOF
}

cmd_test() {
    cmd_install
    cmd_services
    cd "$REPO"
    # test.ini names the default ports; CKAN's own environment variables carry any other choice.
    export CKAN_SQLALCHEMY_URL="postgresql://$DB_USER:$DB_PASSWORD@127.0.0.1:$PG_PORT/$DB_TEST"
    export CKAN_SOLR_URL="http://127.0.0.1:$SOLR_PORT/solr/ckan"
    export CKAN_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/1"
    export CKAN_DATASTORE_WRITE_URL="postgresql://$DB_USER:$DB_PASSWORD@127.0.0.1:$PG_PORT/$DS_TEST"
    export CKAN_DATASTORE_READ_URL="postgresql://$DS_READER:$DS_READER_PASSWORD@127.0.0.1:$PG_PORT/$DS_TEST"
    export MES_SCHEDULE_TEST_XLOADER_DB="postgresql://$DB_USER:$DB_PASSWORD@127.0.0.1:$PG_PORT/${DB_TEST}_xloader"
    # The DataStore's permissions on the test database, as on the portal's: test.ini with the datastore plugin.
    local ds_ini=$STATE_DIR/ckan/datastore-test.ini
    mkdir -p "$(dirname "$ds_ini")"
    # (CKAN 2.11 reads the logging sections of the ini it is given, not of the one it uses)
    cat >"$ds_ini" <<EOF
[app:main]
use = config:$REPO/test.ini
ckan.plugins = datastore
$(sed -n '/^\[loggers\]/,$p' "$REPO/test.ini")
EOF
    ds_permissions "$ds_ini"
    say "tests: CKAN $("$VENV/bin/python" -c 'import ckan; print(ckan.__version__)') against postgres:$PG_PORT redis:$REDIS_PORT solr:$SOLR_PORT"
    "$VENV/bin/python" -m pytest "$@"
}

cmd_bench() {
    cmd_install
    cmd_services
    local ini=$STATE_DIR/bench/ckan.ini
    # A database of its own, created afresh, so the figures never depend on what the dev portal holds.
    pg_psql -c "drop database if exists ckan_bench with (force)"
    local db
    for db in ckan_bench ckan_bench_datastore ckan_bench_xloader; do pg_create_db "$db"; done
    rm -f "$ini"
    ckan_config "$ini" ckan_bench mes_schedule_bench 5050
    # Bulk loads index through `search-index rebuild`; a Solr commit per dataset would only slow it.
    "$VENV/bin/ckan" config-tool "$ini" "ckan.search.solr_commit = false" "debug = false" >/dev/null
    cd "$REPO"
    # The benchmark's gunicorn listens on 5050 (never the portal's 5000 nor the cluster's 5001/5002/8080).
    # exec: a run takes minutes, and bash would read the rest of this file, perhaps edited meanwhile, after it.
    exec "$VENV/bin/python" scripts/bench.py --ini "$ini" --port 5050 --log "$LOG_DIR/bench-gunicorn.log" "$@"
}

cmd_down() {
    worker_stop
    ckan_stop
    mail_stop
    bash "$REPO/scripts/solr.sh" stop || true
    redis_stop
    pg_stop
}

cmd_status() {
    local rc=0
    if pg_running 2>/dev/null; then say "postgres: running 127.0.0.1:$PG_PORT"; else say "postgres: stopped"; rc=3; fi
    if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then say "redis: running 127.0.0.1:$REDIS_PORT"; else say "redis: stopped"; rc=3; fi
    bash "$REPO/scripts/solr.sh" status || rc=3
    if ckan_running; then say "ckan: running http://127.0.0.1:$CKAN_PORT (pid $(cat "$STATE_DIR/ckan/ckan.pid"))"; else say "ckan: stopped"; rc=3; fi
    if worker_running; then say "worker: running (pid $(cat "$STATE_DIR/ckan/worker.pid"))"; else say "worker: stopped"; rc=3; fi
    return $rc
}

# Sourced (scripts/cluster.sh reuses these functions with its own STATE_DIR and ports): define, run nothing.
[[ "${BASH_SOURCE[0]}" != "$0" ]] && return 0

verb=${1:-}
[ $# -gt 0 ] && shift
case "$verb" in
    install) cmd_install ;;
    services) cmd_install; cmd_services ;;
    up) cmd_up ;;
    test) cmd_test "$@" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    bench) cmd_bench "$@" ;;
    *) die "usage: scripts/stack.sh install|services|up|test|down|status|bench" ;;
esac
