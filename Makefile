# DreamSound Live — two commands do all the set-up:
#   make run    set up, then play the instrument (live input -> dreams -> output)
#   make test   set up, then lint, check the other platforms' wheels, and run the whole test suite
# Linux (Debian/Ubuntu): system packages are installed with apt-get when running as root;
# otherwise the missing ones are named with the command to install them.
# macOS: pip only (the audio wheels bundle PortAudio and libsndfile).
# Windows has no make: the README's set-up table gives the two commands to type instead.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := python3-venv libsndfile1 libportaudio2 jackd2 puredata-core liblo-tools
EXTRAS ?= test
ARGS ?=
HOST_OS := $(shell uname -s 2>/dev/null || echo unknown)

.PHONY: setup system-packages run test test-material lint check-platforms bench clean

setup: system-packages $(VENV)/.installed

system-packages:
ifeq ($(HOST_OS),Linux)
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing system packages:$$missing"; \
	    echo "install them with: sudo apt-get install$$missing   (then run make again)"; exit 1; \
	  fi; \
	fi
else ifeq ($(HOST_OS),Darwin)
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' || { \
	  echo "macOS: $(PYTHON) is not Python 3.11 or 3.12; install one (python.org or brew install python@3.12)"; \
	  echo "and run: make $(MAKECMDGOALS) PYTHON=python3.12"; exit 1; }
else
	@echo "$(HOST_OS): this Makefile knows Linux and macOS. On Windows type the README's two commands (PowerShell):"; \
	echo '  py -3.12 -m venv .venv; .venv\Scripts\python -m pip install -e .'; \
	echo '  .venv\Scripts\dreamsound run'; exit 1
endif

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	touch $@

run: setup
	$(BIN)/dreamsound run $(ARGS)

lint: setup
	$(BIN)/ruff check instrument tests benchmarks patches tools

# Resolve every dependency to binary wheels for macOS (arm64, x86_64) and Windows, Python 3.11 and 3.12.
check-platforms: setup
	$(BIN)/python tools/check_platforms.py

ifeq ($(HOST_OS),Darwin)
# The suite drives a JACK dummy server through PortAudio's JACK host API (absent from the macOS
# sounddevice wheel), Pure Data and liblo: it runs on Linux (CI). Here: lint and the platform checks.
test: setup check-platforms
	$(BIN)/ruff check instrument tests benchmarks patches tools
	$(BIN)/python -m pytest -q tests/test_platforms.py
	@echo "macOS: the full test suite runs on Linux (make test there, or .ci/run)"
else
test: setup check-platforms
	$(BIN)/ruff check instrument tests benchmarks patches tools
	$(BIN)/python -m pytest -q
endif

# The recordings and weights the tests read (../shared, or $DREAMSOUND_SHARED), from their public sources.
test-material: setup
	$(BIN)/python tools/fetch_test_material.py

# The suite must hold on any host: three runs in a row, one on a single core, one with oneDNN limited to AVX2.
.PHONY: test-stress
test-stress: setup
	$(BIN)/python -m pytest -q
	taskset -c 0 $(BIN)/python -m pytest -q
	ONEDNN_MAX_CPU_ISA=AVX2 $(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python -m benchmarks.dream_speed

clean:
	rm -rf $(VENV) build *.egg-info
