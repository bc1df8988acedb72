"""Shared fixtures: a fresh plugin registry and a way to run the real command line; and the
suite's tiers. ``make test`` (and CI) runs every test; ``make test-fast`` leaves out the ones
marked ``slow`` here: learning runs, kill-and-resume, Ray clusters, the headless browser,
outside engines playing whole games, and the other long command-line runs."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gamepit.plugins.manager import PluginManager

ROOT = Path(__file__).resolve().parents[1]

# The slow tier, by file and by name: what takes seconds because it trains, kills and resumes,
# starts a cluster or a browser, or plays whole games through outside processes.
SLOW_FILES = {"test_ray.py", "test_browser.py", "test_examples.py"}
SLOW_NAMES = re.compile(
    r"learns|from_scratch|beats_random|never_loses|kill|resum|tiny_|smoke|distillation|"
    r"pachi|gnugo|demo_runs|full_disk|every_help|bad_checkpoints|eval_opponent|human_expert|"
    r"labels_per_round|failing_expert|new_writes|new_package|video_exports|under_abuse|"
    r"hangs_|segfault|crashing_agents|dead_worker|children_end|no_traceback_no_lie|"
    r"writes_metrics|init_goes_on|dagger|start_time|ctrl_c|same_code|(?<![a-z])hang|"
    r"trickles|engine_agents_pass|engine_ladder|every_engine_fault|engines_in_a_tournament|"
    r"one_checkpoint_plays|load_with_weights_only|single_player_pong|move_time_forfeits|"
    r"exceeded the move time|crashed_worker")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in SLOW_FILES or SLOW_NAMES.search(item.name):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def manager() -> PluginManager:
    """Built-ins only: no entry points, no plugin paths."""
    return PluginManager(autoload=False)


@pytest.fixture
def registry(manager: PluginManager):
    return manager.registry


def run_cli(*args: str, cwd: str | Path | None = None, env: dict | None = None,
            input: str | None = None, timeout: float = 300, fresh: bool = False
            ) -> subprocess.CompletedProcess:
    """Run ``python -m gamepit ARGS`` as a user would, in a process of its own; returns the
    finished process. A fork of a warm server unless ``fresh`` (tests/cli_runner.py)."""
    from tests import cli_runner

    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return cli_runner.run(list(args), cwd, full_env, input, timeout, fresh)


@pytest.fixture
def cli():
    return run_cli


# ------------------------------------------------------------------ processes other tests start


def ledger_games(ledger: Path, query: str = "SELECT COUNT(*) FROM results") -> int:
    """Games in a ledger that another process may still be creating: 0 until the file and its
    tables exist (a reader that comes too early sees "no such table", not a number)."""
    import sqlite3

    if not Path(ledger).exists():
        return 0
    try:
        with sqlite3.connect(str(ledger), timeout=5) as connection:
            return int(connection.execute(query).fetchone()[0])
    except sqlite3.Error:
        return 0


def kill_when(process: subprocess.Popen, ready: Callable[[], bool], what: str,
              seconds: float = 60) -> None:
    """Poll ``ready`` (bounded by ``seconds``) while ``process`` runs, then SIGKILL it and reap
    it; fails if the process ended first or ``ready`` never came."""
    import signal
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None and not ready():
        time.sleep(0.02)
    assert process.poll() is None, f"the process ended before {what}"
    assert ready(), f"{what} did not happen within {seconds:g} s"
    process.send_signal(signal.SIGKILL)
    process.wait()


def learn(module: Any, settings: dict[str, Any]) -> str:
    """Train a built-in learner (its ``learner`` module) on ``settings`` as ``gamepit train``
    does: merged into its ``Args`` with every value checked, then handed whole to ``train``."""
    from gamepit.training.settings import merge

    return module.Learner.train(merge(module.Learner.Args, module.ALGORITHM, settings))
