#!/usr/bin/env bash
# The scale-out cluster on one machine, from the same parts as the single-node stack (scripts/stack.sh):
#
#   nginx 127.0.0.1:8080  ->  CKAN node 1 (gunicorn 127.0.0.1:5001) + CKAN node 2 (gunicorn 127.0.0.1:5002)
#   nginx 127.0.0.1:8990  ->  Solr node 1 (127.0.0.1:8983) + Solr node 2 (127.0.0.1:8985)   (CKAN's solr_url)
#   ZooKeeper 127.0.0.1:9983 (its own JVM) holding the `ckan` collection: 1 shard, a replica on each Solr node
#   one PostgreSQL (127.0.0.1:5435, with the DataStore), one Redis (6382), one `ckan jobs worker`,
#   an SMTP sink (127.0.0.1:8026) writing to a maildir, for the reminders
#
#   scripts/cluster.sh up | down | status
#   scripts/cluster.sh stop-node N | start-node N     one CKAN node (1 or 2)
#   scripts/cluster.sh stop-solr N | start-solr N     one Solr node (1 or 2); start waits for its replica
#   scripts/cluster.sh test [pytest args]             up, then pytest on tests/cluster (leaves the cluster up)
#
# All state lives in $STATE_DIR/cluster (STATE_DIR defaults to <repo>/.state). Every verb is idempotent, every
# start waits for health and names the log to read when it fails. The PostgreSQL, Redis, mail, ini and sysadmin
# steps are scripts/stack.sh's own functions, run with this cluster's directory and ports.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# CLUSTER_STATE_DIR is what this script passes on to itself (the tests run its stop/start verbs): by then
# STATE_DIR is already the cluster's directory.
CLUSTER_DIR=${CLUSTER_STATE_DIR:-${STATE_DIR:-$REPO/.state}/cluster}
export CLUSTER_STATE_DIR=$CLUSTER_DIR

HTTP_PORT=${CLUSTER_HTTP_PORT:-8080}
read -r -a NODE_PORTS <<<"${CLUSTER_NODE_PORTS:-5001 5002}"
read -r -a SOLR_PORTS <<<"${CLUSTER_SOLR_PORTS:-8983 8985}"
SOLR_LB_PORT=${CLUSTER_SOLR_LB_PORT:-8990}
ZK_PORT=${CLUSTER_ZK_PORT:-9983}
CLUSTER_WORKERS=${CLUSTER_WORKERS:-1}
CLUSTER_SOLR_HEAP=${CLUSTER_SOLR_HEAP:-384m}

# scripts/stack.sh's functions read these: the cluster's own directory and ports. SOLR_PORT is what CKAN's
# solr_url names (ckan_config), i.e. the Solr load balancer, never one Solr node.
export STATE_DIR=$CLUSTER_DIR
export PG_PORT=${CLUSTER_PG_PORT:-5435}
export REDIS_PORT=${CLUSTER_REDIS_PORT:-6382}
export MAIL_PORT=${CLUSTER_MAIL_PORT:-8026}
export SOLR_PORT=$SOLR_LB_PORT
# shellcheck source=scripts/stack.sh
source "$REPO/scripts/stack.sh"
# (stack.sh set LOG_DIR=$CLUSTER_DIR/log, PORTAL_INI=$CLUSTER_DIR/ckan/ckan.ini, VENV, SYSADMIN, say, die, ...)

CKAN_DIR=$CLUSTER_DIR/ckan
SOLR_DIR=$CLUSTER_DIR/solr
ZK_DIR=$CLUSTER_DIR/zk
NGINX_DIR=$CLUSTER_DIR/nginx
SITE_ID=mes_schedule_cluster
COLLECTION=ckan
SOLR_MAIN=kz.mes.schedule.solr.SolrServer
ZK_MAIN=org.apache.zookeeper.server.ZooKeeperServerMain

node_port() { printf '%s' "${NODE_PORTS[$(($1 - 1))]}"; }
solr_port() { printf '%s' "${SOLR_PORTS[$(($1 - 1))]}"; }
node_ini() { printf '%s/node%s.ini' "$CKAN_DIR" "$1"; }
check_n() { [[ "${1:-}" =~ ^[12]$ ]] || die "cluster: name a node, 1 or 2"; }

