# fwsign: the two set-up commands are `make demo` and `make test`; both create the
# virtualenv and install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FUZZ_SECONDS ?= 120

.PHONY: all demo test lint typecheck unit bench bench-host bench-repo bench-device bench-fleet fuzz fuzz-c fuzz-diff size clean venv sysdeps compile pure tables

all: test

# System packages the tests and the C reference verifier need (gcc, make, OpenSSL headers), and the
# optional ones (PostgreSQL server and Chromium for the fleet collector tests, cross compiler, ...).
sysdeps:
	@./scripts/ensure-sysdeps.sh

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "fwsign needs Python >= 3.11 (found $$($(PYTHON) --version 2>&1)); set PYTHON=python3.11 or newer" >&2; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
	  { echo "cannot create a virtualenv: install the python3-venv package" >&2; exit 2; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench,fleet]'
	@touch $@

venv: $(STAMP)

# The verification path compiled with mypyc from the same source (scripts/compile.py).
# Optional: without a C compiler or Python headers fwsign stays pure Python and works the
# same, only slower. `make pure` removes the build; FWSIGN_PURE=1 ignores it.
NATIVE := fwsign/_native.json
$(NATIVE): $(STAMP) scripts/compile.py $(wildcard fwsign/*.py fwsign/cose/*.py fwsign/suit/*.py)
	@mkdir -p build
	@if $(BIN)/python scripts/compile.py > build/compile.log 2>&1; then tail -1 build/compile.log; \
	 else tail -3 build/compile.log >&2; echo "compile: continuing with the pure-Python modules" >&2; fi

compile: $(NATIVE)

pure:
	$(BIN)/python scripts/compile.py --clean

# Limits and reason codes of both verifiers from fwsign/model_tables.toml: rewrites
# fwsign/_tables.py, bootloader-ref's bootref_limits.h and reasons_table.h and the tables of
# docs/processing-model.md. The results are committed; tests/test_tables.py checks them.
tables:
	$(PYTHON) scripts/gen_tables.py

lint: $(STAMP)
	$(BIN)/ruff check fwsign tests benchmarks scripts
	$(BIN)/mypy

typecheck: lint

# The whole suite on the build `make` uses, then the parser and verifier suites again on
# the pure-Python modules (the reference, and what an install without a compiler runs).
unit: $(STAMP) sysdeps compile
	$(BIN)/pytest
	FWSIGN_PURE=1 $(BIN)/pytest tests/test_cbor.py tests/test_vectors.py tests/test_verify.py tests/test_differential.py tests/test_processing_model.py tests/test_generated.py

test: lint unit

demo: $(STAMP) sysdeps compile
	@./scripts/demo.sh

# All benchmarks (under 10 minutes on 2 cores); each part also runs on its own.
bench: bench-host bench-repo bench-device bench-fleet

# Host verification and signing: in-process vs the floor, CLI vs imgtool, gateway, sizes.
bench-host: $(STAMP) sysdeps compile
	$(BIN)/python benchmarks/run.py

# TUF repository scale: publish time, metadata sizes, client downloads (1k-100k targets).
bench-repo: $(STAMP)
	$(BIN)/python benchmarks/bench_repo.py

# Emulated instruction counts of bootloader-ref on Cortex-M0+/M4/M33 and the energy figures
# built on them (needs the Arm cross compiler, which sysdeps installs).
bench-device: $(STAMP) sysdeps
	$(BIN)/python benchmarks/emu/run.py

# Fleet collector ingest over loopback: SQLite and PostgreSQL against in-process verification.
bench-fleet: $(STAMP) sysdeps
	$(BIN)/python benchmarks/bench_fleet.py

# Long fuzz run of the Python parsers (the unit tests run a short, fixed-seed one).
fuzz: $(STAMP)
	FWSIGN_FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/python scripts/fuzz.py

# Structure-aware differential run: correctly signed generated manifests through the Python
# and the C verifier; new disagreements are kept in tests/vectors/generated/ (FUZZ_SEED=N repeats a run).
fuzz-diff: $(STAMP) sysdeps
	$(BIN)/python scripts/fuzz_diff.py --seconds $(FUZZ_SECONDS)

# libFuzzer runs of bootloader-ref's envelope processing, boot flow and FWD1 patch reader (clang).
fuzz-c: sysdeps
	$(MAKE) -C bootloader-ref fuzz fuzz-boot fuzz-delta FUZZ_SECONDS=$(FUZZ_SECONDS)

# Flash and stack of the C verifier cross-built for Cortex-M0+, M4 and M33.
size: sysdeps
	$(MAKE) -C bootloader-ref size

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis demo-out
	find fwsign -name '*.so' -delete; rm -f $(NATIVE)
	-$(MAKE) -C bootloader-ref clean
