"""The layers hold: import-linter's contracts (pyproject.toml) pass, a reintroduced cycle breaks
them, and the kernel imports without torch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(package_parent: Path, config: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(config), "--cache-dir",
                           str(cache)], cwd=package_parent, env=env, capture_output=True,
                          text=True, timeout=300)


def test_import_contracts_are_kept(tmp_path):
    run = lint_imports(ROOT, ROOT / "pyproject.toml", tmp_path / "cache")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_a_reintroduced_cycle_breaks_the_contracts(tmp_path):
    """The same contracts on a copy of the package where the errors module imports the command
    line (which imports errors): the suite must fail."""
    shutil.copytree(ROOT / "gamepit", tmp_path / "gamepit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pt"))
    module = tmp_path / "gamepit" / "errors.py"
    module.write_text(module.read_text() + "\nimport gamepit.cli  # noqa: E402,F401\n")
    run = lint_imports(tmp_path, ROOT / "pyproject.toml", tmp_path / "cache")
    assert run.returncode != 0
    assert "No import cycles" in run.stdout and "BROKEN" in run.stdout, run.stdout


def test_a_kernel_module_importing_a_plugin_breaks_the_contracts(tmp_path):
    shutil.copytree(ROOT / "gamepit", tmp_path / "gamepit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pt"))
    module = tmp_path / "gamepit" / "specs.py"
    module.write_text(module.read_text() + "\nimport gamepit.games.tictactoe  # noqa\n")
    run = lint_imports(tmp_path, ROOT / "pyproject.toml", tmp_path / "cache")
    assert run.returncode != 0 and "The kernel imports no plugin folder BROKEN" in run.stdout


def test_listing_plugins_and_playing_a_board_game_never_import_torch():
    code = ("import sys; from gamepit.cli import main; "
            "main(['plugins']); main(['match', 'tictactoe', 'random', 'alphabeta:depth=2', "
            "'-n', '2', '--no-replays']); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
