# llmspell-sessions: `make serve` and `make test` work on a fresh machine (they install what they need).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
ADDRESS ?= 127.0.0.1:50051
SOURCES := pyproject.toml setup.py protos/gen_python.py $(wildcard protos/llmspell/sessions/v1/*.proto) $(wildcard native/*.pyx native/*.pxd native/*.pxi)
PYTEST := $(PY) -m pytest
export LLMSPELL_SESSIONS_REQUIRE_NATIVE ?= 1

.PHONY: install serve test test-fast test-pure lint bench-quick bench clean

install: $(STAMP)

$(STAMP): $(SOURCES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[dev]"
	touch $@

serve: install
	$(VENV)/bin/llmspell-sessions serve --address $(ADDRESS)

# Every test, native build first, then the hot-path tests again on the pure-Python twin.
test: install
	$(PYTEST) -q tests
	LLMSPELL_SESSIONS_PURE=1 LLMSPELL_SESSIONS_REQUIRE_NATIVE=0 $(PYTEST) -q tests/native

test-fast: install
	$(PYTEST) -q -x -m "not slow" tests

lint: install
	$(VENV)/bin/ruff check server tests bench
	$(VENV)/bin/mypy
	cd protos && npx --yes @bufbuild/buf@1 lint

bench-quick: install
	$(PY) -m bench.run --quick

bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) build *.egg-info server/*.egg-info server/llmspell_sessions/_pb
	find server native -name '*.so' -delete; rm -f native/*.c
