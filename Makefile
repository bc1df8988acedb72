# Two commands do all the set-up: `make demo` and `make test`.
# Each creates or refreshes .venv, installs what is needed, then runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install system-deps lint bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# CPU torch first, pinned: a bare `torch` would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[dev]"
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
