"""Shared fixtures: a fresh plugin registry and a way to run the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gamepit.plugins.manager import PluginManager

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def manager() -> PluginManager:
    """Built-ins only: no entry points, no plugin paths."""
    return PluginManager(autoload=False)


@pytest.fixture
def registry(manager: PluginManager):
    return manager.registry


def run_cli(*args: str, cwd: str | Path | None = None, env: dict | None = None,
            input: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m gamepit ARGS`` as a user would; returns the finished process."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "gamepit", *args], cwd=cwd, env=full_env,
                          input=input, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli
