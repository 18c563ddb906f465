# DreamSound Live — two commands do all the set-up on a fresh Debian/Ubuntu machine:
#   make run    set up, then play the instrument (live input -> dreams -> output)
#   make test   set up, then lint and run the whole test suite
# System packages are installed with apt-get when running as root; otherwise the
# missing ones are named with the command to install them.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := python3-venv libsndfile1 libportaudio2 jackd2 puredata-core liblo-tools
ARGS ?=

.PHONY: setup system-packages run test lint bench clean

setup: system-packages $(VENV)/.installed

system-packages:
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

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

run: setup
	$(BIN)/dreamsound run $(ARGS)

lint: setup
	$(BIN)/ruff check instrument tests benchmarks patches

test: setup
	$(BIN)/ruff check instrument tests benchmarks patches
	$(BIN)/python -m pytest -q

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
