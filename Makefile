# llmspell-sessions: `make serve` and `make test` work on a fresh machine (they install what they need).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
SERVE_STAMP := $(VENV)/.installed-serve
ADDRESS ?= 127.0.0.1:50051
SOURCES := pyproject.toml setup.py protos/gen_python.py $(wildcard protos/llmspell/sessions/v1/*.proto) $(wildcard native/*.pyx native/*.pxd native/*.pxi)
PYTEST := $(PY) -m pytest
export LLMSPELL_SESSIONS_REQUIRE_NATIVE ?= 1

TOOLS := $(CURDIR)/.tools
GRPCURL_VERSION ?= v1.9.4
HEALTH_PROBE_VERSION ?= v0.4.40
GHZ_VERSION ?= v0.120.0
SEAWEEDFS_VERSION ?= v0.0.0-20261109003541-7506e5f91cd6

.PHONY: cluster cluster-deps console-deps dist install serve test test-fast test-pure lint bench-quick bench bench-peers soak clean clients tools interop examples

install: $(STAMP)

# The stubs are generated in pip's isolated build environment, which takes the newest grpcio-tools,
# and generated code refuses an older grpcio: an existing venv keeps its gRPC runtime as new.
GRPC_RUNTIME := grpcio grpcio-status grpcio-health-checking grpcio-reflection

# Everything: the tests, the framework adapters and what the benchmarks compare with.
$(STAMP): $(SOURCES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip $(GRPC_RUNTIME)
	$(PIP) install --quiet -e ".[dev]"
	touch $@ $(SERVE_STAMP)

# Only what serving needs (the extension and stubs are built in pip's isolated build environment).
$(SERVE_STAMP): $(SOURCES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip $(GRPC_RUNTIME)
	$(PIP) install --quiet -e .
	touch $@

# A wheel of the server and clients, with the extension built for this machine, into dist/.
dist: $(SERVE_STAMP)
	rm -rf dist && $(PIP) wheel --quiet --no-deps -w dist .

serve: $(SERVE_STAMP)
	$(VENV)/bin/llmspell-sessions serve --address $(ADDRESS) $(if $(CONSOLE),--console-address $(CONSOLE))

# Every test (interop and the external tools included) on the native build; then the suites that
# drive the engine through every path again on the pure-Python twin of the hot path and the
# field-by-field wire conversion (servers started by the tests inherit the choice; the twins are
# also compared directly in tests/native, whatever the choice); then the engine and gRPC suites
# again over the shared backend: PostgreSQL + the object store, every server as two workers on one
# port (the fixtures' engines and servers; see tests/conftest.py). Interop, docs, console,
# conformance and scale-out run once: what they check does not depend on the twin.
SHARED_BACKEND_SUITES := tests/unit tests/regressions tests/stateful tests/replay tests/rpc tests/hardening
PURE_SUITES := $(SHARED_BACKEND_SUITES) tests/fuzz tests/ops tests/crash
test: install clients tools cluster-deps console-deps
	$(PYTEST) -q tests
	LLMSPELL_SESSIONS_PURE=1 LLMSPELL_SESSIONS_REQUIRE_NATIVE=0 $(PYTEST) -q $(PURE_SUITES)
	LLMSPELL_TEST_BACKEND=postgres $(PYTEST) -q $(SHARED_BACKEND_SUITES)

# PostgreSQL's server programs (initdb, pg_ctl, from Debian's postgresql package) for the postgres
# backend's tests, which start a throwaway cluster of their own, and SeaweedFS's weed for the S3 blob
# store's. A no-op when they are already there.
PG_BIN_GLOB ?= /usr/lib/postgresql/*/bin
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
cluster-deps:
	@if { command -v initdb && command -v pg_ctl; } >/dev/null 2>&1 \
		|| { compgen -G '$(PG_BIN_GLOB)/initdb' && compgen -G '$(PG_BIN_GLOB)/pg_ctl'; } >/dev/null; then \
		echo "cluster-deps: PostgreSQL server programs present"; \
	else \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; \
	fi
	@$(MAKE) --no-print-directory $(TOOLS)/bin/weed

# Debian's chromium and chromium-driver (/usr/bin/chromedriver), which the web console's browser tests
# (tests/console) drive headless through Selenium. A no-op when they are already there.
console-deps:
	@if command -v chromium >/dev/null 2>&1 && test -x /usr/bin/chromedriver; then \
		echo "console-deps: chromium and chromium-driver present"; \
	else \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; \
	fi

# SeaweedFS (Apache-2.0), the S3-compatible store of the --blob-store s3 tests and bench/s3_blobs.py, built
# from the Go module proxy with upstream's own go.mod/go.sum (~10-15 min once; .tools/ is a cache outside git).
$(TOOLS)/bin/weed:
	set -e; dir=$$(go mod download -json github.com/seaweedfs/seaweedfs@$(SEAWEEDFS_VERSION) \
		| $(PYTHON) -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'); \
	rm -rf $(TOOLS)/src/seaweedfs; mkdir -p $(TOOLS)/src $(TOOLS)/bin; \
	cp -r "$$dir" $(TOOLS)/src/seaweedfs; chmod -R u+w $(TOOLS)/src/seaweedfs; \
	cd $(TOOLS)/src/seaweedfs && go build -o $(TOOLS)/bin/weed ./weed

# A scale-out deployment on this machine: PostgreSQL on 127.0.0.1 (data kept in .cluster/), the object
# store when .tools/bin/weed exists, two frontends on 127.0.0.1:50051 and :50052. Ctrl-C stops it all.
cluster: install cluster-deps
	$(PY) -m llmspell_sessions.devcluster --dir .cluster

# The Go, TypeScript and Rust clients: generate, build and run their own unit tests.
clients: install
	$(MAKE) -C clients/go deps build test
	$(MAKE) -C clients/typescript deps gen build test
	$(MAKE) -C clients/rust deps build test

# grpcurl, grpc_health_probe and ghz, built from the Go module proxy into .tools/.
tools: $(TOOLS)/grpcurl $(TOOLS)/grpc-health-probe $(TOOLS)/ghz

$(TOOLS)/grpcurl:
	GOBIN=$(TOOLS) go install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)

$(TOOLS)/grpc-health-probe:
	GOBIN=$(TOOLS) go install github.com/grpc-ecosystem/grpc-health-probe@$(HEALTH_PROBE_VERSION)

$(TOOLS)/ghz:
	GOBIN=$(TOOLS) go install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION)

