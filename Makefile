# Kobling: `make run` for the demo, `make test` for everything CI checks.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(HOME)/.local/bin:$(PATH)

UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
INFRA := deploy/local/infra.sh
# Local infrastructure unless the environment names its own broker and database.
# KOBLING_CLUSTER=1 (`make test-cluster` sets it; `KOBLING_CLUSTER=1 make run` too): three Kafka
# nodes and two instances of every service behind one balancer per public port.
export KOBLING_CLUSTER ?= 0
CLUSTER_KAFKA := 127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292
ifeq ($(KOBLING_CLUSTER),1)
export KAFKA_BOOTSTRAP_SERVERS ?= $(CLUSTER_KAFKA)
export KAFKA_REPLICATION_FACTOR ?= 3
export KAFKA_MIN_INSYNC_REPLICAS ?= 2
endif
export KAFKA_BOOTSTRAP_SERVERS ?= 127.0.0.1:9092
export MONGODB_URL ?= mongodb://127.0.0.1:27017

.PHONY: help setup infra infra-stop run test test-stripe-app test-faults test-cluster cluster-run test-unit lint bench bench-smoke clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

setup:  ## install uv, the Python workspace and Chromium if missing
	@command -v uv >/dev/null 2>&1 || [ -x $(HOME)/.local/bin/uv ] || python3 -m pip install --user --quiet uv
	$(UV) sync --frozen --quiet
	@deploy/local/chromium.sh

infra: setup  ## fetch (once) and start Kafka and FerretDB, unless the environment names them
	$(INFRA) start

infra-stop:  ## stop the local Kafka and FerretDB
	$(INFRA) stop

run: infra  ## the whole system and the sandbox; prints where the demo starts; Ctrl-C stops all
	$(UV) run python deploy/local/run.py

test: infra  ## every test: unit, integration (real Kafka and database), browser journey, Stripe App
	$(MAKE) test-stripe-app
	$(UV) run ruff check .
	$(UV) run mypy shared/src services/install/src services/econ-auth/src services/status/src services/sync/src sandbox/src devkit/src tests/fakes tests/unit/test_accept_webhooks.py tests/unit/test_econ_auth_handlers.py
	$(UV) run lint-imports
	$(UV) run pytest -p no:cacheprovider
	$(MAKE) bench-smoke

test-stripe-app:  ## the Stripe App (stripe-app/): npm ci, its jest tests, tsc --noEmit, Stripe's eslint rules
	@command -v npm >/dev/null 2>&1 || { echo "test-stripe-app: needs Node.js 20 and npm" >&2; exit 1; }
	cd stripe-app && npm ci --prefer-offline --no-audit --no-fund
	cd stripe-app && npx --no-install jest --ci
	cd stripe-app && npx --no-install tsc --noEmit
	cd stripe-app && npx --no-install eslint .

bench-smoke:  ## every step of the benchmark for a second or two, so the harness cannot rot
	$(UV) run python -m bench.run --smoke

# --tb=native: CPython 3.11.7 (this machine's) can fail pytest's own traceback formatting with
# "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905, fixed upstream after 3.11.7),
# an INTERNALERROR in place of the failure; Python's own traceback format never parses source.
PYTEST_SLOW := $(UV) run pytest -p no:cacheprovider --tb=native

test-faults: infra  ## the slow fault scenarios: broker and database stopped, services killed
	$(PYTEST_SLOW) tests/faults

test-cluster: setup  ## three Kafka nodes, two instances of each service, brokers and services SIGKILLed
	@# The single broker listens where the cluster's first node does: stop it for the run.
	KOBLING_CLUSTER=0 KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 $(INFRA) stop
	$(MAKE) --no-print-directory cluster-run KOBLING_CLUSTER=1 KAFKA_BOOTSTRAP_SERVERS=$(CLUSTER_KAFKA) \
	  MONGODB_URL=mongodb://127.0.0.1:27017

# Its own Kafka nodes and FerretDB, fresh each run, under .run/cluster.
cluster-run: export KOBLING_RUN_DIR := $(CURDIR)/.run/cluster
cluster-run:
	$(INFRA) stop
	rm -rf $(KOBLING_RUN_DIR)
	$(INFRA) start
	$(PYTEST_SLOW) tests/cluster; status=$$?; $(INFRA) stop; exit $$status

test-unit: setup  ## unit tests only (no infrastructure)
	$(UV) run pytest tests/unit

bench: setup  ## the benchmark, on an empty Kafka and FerretDB of its own: writes docs/benchmarks.md
	$(INFRA) stop
	@for port in 9092 27017; do if (exec 3<>/dev/tcp/127.0.0.1/$$port) 2>/dev/null; then \
	  echo "bench: 127.0.0.1:$$port still answers (another checkout's infra?): stop it first" >&2; exit 1; fi; done
	rm -rf .run/bench-infra
	KOBLING_RUN_DIR=$(CURDIR)/.run/bench-infra $(INFRA) start
	KOBLING_RUN_DIR=$(CURDIR)/.run/bench-infra $(UV) run python -m bench.run $(BENCH_ARGS); status=$$?; \
	  KOBLING_RUN_DIR=$(CURDIR)/.run/bench-infra $(INFRA) stop; exit $$status

lint:  ## ruff, mypy and the import contracts (lint-imports; pyproject.toml)
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy shared/src services/install/src services/econ-auth/src services/status/src services/sync/src sandbox/src devkit/src tests/fakes tests/unit/test_accept_webhooks.py tests/unit/test_econ_auth_handlers.py
	$(UV) run lint-imports

clean: infra-stop  ## stop everything and remove local state (caches of downloads stay)
	rm -rf .run test-artifacts
