# fwsign: the two set-up commands are `make demo` and `make test`; both create the
# virtualenv and install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FUZZ_SECONDS ?= 120

.PHONY: all demo test lint typecheck unit bench bench-host bench-repo bench-device fuzz fuzz-c size clean venv sysdeps

all: test

# System packages the tests and the C reference verifier need (gcc, make, OpenSSL headers).
sysdeps:
	@./scripts/ensure-sysdeps.sh

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "fwsign needs Python >= 3.11 (found $$($(PYTHON) --version 2>&1)); set PYTHON=python3.11 or newer" >&2; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
	  { echo "cannot create a virtualenv: install the python3-venv package" >&2; exit 2; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $@

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check fwsign tests benchmarks scripts
	$(BIN)/mypy

typecheck: lint

unit: $(STAMP) sysdeps
	$(BIN)/pytest

test: lint unit

demo: $(STAMP) sysdeps
	@./scripts/demo.sh

# All benchmarks (under 10 minutes on 2 cores); each part also runs on its own.
bench: bench-host bench-repo bench-device

# Host verification and signing: in-process vs the floor, CLI vs imgtool, gateway, sizes.
bench-host: $(STAMP) sysdeps
	$(BIN)/python benchmarks/run.py

# TUF repository scale: publish time, metadata sizes, client downloads (1k-100k targets).
bench-repo: $(STAMP)
	$(BIN)/python benchmarks/bench_repo.py

# Emulated instruction counts of bootloader-ref on Cortex-M0+/M4/M33 and the energy figures
# built on them (needs the Arm cross compiler, which sysdeps installs).
bench-device: $(STAMP) sysdeps
	$(BIN)/python benchmarks/emu/run.py

# Long fuzz run of the Python parsers (the unit tests run a short, fixed-seed one).
fuzz: $(STAMP)
	FWSIGN_FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/python scripts/fuzz.py

# libFuzzer runs of bootloader-ref's envelope processing and boot flow (clang).
fuzz-c: sysdeps
	$(MAKE) -C bootloader-ref fuzz fuzz-boot FUZZ_SECONDS=$(FUZZ_SECONDS)

# Flash and stack of the C verifier cross-built for Cortex-M0+, M4 and M33.
size: sysdeps
	$(MAKE) -C bootloader-ref size

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis demo-out
	-$(MAKE) -C bootloader-ref clean