interop: install clients
	$(PYTEST) -q tests/interop

examples: install clients
	$(PYTEST) -q tests/examples

test-fast: install
	$(PYTEST) -q -x -m "not slow" tests

# The second pass of make test alone: the engine's suites on the pure-Python twin.
test-pure: install
	LLMSPELL_SESSIONS_PURE=1 LLMSPELL_SESSIONS_REQUIRE_NATIVE=0 $(PYTEST) -q $(PURE_SUITES)

lint: install
	$(VENV)/bin/ruff check server tests bench
	$(VENV)/bin/mypy
	cd protos && npx --yes @bufbuild/buf@1 lint

bench-quick: install
	$(PY) -m bench.run --quick

bench: install
	$(PY) -m bench.run

# BuildGrid (and bazel-remote where the Go proxy serves it) for the peers scenario of `make bench`.
bench-peers: install
	$(PY) -m bench.peers install

# The 64-client soak test for a full minute (make test runs it for 10 s).
soak: install
	LLMSPELL_SOAK_SECONDS=60 $(PYTEST) -q -s tests/hardening/test_soak.py

clean:
	rm -rf $(VENV) $(TOOLS) build *.egg-info server/*.egg-info server/llmspell_sessions/_pb
	find server native -name '*.so' -delete; rm -f native/*.c
