#!/usr/bin/env bash
# Local Apache Solr 9.10.1 for CKAN, built from Maven Central artifacts
# (deploy/solr/pom.xml), serving core "ckan" with the installed CKAN's schema.
#
# usage: scripts/solr.sh start|stop|status|build
#
# environment:
#   STATE_DIR    state root (default <repo>/.state); uses $STATE_DIR/solr and $STATE_DIR/log
#   SOLR_PORT    HTTP port on 127.0.0.1 (default 8983)
#   SOLR_HEAP    JVM heap (default 512m)
#   CKAN_SCHEMA  CKAN's ckan/config/solr/schema.xml (default: from the CKAN installed in $VENV)
#   VENV         virtualenv with CKAN (default <repo>/.venv)
#   SOLR_JAVA_OPTS  extra JVM options (optional)
#
# URL: http://127.0.0.1:$SOLR_PORT/solr/ckan
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${STATE_DIR:-$REPO/.state}"
SOLR_PORT="${SOLR_PORT:-8983}"
SOLR_HEAP="${SOLR_HEAP:-512m}"
VENV="${VENV:-$REPO/.venv}"
SOLR_JAVA_OPTS="${SOLR_JAVA_OPTS:-}"

SRC="$REPO/deploy/solr"
POM="$SRC/pom.xml"
MAIN_CLASS="kz.mes.schedule.solr.SolrServer"
CORE="ckan"

SOLR_DIR="$STATE_DIR/solr"
BUILD_DIR="$SOLR_DIR/build"
HOME_DIR="$SOLR_DIR/home"
PID_FILE="$SOLR_DIR/solr.pid"
PORT_FILE="$SOLR_DIR/solr.port"
LOADED_FILE="$SOLR_DIR/conf.loaded.sha256"
LOG_DIR="$STATE_DIR/log"
LOG_FILE="$LOG_DIR/solr.log"
JAR="$BUILD_DIR/solr-launcher.jar"
CLASSPATH_FILE="$BUILD_DIR/classpath.txt"

START_TIMEOUT=120
STOP_TIMEOUT=20

say() { echo "solr: $*"; }
die() { echo "solr: $*" >&2; exit 1; }

# ---------------------------------------------------------------- build

build_is_fresh() {
  [[ -s "$JAR" && -s "$CLASSPATH_FILE" ]] || return 1
  local f
  for f in "$POM" $(find "$SRC/src" -type f); do
    [[ "$CLASSPATH_FILE" -nt "$f" && "$JAR" -nt "$f" ]] || return 1
  done
  # every jar still in the local Maven repository (~/.m2 may have been cleaned)
  local IFS=':'
  for f in $(<"$CLASSPATH_FILE"); do
    [[ -f "$f" ]] || return 1
  done
  return 0
}

do_build() {
  if build_is_fresh; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  command -v java >/dev/null || die "java not found (apt-get install openjdk-17-jdk-headless)"
  mkdir -p "$BUILD_DIR"
  rm -f "$JAR" "$CLASSPATH_FILE"
  local t0=$SECONDS
  local args=(-q -B -f "$POM" "-DbuildDirectory=$BUILD_DIR" package)
  local mvnlog="$BUILD_DIR/mvn.log"
  # artifacts already in ~/.m2: try offline first, go online only if that fails
  if [[ -d "$HOME/.m2/repository/org/apache/solr/solr-test-framework" ]] &&
     mvn -o "${args[@]}" >"$mvnlog" 2>&1; then
    :
  else
    say "building (Maven; the first build downloads ~130 MB into ~/.m2)"
    if ! mvn "${args[@]}" >"$mvnlog" 2>&1; then
      tail -n 40 "$mvnlog" >&2
      die "maven build failed; see $mvnlog"
    fi
  fi
  [[ -s "$JAR" && -s "$CLASSPATH_FILE" ]] || die "maven build produced no $JAR / $CLASSPATH_FILE; see $mvnlog"
  say "built in $((SECONDS - t0))s ($BUILD_DIR)"
}

