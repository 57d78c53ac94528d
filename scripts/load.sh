#!/usr/bin/env bash
# Load test (issue 15): one run of scripts/bench.py that prints, side by side at 10,000 scheduled datasets on
# gunicorn (2 workers), the single-request median and wrk's throughput, p50 and p99 (2 threads, 16 connections,
# LOAD_SECONDS each) of /compliance, /dataset/, a dataset page, a badge (also revalidated: a 304), the list action
# and package_search, the targets met or not, and the growth of the first /compliance after a change from 1,000 to
# 10,000 to 100,000 scheduled datasets, with a profile of it at 100,000.
#
#   make load                         LOAD_SECONDS=20 by default; LOAD_SIZES=1000,10000,100000
#   bash scripts/load.sh --requests 30   more arguments go to scripts/bench.py
#
# When a cluster answers (`make cluster-up`: nginx on CLUSTER_URL, a node on NODE_URL), /compliance is also loaded
# through nginx and on one node (the cluster's own portal). CLUSTER_URL= (empty) skips it.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLUSTER_URL=${CLUSTER_URL-http://127.0.0.1:8080}
NODE_URL=${NODE_URL:-http://127.0.0.1:5001}

if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null; else sudo apt-get install -y -qq wrk >/dev/null; fi
fi

cluster=()
if [ -n "$CLUSTER_URL" ] && curl -fsS -m 5 "$CLUSTER_URL/api/3/action/status_show" >/dev/null 2>&1 \
    && curl -fsS -m 5 "$NODE_URL/api/3/action/status_show" >/dev/null 2>&1; then
    echo "load: a cluster answers on $CLUSTER_URL: /compliance is compared through it and on $NODE_URL"
    cluster=(--cluster-url "$CLUSTER_URL" --node-url "$NODE_URL")
fi

exec bash "$REPO/scripts/stack.sh" bench --sizes "${LOAD_SIZES:-1000,10000,100000}" --requests 20 \
    --wrk "${LOAD_SECONDS:-20}" "${cluster[@]}" "$@"
