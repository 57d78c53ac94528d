#!/usr/bin/env bash
# Load test (issue 7): wrk, 16 connections for 30 s each, against /compliance, a badge and
# mes_schedule_compliance_list on gunicorn (2 workers) with 10,000 scheduled datasets.
#   make load          (LOAD_SECONDS=30 by default)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null; else sudo apt-get install -y -qq wrk >/dev/null; fi
fi
exec bash "$REPO/scripts/stack.sh" bench --sizes 10000 --requests 10 --wrk "${LOAD_SECONDS:-30}"