# ---------------------------------------------------------------- helpers

find_schema() {
  if [[ -z "${CKAN_SCHEMA:-}" ]]; then
    [[ -x "$VENV/bin/python" ]] ||
      die "CKAN_SCHEMA not set and no $VENV/bin/python to find CKAN's schema.xml"
    CKAN_SCHEMA="$("$VENV/bin/python" -c 'import ckan, os; print(os.path.join(os.path.dirname(ckan.__file__), "config/solr/schema.xml"))')" ||
      die "could not import ckan from $VENV"
  fi
  [[ -f "$CKAN_SCHEMA" ]] || die "CKAN schema not found: $CKAN_SCHEMA"
}

schema_name() { # the schema's name attribute (ckan-2.12, ...)
  sed -n 's/.*<schema[^>]* name="\([^"]*\)".*/\1/p' "$1" | head -n 1
}

# Lay out the Solr home. Copies CKAN's schema.xml every time.
layout_home() {
  local conf="$HOME_DIR/$CORE/conf"
  mkdir -p "$conf" "$LOG_DIR"
  cp "$SRC/solr.xml" "$HOME_DIR/solr.xml"
  cp "$SRC/log4j2.xml" "$HOME_DIR/log4j2.xml"
  printf 'name=%s\n' "$CORE" >"$HOME_DIR/$CORE/core.properties"
  cp "$SRC/solrconfig.xml" "$conf/solrconfig.xml"
  cp "$CKAN_SCHEMA" "$conf/schema.xml"
  # word lists the schema's analyzers name (synonyms.txt, protwords.txt, ...): empty
  local f
  for f in synonyms.txt protwords.txt stopwords.txt \
           $(grep -o '="[A-Za-z0-9_./-]*\.txt"' "$conf/schema.xml" | tr -d '="' | sort -u); do
    [[ "$f" == */* ]] && continue
    [[ -e "$conf/$f" ]] || : >"$conf/$f"
  done
}

conf_sha() { cat "$HOME_DIR/$CORE/conf/solrconfig.xml" "$HOME_DIR/$CORE/conf/schema.xml" | sha256sum | cut -d' ' -f1; }

running_pid() { # prints the pid if a Solr started by this script is alive
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(<"$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$MAIN_CLASS" || return 1
  echo "$pid"
}

running_port() { if [[ -f "$PORT_FILE" ]]; then cat "$PORT_FILE"; else echo "$SOLR_PORT"; fi; }

ping_ok() { # port
  curl -fsS --max-time 5 "http://127.0.0.1:$1/solr/$CORE/admin/ping?wt=json" 2>/dev/null |
    grep -q '"status" *: *"OK"'
}

LOCKED=""
lock() { # serialise start/stop of one STATE_DIR
  [[ -n "$LOCKED" ]] && return 0
  mkdir -p "$SOLR_DIR"
  exec 9>"$SOLR_DIR/.lock"
  flock -w 300 9 || die "another solr.sh holds $SOLR_DIR/.lock"
  LOCKED=1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

show_log_tail() {
  echo "solr: failed to start; see $LOG_FILE" >&2
  [[ -f "$LOG_FILE" ]] && tail -n 30 "$LOG_FILE" >&2
  return 0
}

# ---------------------------------------------------------------- commands

cmd_build() { do_build; }

cmd_start() {
  command -v curl >/dev/null || die "curl not found"
  find_schema
  mkdir -p "$SOLR_DIR" "$LOG_DIR"
  lock
  do_build

  local pid port
  if pid="$(running_pid)"; then
    port="$(running_port)"
    if [[ "$port" != "$SOLR_PORT" ]]; then
      say "running on port $port, $SOLR_PORT requested: restarting"
      cmd_stop
    elif ping_ok "$port"; then
      layout_home
      if [[ "$(conf_sha)" == "$(cat "$LOADED_FILE" 2>/dev/null)" ]]; then
        say "already running (pid $pid) http://127.0.0.1:$port/solr/$CORE"
        return 0
      fi
      say "config/schema changed ($(schema_name "$HOME_DIR/$CORE/conf/schema.xml")): reloading core $CORE"
      local out
      if out="$(curl -sS --max-time 120 "http://127.0.0.1:$port/solr/admin/cores?action=RELOAD&core=$CORE&wt=json" 2>&1)" &&
         grep -q '"status" *: *0' <<<"$out" && ping_ok "$port"; then
        conf_sha >"$LOADED_FILE"
        say "reloaded (pid $pid) http://127.0.0.1:$port/solr/$CORE"
        return 0
      fi
      say "reload failed: $( (grep -o '"msg" *: *"[^"]*"' <<<"$out" || echo "${out:0:300}") | head -n 1)"
      say "restarting to show the error"
      cmd_stop
    else
      say "pid $pid does not answer ping: restarting"
      cmd_stop
    fi
  fi

  rm -f "$PID_FILE" "$LOADED_FILE"
  if port_in_use "$SOLR_PORT"; then
    die "port $SOLR_PORT on 127.0.0.1 is in use by another process (not started by this script)"
  fi
  layout_home

  local cp
  cp="$JAR:$(<"$CLASSPATH_FILE")"
  say "starting on http://127.0.0.1:$SOLR_PORT/solr/$CORE (schema $(schema_name "$HOME_DIR/$CORE/conf/schema.xml"), heap $SOLR_HEAP)"
  echo "---- $(date '+%F %T') solr.sh start (port $SOLR_PORT)" >>"$LOG_FILE"
  local t0=$SECONDS
  # shellcheck disable=SC2086
  setsid nohup java \
    -Xms64m "-Xmx$SOLR_HEAP" -Xss256k \
    -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true \
    -Dfile.encoding=UTF-8 \
    "-Dsolr.log.dir=$LOG_DIR" \
    "-Dlog4j2.configurationFile=file:$HOME_DIR/log4j2.xml" \
    "-Dsolr.solr.home=$HOME_DIR" \
    "-Dsolr.port=$SOLR_PORT" \
    $SOLR_JAVA_OPTS \
    -cp "$cp" "$MAIN_CLASS" "$HOME_DIR" "$SOLR_PORT" \
    >>"$LOG_FILE" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"
  echo "$SOLR_PORT" >"$PORT_FILE"

  while ((SECONDS - t0 < START_TIMEOUT)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      show_log_tail
      exit 1
    fi
    if ping_ok "$SOLR_PORT"; then
      conf_sha >"$LOADED_FILE"
      say "running (pid $pid) http://127.0.0.1:$SOLR_PORT/solr/$CORE, up in $((SECONDS - t0))s"
      return 0
    fi
    sleep 0.5
  done
  show_log_tail
  kill -TERM "$pid" 2>/dev/null || true
  exit 1
}

cmd_stop() {
  lock
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE" "$LOADED_FILE"
    say "stopped"
    return 0
  fi
  say "stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < STOP_TIMEOUT * 4; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "pid $pid still alive after ${STOP_TIMEOUT}s: KILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
  fi
  rm -f "$PID_FILE" "$LOADED_FILE"
  say "stopped"
}

cmd_status() {
  local pid port
  if pid="$(running_pid)"; then
    port="$(running_port)"
    if ping_ok "$port"; then
      echo "solr: running (pid $pid) http://127.0.0.1:$port/solr/$CORE"
    else
      echo "solr: running (pid $pid) http://127.0.0.1:$port/solr/$CORE (not answering ping)"
    fi
    return 0
  fi
  echo "solr: stopped"
  return 3
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  build) cmd_build ;;
  *)
    echo "usage: $0 start|stop|status|build" >&2
    exit 2
    ;;
esac