# pid_alive PIDFILE PATTERN: the process of PIDFILE runs and is ours (its command line has PATTERN).
pid_alive() {
    local pid
    [ -f "$1" ] || return 1
    pid=$(cat "$1")
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for SECONDS PIDFILE LOG NAME CMD...: poll CMD until it succeeds; fail naming LOG if the process dies.
wait_for() {
    local timeout=$1 pidfile=$2 log=$3 name=$4 t0=$SECONDS
    shift 4
    while ((SECONDS - t0 < timeout)); do
        "$@" 2>/dev/null && return 0
        if [ -n "$pidfile" ] && ! kill -0 "$(cat "$pidfile" 2>/dev/null || echo 0)" 2>/dev/null; then
            tail -n 30 "$log" >&2 || true
            die "$name: exited while starting; see $log"
        fi
        sleep 0.5
    done
    tail -n 30 "$log" >&2 || true
    die "$name: not healthy after ${timeout}s; see $log"
}

# -------------------------------------------------------------------------------------------- install
cluster_install() {
    mkdir -p "$LOG_DIR"
    install_system
    if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
        say "cluster: apt-get install nginx"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >"$LOG_DIR/apt-nginx.log" 2>&1 \
            || die "cluster: apt-get install nginx failed; see $LOG_DIR/apt-nginx.log"
    fi
    install_python
    compile_translations
    # The cluster's own build directory, so that it never races the single-node stack's build.
    bash "$REPO/scripts/solr.sh" build
}

# ------------------------------------------------------------------------------------------ ZooKeeper
zk_ok() {
    # `srvr` is the one four-letter command ZooKeeper 3.9 allows by default; it answers only when serving.
    local out
    out=$(exec 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$ZK_PORT" && printf srvr >&3 && timeout 2 cat <&3) || return 1
    grep -q '^Mode:' <<<"$out"
}

zk_start() {
    if pid_alive "$ZK_DIR/zk.pid" "$ZK_MAIN"; then
        wait_for 60 "$ZK_DIR/zk.pid" "$LOG_DIR/zookeeper.log" zookeeper zk_ok
        return 0
    fi
    port_in_use "$ZK_PORT" && die "zookeeper: 127.0.0.1:$ZK_PORT is in use by a process this script did not start"
    mkdir -p "$ZK_DIR/data"
    cat >"$ZK_DIR/zoo.cfg" <<EOF
tickTime=2000
dataDir=$ZK_DIR/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=srvr
EOF
    say "zookeeper: starting on 127.0.0.1:$ZK_PORT"
    local log=$LOG_DIR/zookeeper.log
    echo "---- $(date '+%F %T') start" >>"$log"
    setsid nohup java -Xms32m -Xmx128m -XX:+UseSerialGC -Dzookeeper.admin.enableServer=false -Dlog4j2.configurationFile="file:$SOLR_DIR/log4j2.xml" \
        -Dsolr.log.dir="$LOG_DIR" -Dsolr.log.name=zookeeper -cp "$(solr_classpath)" "$ZK_MAIN" "$ZK_DIR/zoo.cfg" \
        >>"$log" 2>&1 </dev/null &
    echo $! >"$ZK_DIR/zk.pid"
    wait_for 60 "$ZK_DIR/zk.pid" "$log" zookeeper zk_ok
}

zk_stop() { stop_group "$ZK_DIR/zk.pid" zookeeper; }

# ----------------------------------------------------------------------------------------------- Solr
solr_build_dir() { printf '%s/build' "$SOLR_DIR"; }  # scripts/solr.sh builds into $STATE_DIR/solr/build
solr_classpath() { printf '%s:%s' "$(solr_build_dir)/solr-launcher.jar" "$(cat "$(solr_build_dir)/classpath.txt")"; }

# The configset: CKAN's schema.xml from the installed CKAN (as scripts/solr.sh does) and our solrconfig.xml.
solr_layout() {
    local conf=$SOLR_DIR/configset schema
    mkdir -p "$conf" "$LOG_DIR"
    schema=$("$VENV/bin/python" -c 'import ckan, os; print(os.path.join(os.path.dirname(ckan.__file__), "config/solr/schema.xml"))')
    cp "$REPO/deploy/solr/solrconfig.xml" "$conf/solrconfig.xml"
    cp "$schema" "$conf/schema.xml"
    # CKAN's schema declares _version_ a string, enough for one core; SolrCloud reads it as a long (doc values)
    # when a replica syncs or an update meets a document no longer in the update log, and fails on a string
    # ("UnsupportedOperationException at FunctionValues.longVal"): a restarted node would never recover.
    sed -i 's#<field name="_version_" type="string"[^>]*/>#<field name="_version_" type="plong" indexed="false" stored="false" docValues="true"/>#' \
        "$conf/schema.xml"
    grep -q '<field name="_version_" type="plong"' "$conf/schema.xml" \
        || die "solr: no _version_ field to make a long in CKAN's schema ($schema)"
    local f
    for f in synonyms.txt protwords.txt stopwords.txt \
             $(grep -o '="[A-Za-z0-9_./-]*\.txt"' "$conf/schema.xml" | tr -d '="' | sort -u); do
        [[ "$f" == */* ]] || [ -e "$conf/$f" ] || : >"$conf/$f"
    done
    # One log file per JVM: the project's log4j2.xml, its file named by solr.log.name.
    sed 's#${sys:solr.log.dir:-.}/solr.log#${sys:solr.log.dir:-.}/${sys:solr.log.name:-solr}.log#' \
        "$REPO/deploy/solr/log4j2.xml" >"$SOLR_DIR/log4j2.xml"
}

# A node's home: solr.xml in cloud mode (its cores are created by the Collections API and live beside it).
solr_home() {
    local n=$1 home=$SOLR_DIR/node$1
    mkdir -p "$home"
    cat >"$home/solr.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8" ?>
<!-- SolrCloud node of scripts/cluster.sh: registers in ZooKeeper (zkHost) as 127.0.0.1:<solr.port>_solr -->
<solr>
  <int name="maxBooleanClauses">${solr.max.booleanClauses:1024}</int>
  <solrcloud>
    <str name="host">127.0.0.1</str>
    <int name="hostPort">${solr.port:8983}</int>
    <str name="hostContext">solr</str>
    <str name="zkHost">${zkHost:}</str>
    <int name="zkClientTimeout">${zkClientTimeout:30000}</int>
    <bool name="genericCoreNodeNames">true</bool>
  </solrcloud>
  <shardHandlerFactory name="shardHandlerFactory" class="HttpShardHandlerFactory">
    <int name="socketTimeout">${socketTimeout:600000}</int>
    <int name="connTimeout">${connTimeout:60000}</int>
  </shardHandlerFactory>
</solr>
EOF
    printf '%s' "$home"
}

solr_node_ok() {
    # The node is live in ZooKeeper; with the collection made, also every core it hosts is active (recovered).
    local url="http://127.0.0.1:$(solr_port "$1")/solr/admin/info/health?wt=json"
    [ -f "$SOLR_DIR/collection.created" ] && url+="&requireHealthyCores=true"
    curl -fsS --max-time 5 "$url" 2>/dev/null | grep -q '"status" *: *"OK"'
}

# solr_launch N: start a Solr node's JVM (without waiting).
solr_launch() {
    local n=$1 port home log
    port=$(solr_port "$n")
    pid_alive "$SOLR_DIR/node$n.pid" "$SOLR_MAIN" && return 0
    port_in_use "$port" && die "solr node $n: 127.0.0.1:$port is in use by a process this script did not start"
    home=$(solr_home "$n")
    log=$LOG_DIR/solr-node$n.log
    say "solr node $n: starting on 127.0.0.1:$port (ZooKeeper 127.0.0.1:$ZK_PORT)"
    echo "---- $(date '+%F %T') start (port $port)" >>"$log"
    # The project's launcher (scripts/solr.sh's), in cloud mode through solr.xml's <solrcloud> and zkHost.
    setsid nohup java -Xms64m "-Xmx$CLUSTER_SOLR_HEAP" -Xss256k -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
        -Djava.awt.headless=true -Dfile.encoding=UTF-8 \
        "-Dsolr.log.dir=$LOG_DIR" "-Dsolr.log.name=solr-node$n" "-Dlog4j2.configurationFile=file:$SOLR_DIR/log4j2.xml" \
        "-DzkHost=127.0.0.1:$ZK_PORT" "-Dsolr.solr.home=$home" "-Dsolr.port=$port" \
        -cp "$(solr_classpath)" "$SOLR_MAIN" "$home" "$port" >>"$log" 2>&1 </dev/null &
    echo $! >"$SOLR_DIR/node$n.pid"
}

solr_wait() { wait_for 180 "$SOLR_DIR/node$1.pid" "$LOG_DIR/solr-node$1.log" "solr node $1" solr_node_ok "$1"; }

solr_stop_node() { stop_group "$SOLR_DIR/node$1.pid" "solr node $1"; }

collections_api() {  # collections_api PORT QUERY: a Collections API call, its JSON on stdout
    curl -fsS --max-time 180 "http://127.0.0.1:$1/solr/admin/collections?$2&wt=json"
}

# The live nodes and, per replica, "node state" lines, read from CLUSTERSTATUS through any live node.
cluster_status_lines() {
    local port out
    for port in "${SOLR_PORTS[@]}"; do
        out=$(collections_api "$port" action=CLUSTERSTATUS 2>/dev/null) || continue
        "$VENV/bin/python" -c '
import json, sys
cluster = json.load(sys.stdin)["cluster"]
print("live_nodes " + " ".join(sorted(cluster.get("live_nodes", []))))
for shard in (cluster.get("collections", {}).get(sys.argv[1]) or {}).get("shards", {}).values():
    for replica in shard["replicas"].values():
        print("replica", replica["node_name"], replica["state"], "leader" if replica.get("leader") == "true" else "")
' "$COLLECTION" <<<"$out"
        return 0
    done
    return 1
}

solr_configset() {
    # Upload the configset when it changed (a new CKAN schema): then reload the collection on every replica.
    local sha
    sha=$(cat "$SOLR_DIR/configset/solrconfig.xml" "$SOLR_DIR/configset/schema.xml" | sha256sum | cut -d' ' -f1)
    [ "$sha" = "$(cat "$SOLR_DIR/configset.sha256" 2>/dev/null)" ] && return 0
    say "solr: uploading configset $COLLECTION to ZooKeeper ($(sed -n 's/.*<schema[^>]* name="\([^"]*\)".*/\1/p' "$SOLR_DIR/configset/schema.xml" | head -n 1))"
    java -Dsolr.install.dir="$SOLR_DIR" "-Dlog4j2.configurationFile=file:$SOLR_DIR/log4j2.xml" "-Dsolr.log.dir=$LOG_DIR" \
        -Dsolr.log.name=solr-cli -cp "$(solr_classpath)" org.apache.solr.cli.SolrCLI zk upconfig \
        -n "$COLLECTION" -d "$SOLR_DIR/configset" -z "127.0.0.1:$ZK_PORT" >>"$LOG_DIR/solr-cli.log" 2>&1 \
        || die "solr: configset upload failed; see $LOG_DIR/solr-cli.log"
    if [ -f "$SOLR_DIR/collection.created" ]; then
        collections_api "${SOLR_PORTS[0]}" "action=RELOAD&name=$COLLECTION" >>"$LOG_DIR/solr-cli.log" \
            || die "solr: reloading collection $COLLECTION failed; see $LOG_DIR/solr-node1.log"
    fi
    echo "$sha" >"$SOLR_DIR/configset.sha256"
}

solr_collection() {
    local status n node
    status=$(cluster_status_lines) || die "solr: CLUSTERSTATUS failed; see $LOG_DIR/solr-node1.log"
    if ! grep -q '^replica ' <<<"$status"; then
        say "solr: creating collection $COLLECTION (1 shard, a replica on each node)"
        local nodes="127.0.0.1:${SOLR_PORTS[0]}_solr,127.0.0.1:${SOLR_PORTS[1]}_solr"
        collections_api "${SOLR_PORTS[0]}" "action=CREATE&name=$COLLECTION&numShards=1&replicationFactor=2&collection.configName=$COLLECTION&createNodeSet=$nodes" \
            >>"$LOG_DIR/solr-cli.log" || die "solr: creating collection $COLLECTION failed; see $LOG_DIR/solr-node1.log"
        # a new, empty collection beside a database that may hold datasets: CKAN indexes them again (cluster_up)
        touch "$SOLR_DIR/reindex.needed"
    else
        # A node whose home was wiped comes back without its replica: give it one again.
        for n in 1 2; do
            node="127.0.0.1:$(solr_port "$n")_solr"
            grep -q "^replica $node " <<<"$status" && continue
            say "solr: adding a replica of $COLLECTION on node $n"
            collections_api "${SOLR_PORTS[0]}" "action=ADDREPLICA&collection=$COLLECTION&shard=shard1&node=$node" \
                >>"$LOG_DIR/solr-cli.log" || die "solr: ADDREPLICA failed; see $LOG_DIR/solr-node$n.log"
        done
    fi
    touch "$SOLR_DIR/collection.created"
    solr_wait 1
    solr_wait 2
}

solr_cluster_start() {
    solr_layout
    zk_start
    solr_configset
    # Both JVMs start at once (most of their start is class loading), then each is waited for.
    solr_launch 1
    solr_launch 2
    solr_wait 1
    solr_wait 2
    solr_collection
}

# ---------------------------------------------------------------------------------------------- nginx
nginx_conf() { printf '%s/nginx.conf' "$NGINX_DIR"; }

nginx_ok() { curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$SOLR_LB_PORT/solr/$COLLECTION/admin/ping"; }

nginx_start() {
    mkdir -p "$NGINX_DIR/tmp"
    local user_line=""
    # As root, nginx's workers run as the Debian package's www-data (they only touch the temp dirs below).
    [ "$(id -u)" = 0 ] && user_line="user www-data;"
    sed -e "s#@STATE@#$NGINX_DIR#g" -e "s#@LOG_DIR@#$LOG_DIR#g" -e "s#@USER_LINE@#$user_line#" \
        -e "s#@HTTP_PORT@#$HTTP_PORT#g" -e "s#@SOLR_LB_PORT@#$SOLR_LB_PORT#g" \
        -e "s#@NODE1_PORT@#$(node_port 1)#g" -e "s#@NODE2_PORT@#$(node_port 2)#g" \
        -e "s#@SOLR1_PORT@#$(solr_port 1)#g" -e "s#@SOLR2_PORT@#$(solr_port 2)#g" \
        "$REPO/deploy/nginx/cluster.conf.in" >"$(nginx_conf).new"
    /usr/sbin/nginx -t -q -p "$NGINX_DIR" -c "$(nginx_conf).new" >"$LOG_DIR/nginx-test.log" 2>&1 \
        || { cat "$LOG_DIR/nginx-test.log" >&2; die "nginx: invalid configuration; see $LOG_DIR/nginx-test.log"; }
    if pid_alive "$NGINX_DIR/nginx.pid" nginx; then
        if ! cmp -s "$(nginx_conf).new" "$(nginx_conf)"; then
            mv "$(nginx_conf).new" "$(nginx_conf)"
            say "nginx: configuration changed, reloading"
            kill -HUP "$(cat "$NGINX_DIR/nginx.pid")"
        fi
        rm -f "$(nginx_conf).new"
    else
        mv "$(nginx_conf).new" "$(nginx_conf)"
        port_in_use "$HTTP_PORT" && die "nginx: 127.0.0.1:$HTTP_PORT is in use by a process this script did not start"
        say "nginx: starting on 127.0.0.1:$HTTP_PORT (CKAN) and 127.0.0.1:$SOLR_LB_PORT (Solr)"
        /usr/sbin/nginx -p "$NGINX_DIR" -c "$(nginx_conf)" >>"$LOG_DIR/nginx-error.log" 2>&1 \
            || die "nginx: failed to start; see $LOG_DIR/nginx-error.log"
    fi
    wait_for 30 "" "$LOG_DIR/nginx-error.log" nginx nginx_ok
}

nginx_stop() {
    if pid_alive "$NGINX_DIR/nginx.pid" nginx; then
        /usr/sbin/nginx -p "$NGINX_DIR" -c "$(nginx_conf)" -s quit 2>/dev/null || kill "$(cat "$NGINX_DIR/nginx.pid")"
        local i
        for i in $(seq 1 40); do pid_alive "$NGINX_DIR/nginx.pid" nginx || break; sleep 0.25; done
        say "nginx: stopped"
    fi
}

# ------------------------------------------------------------------------------------------ CKAN nodes
# The shared ini: every node reads a copy of it, so they share the database, Redis, Solr (through nginx), the
# storage path, ckan.site_id and the secrets (SECRET_KEY, beaker, JWT): a login cookie or a token works on both.
cluster_config() {
    ckan_config "$PORTAL_INI" "$DB_PORTAL" "$SITE_ID" "$HTTP_PORT"
    "$VENV/bin/ckan" config-tool "$PORTAL_INI" "debug = false" >/dev/null
}

node_inis() {
    local n
    for n in 1 2; do
        # cmp first: a node's ini is rewritten only when the shared one changed (start-node restarts on change)
        cmp -s "$PORTAL_INI" "$(node_ini "$n")" || cp "$PORTAL_INI" "$(node_ini "$n")"
    done
}

# What a running node was started with: its ini's content and the number of gunicorn workers.
node_signature() { printf '%s workers=%s\n' "$(sha256sum <"$(node_ini "$1")" | cut -d' ' -f1)" "$CLUSTER_WORKERS"; }

node_ok() { curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$(node_port "$1")/api/3/action/status_show"; }

node_start() {
    local n=$1 port log pidfile
    port=$(node_port "$n")
    pidfile=$CKAN_DIR/node$n.pid
    log=$LOG_DIR/ckan-node$n.log
    if pid_alive "$pidfile" gunicorn; then
        # Running on the ini and worker count asked for now? Otherwise restart it with them.
        if [ "$(node_signature "$n")" = "$(cat "$CKAN_DIR/node$n.signature" 2>/dev/null)" ]; then
            node_ok "$n" && return 0
        fi
        node_stop "$n"
    fi
    port_in_use "$port" && die "ckan node $n: 127.0.0.1:$port is in use by a process this script did not start"
    say "ckan node $n: gunicorn on 127.0.0.1:$port ($CLUSTER_WORKERS worker(s))"
    echo "---- $(date '+%F %T') start" >>"$log"
    node_signature "$n" >"$CKAN_DIR/node$n.signature"
    # deploy/wsgi.py is the production entry point (its docstring shows this command line).
    CKAN_INI=$(node_ini "$n") setsid nohup "$VENV/bin/gunicorn" --workers "$CLUSTER_WORKERS" \
        --bind "127.0.0.1:$port" --chdir "$REPO/deploy" --timeout 300 --graceful-timeout 5 \
        --access-logfile - --name "ckan-node$n" wsgi:application >>"$log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    wait_for 120 "$pidfile" "$log" "ckan node $n" node_ok "$n"
}

node_stop() { stop_group "$CKAN_DIR/node$1.pid" "ckan node $1"; }

# The one jobs worker (stack.sh's worker_start, on the shared ini), restarted when that ini changed.
cluster_worker() {
    local sig
    sig=$(sha256sum <"$PORTAL_INI" | cut -d' ' -f1)
    if worker_running && [ "$sig" != "$(cat "$CKAN_DIR/worker.signature" 2>/dev/null)" ]; then worker_stop; fi
    worker_start
    echo "$sig" >"$CKAN_DIR/worker.signature"
}

# The one-off setup, re-run only when the ini or the extension's migrations changed since it last succeeded.
cluster_setup() {
    local key
    key=$( (cat "$PORTAL_INI"; ls -R "$REPO/ckanext/mes_schedule/migration"; "$VENV/bin/pip" --version) | sha256sum | cut -d' ' -f1)
    [ "$key" = "$(cat "$CKAN_DIR/setup.done" 2>/dev/null)" ] && return 0
    db_upgrade
    # (CKAN's CLI logs to stderr: into the log, not onto the terminal)
    ckan_sysadmin 2>>"$LOG_DIR/sysadmin.log" || die "ckan: could not create the sysadmin; see $LOG_DIR/sysadmin.log"
    # writes the token into the shared ini: the setup's key is taken again below
    ckan_xloader_token 2>>"$LOG_DIR/sysadmin.log" || die "ckan: no XLoader token; see $LOG_DIR/sysadmin.log"
    say "ckan: seeding the ministry"
    ckan_cli mes-schedule seed >"$LOG_DIR/seed.log" 2>&1 || die "ckan: seed failed; see $LOG_DIR/seed.log"
    tail -n 1 "$LOG_DIR/seed.log"
    key=$( (cat "$PORTAL_INI"; ls -R "$REPO/ckanext/mes_schedule/migration"; "$VENV/bin/pip" --version) | sha256sum | cut -d' ' -f1)
    echo "$key" >"$CKAN_DIR/setup.done"
}

# The sysadmin administers the ministry too, so that reminders have a recipient (as `make up` does).
cluster_org_admin() {
    [ -f "$CKAN_DIR/org-admin.done" ] && return 0
    curl -fsS -X POST "http://127.0.0.1:$HTTP_PORT/api/3/action/organization_member_create" \
        -H "Authorization: $(cat "$CKAN_DIR/sysadmin-token")" -H 'Content-Type: application/json' \
        -d "{\"id\": \"mes-rk\", \"username\": \"$SYSADMIN\", \"role\": \"admin\"}" >/dev/null \
        || die "ckan: could not make $SYSADMIN an admin of mes-rk; see $LOG_DIR/ckan-node1.log"
    touch "$CKAN_DIR/org-admin.done"
}

# What the tests (tests/cluster) need to know, in one file.
cluster_facts() {
    "$VENV/bin/python" - "$CLUSTER_DIR/cluster.json" <<EOF
import json, sys
facts = {
    "repo": "$REPO", "venv": "$VENV", "state_dir": "$CLUSTER_DIR", "script": "$REPO/scripts/cluster.sh",
    "url": "http://127.0.0.1:$HTTP_PORT",
    "nodes": ["http://127.0.0.1:$(node_port 1)", "http://127.0.0.1:$(node_port 2)"],
    "inis": ["$(node_ini 1)", "$(node_ini 2)"],
    "solr": ["http://127.0.0.1:$(solr_port 1)/solr", "http://127.0.0.1:$(solr_port 2)/solr"],
    "solr_lb": "http://127.0.0.1:$SOLR_LB_PORT/solr",
    "collection": "$COLLECTION", "site_id": "$SITE_ID",
    "sysadmin": "$SYSADMIN", "token_file": "$CKAN_DIR/sysadmin-token", "password_file": "$CKAN_DIR/sysadmin-password",
    "maildir": "$CLUSTER_DIR/mail", "pg_port": $PG_PORT, "redis_port": $REDIS_PORT,
}
with open(sys.argv[1], "w") as f:
    json.dump(facts, f, indent=2)
EOF
}

# ------------------------------------------------------------------------------------------------ verbs
LOCKED=""
lock() {  # one cluster.sh at a time changes this cluster (a test's stop-node and a make cluster-up, say)
    [ -n "$LOCKED" ] && return 0
    mkdir -p "$CLUSTER_DIR"
    exec 8>"$CLUSTER_DIR/.lock"
    flock -w 600 8 || die "cluster: another scripts/cluster.sh holds $CLUSTER_DIR/.lock"
    LOCKED=1
}

cmd_cluster_up() {
    local t0=$SECONDS
    lock
    cluster_install
    mkdir -p "$CKAN_DIR" "$SOLR_DIR" "$ZK_DIR" "$NGINX_DIR"
    pg_start 8>&-
    redis_start 8>&-
    solr_cluster_start 8>&-
    mail_start 8>&-
    cluster_config
    nginx_start 8>&-  # before the setup: CKAN's CLI indexes through the Solr load balancer
    cluster_setup
    if [ -f "$SOLR_DIR/reindex.needed" ]; then
        say "ckan: search-index rebuild (new collection)"
        ckan_cli search-index rebuild >"$LOG_DIR/search-index.log" 2>&1 \
            || die "ckan: search-index rebuild failed; see $LOG_DIR/search-index.log"
        rm -f "$SOLR_DIR/reindex.needed"
    fi
    node_inis
    node_start 1 8>&-
    node_start 2 8>&-
    cluster_worker 8>&-
    cluster_org_admin
    cluster_facts
    cat <<EOF

The cluster is up in $((SECONDS - t0)) s: http://127.0.0.1:$HTTP_PORT (nginx -> CKAN nodes :$(node_port 1) :$(node_port 2))
  Solr:      nodes :$(solr_port 1) :$(solr_port 2) (collection $COLLECTION), CKAN's solr_url via nginx :$SOLR_LB_PORT
  sysadmin:  $SYSADMIN / $(cat "$CKAN_DIR/sysadmin-password")   API token: $CKAN_DIR/sysadmin-token
  CLI:       $VENV/bin/ckan -c $(node_ini 1) ...
  logs:      $LOG_DIR/
  mail:      $CLUSTER_DIR/mail (maildir, SMTP 127.0.0.1:$MAIL_PORT)
EOF
}

cmd_cluster_down() {
    lock
    nginx_stop
    node_stop 1
    node_stop 2
    worker_stop
    mail_stop
    solr_stop_node 2
    solr_stop_node 1
    zk_stop
    redis_stop
    pg_stop
}

# Status probes: each a command that succeeds when its part is healthy.
solr_part_ok() { pid_alive "$SOLR_DIR/node$1.pid" "$SOLR_MAIN" && solr_node_ok "$1"; }
node_part_ok() { pid_alive "$CKAN_DIR/node$1.pid" gunicorn && node_ok "$1"; }
nginx_part_ok() {
    pid_alive "$NGINX_DIR/nginx.pid" nginx && nginx_ok \
        && curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$HTTP_PORT/api/3/action/status_show"
}
redis_ok() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; }

cmd_cluster_status() {
    local rc=0 n lines
    part() {  # part NAME DETAIL PROBE...: one line, and the exit status goes non-zero if the probe fails
        local name=$1 detail=$2
        shift 2
        if "$@" 2>/dev/null; then say "$name: running $detail"; else say "$name: DOWN $detail"; rc=3; fi
    }
    part postgres "127.0.0.1:$PG_PORT" pg_running
    part redis "127.0.0.1:$REDIS_PORT" redis_ok
    part zookeeper "127.0.0.1:$ZK_PORT" zk_ok
    for n in 1 2; do part "solr node $n" "http://127.0.0.1:$(solr_port "$n")/solr" solr_part_ok "$n"; done
    if lines=$(cluster_status_lines); then
        sed 's/^/solr cluster: /' <<<"$lines"
        if [ "$(grep -c '^replica .* active' <<<"$lines")" != 2 ]; then say "solr cluster: DOWN (not 2 active replicas)"; rc=3; fi
    else
        say "solr cluster: DOWN (no Solr node answers CLUSTERSTATUS)"; rc=3
    fi
    for n in 1 2; do part "ckan node $n" "http://127.0.0.1:$(node_port "$n") ($(node_ini "$n"))" node_part_ok "$n"; done
    part nginx "http://127.0.0.1:$HTTP_PORT (CKAN), http://127.0.0.1:$SOLR_LB_PORT (Solr)" nginx_part_ok
    part "jobs worker" "(ckan jobs worker, $PORTAL_INI)" worker_running
    part mail "127.0.0.1:$MAIL_PORT -> $CLUSTER_DIR/mail" mail_running
    return $rc
}

cmd_cluster_test() {
    cmd_cluster_up
    # Let go of the lock: the tests stop and start parts through this script themselves.
    exec 8>&-
    LOCKED=""
    cd "$REPO"
    # A pytest configuration of its own: no CKAN app in-process (the tests talk to the running cluster over HTTP
    # and through the CLI), and not the default suite's conftest (tests/conftest.py ignores tests/cluster).
    say "cluster tests: against http://127.0.0.1:$HTTP_PORT (the cluster stays up; make cluster-down stops it)"
    MES_CLUSTER_FACTS=$CLUSTER_DIR/cluster.json "$VENV/bin/python" -m pytest -c tests/cluster/pytest.ini \
        --rootdir tests/cluster tests/cluster "$@"
}

verb=${1:-}
[ $# -gt 0 ] && shift
case "$verb" in
    up) cmd_cluster_up ;;
    down) cmd_cluster_down ;;
    status) cmd_cluster_status ;;
    test) cmd_cluster_test "$@" ;;
    stop-node) check_n "${1:-}"; lock; node_stop "$1" ;;
    start-node) check_n "${1:-}"; lock; node_inis; node_start "$1" 8>&- ;;
    stop-solr) check_n "${1:-}"; lock; solr_stop_node "$1" ;;
    start-solr) check_n "${1:-}"; lock; solr_launch "$1" 8>&-; solr_wait "$1" ;;
    *) die "usage: scripts/cluster.sh up|down|status|test [pytest args]|stop-node N|start-node N|stop-solr N|start-solr N" ;;
esac
