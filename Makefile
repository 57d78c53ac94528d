# Two commands set everything up on a fresh machine: `make up` and `make test`. See README.md.
CKAN_VERSION ?= 2.12.x
export CKAN_VERSION

.PHONY: up test lint down status install bench faults load cluster-up cluster-down cluster-status cluster-test

up:           ## install what is missing, start PostgreSQL/Redis/Solr/CKAN, seed the ministry
	bash scripts/stack.sh up

test:         ## run the whole suite against the real services (make test CKAN_VERSION=2.11.x)
	bash scripts/stack.sh test $(PYTEST_ARGS)

# Lint runs in the CKAN 2.12 virtualenv (.venv) that `make test` uses, so mypy sees CKAN's own types.
LINT_VENV := .venv

lint:         ## ruff, mypy and import-linter (tools pinned in requirements-lint.txt); fails on any finding
	CKAN_VERSION=2.12.x bash scripts/stack.sh install
	@[ $(LINT_VENV)/.mes_schedule-lint -nt requirements-lint.txt ] || { \
		echo "lint: installing requirements-lint.txt into $(LINT_VENV)"; \
		$(LINT_VENV)/bin/pip install -q -r requirements-lint.txt && touch $(LINT_VENV)/.mes_schedule-lint; }
	@rc=0; \
	echo "=== ruff check ."; $(LINT_VENV)/bin/ruff check . || rc=1; \
	echo "=== mypy"; $(LINT_VENV)/bin/mypy || rc=1; \
	echo "=== lint-imports"; $(LINT_VENV)/bin/lint-imports --no-cache --no-logo || rc=1; \
	exit $$rc

down:         ## stop what `make up` started
	bash scripts/stack.sh down

status:
	bash scripts/stack.sh status

install:
	bash scripts/stack.sh install

bench:        ## single-request latency of the record's pages against /dataset and package_search, and growth (BENCH_ARGS)
	bash scripts/stack.sh bench $(BENCH_ARGS)

faults:       ## fault checks: Solr, Redis and PostgreSQL stopped/restarted under a running portal
	bash scripts/faults.sh

load:         ## wrk side by side at 10,000 scheduled datasets with issue 15's targets, growth to 100,000 (LOAD_SECONDS, LOAD_SIZES; through the cluster when it answers)
	bash scripts/load.sh $(LOAD_ARGS)

# The scale-out cluster (scripts/cluster.sh): nginx :8080 -> two CKAN nodes, SolrCloud (two nodes + ZooKeeper),
# one PostgreSQL/Redis/jobs worker; state in .state/cluster. The single-node `make up` stays the default.
cluster-up:     ## start the cluster (idempotent)
	bash scripts/cluster.sh up

cluster-down:   ## stop everything cluster-up started
	bash scripts/cluster.sh down

cluster-status: ## one line per part; non-zero if a part is down
	bash scripts/cluster.sh status

cluster-test:   ## cluster-up, then the tests of tests/cluster against it (leaves the cluster up)
	bash scripts/cluster.sh test $(PYTEST_ARGS)
