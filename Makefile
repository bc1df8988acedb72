# Two commands do all the set-up: `make demo` and `make test`.
# Each creates or refreshes .venv, installs what is needed, then runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TORCH_VERSION ?= 2.13.0
TORCH_INDEX   ?= https://download.pytorch.org/whl/cpu
# Exits 0 when .venv has a torch 2.x at least 2.3 (what pyproject.toml asks for).
export TORCH_OK := import sys, torch; v = torch.__version__.split("+")[0].split("."); \
  sys.exit(not (int(v[0]) == 2 and int(v[1]) >= 3))

.PHONY: demo test install system-deps lint bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch: an installed torch 2.3 or later (CPU or CUDA) is kept. Otherwise the CPU build
	# comes from PyTorch's own index: torch from plain PyPI is the CUDA build on Linux, with
	# about 29 NVIDIA packages (gigabytes). By hand, on a CPU-only machine:
	#   pip install torch --index-url https://download.pytorch.org/whl/cpu
	# For a GPU, install the torch you want into .venv first; make keeps it.
	# Where that index cannot be reached (a mirror of PyPI only, as on our CI), the plain
	# requirement is used: such mirrors serve the CPU build under torch==$(TORCH_VERSION).
	$(BIN)/python -c "$$TORCH_OK" 2>/dev/null || $(BIN)/python -m pip install -q \
	  --disable-pip-version-check --retries 0 --timeout 15 --index-url $(TORCH_INDEX) \
	  torch==$(TORCH_VERSION) 2>/dev/null || $(BIN)/python -m pip install -q \
	  --disable-pip-version-check torch==$(TORCH_VERSION)
	# minatar (GPL-3.0) and ray are optional extras; the tests use both, the demo minatar.
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[dev,minatar,ray]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/gamepit demo

# The tests play real peers: GnuGo over GTP, and a real headless Chromium for the viewer.
system-deps:
	@missing=""; \
	test -x /usr/games/gnugo || missing="$$missing gnugo"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	test -x /usr/bin/chromedriver || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "make test needs the Debian packages:$$missing (apt-get install them as root)"; \
	    exit 1; fi; \
	fi

test: $(STAMP) system-deps
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check gamepit tests benchmarks examples

bench: $(STAMP)
	$(BIN)/python benchmarks/board_games.py

clean:
	rm -rf $(VENV) replays/*.jsonl
