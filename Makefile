# Two commands do all the set-up: `make demo` and `make test`.
# Each creates or refreshes .venv, installs what is needed, then runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install lint bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# CPU torch first, pinned: a bare `torch` would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/gamepit demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check gamepit tests benchmarks examples

bench: $(STAMP)
	$(BIN)/python benchmarks/board_games.py

clean:
	rm -rf $(VENV) replays/*.jsonl
