# Newcomer commands: `make run` (set up everything, run server + Envoy) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUF := node_modules/.bin/buf
PROTOS := $(wildcard proto/indoxhub/v1/*.proto)

.PHONY: setup run serve gen check-gen lint fmt test test-fast bench bench-peers bench-instructions clean

setup: $(VENV)/.installed node_modules/.installed build/third_party/google/api/annotations.proto

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# gen/ is committed; it is rebuilt only when a .proto changed (or when asked with `make gen`).
gen/indoxhub.pb: $(PROTOS) scripts/gen.sh | $(VENV)/.installed
	scripts/gen.sh

build/third_party/google/api/annotations.proto: | $(VENV)/.installed
	scripts/gen.sh

gen: $(VENV)/.installed
	scripts/gen.sh

# Fails when the committed gen/ differs from what the protos generate.
check-gen: setup
	@rm -rf build/gen-check && mkdir -p build/gen-check && cp -r gen build/gen-check/committed
	@scripts/gen.sh >/dev/null
	@if ! diff -r build/gen-check/committed gen >/dev/null; then \
		echo "gen/ is stale: run 'make gen' and commit gen/"; diff -r build/gen-check/committed gen | head -20; exit 1; fi
	@echo "gen/ is fresh"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(BUF) lint

fmt: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

run: setup gen/indoxhub.pb
	$(PY) -m server run

# The storage tests also run on a throwaway PostgreSQL (installed from Debian's packages when missing).
test: setup check-gen lint
	scripts/with-postgres.sh $(PY) -m pytest -n auto -q

test-fast: setup
	$(PY) -m pytest -n auto -q

bench: setup
	$(PY) -m bench.gateway

bench-peers: setup
	$(PY) -m bench.peers

# Instructions per request under valgrind (Debian package valgrind, installed when missing).
bench-instructions: setup
	@command -v valgrind >/dev/null || { SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq valgrind >/dev/null; }
	$(PY) -m bench.instructions

clean:
	rm -rf build .pytest_cache
