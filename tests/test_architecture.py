"""The layers hold: import-linter's contracts (pyproject.toml) pass, a reintroduced cycle breaks
them, the kernel imports without torch and stays in its budget, and the tree, the contracts and
the docs name the same plugin folders."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("module, line, broken", [
    ("games/connect_four.py", "import gamepit.search.tree", "The plugin folders in layers"),
    ("files.py", "import gamepit.arena", "The kernel in layers"),
])
def test_a_layer_importing_one_above_it_breaks_the_contracts(tmp_path, module, line, broken):
    """Issue 26: a game importing search (connect four once did), or the contract importing
    the engine, is a broken layers contract."""
    shutil.copytree(ROOT / "gamepit", tmp_path / "gamepit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pt"))
    path = tmp_path / "gamepit" / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    run = lint_imports(tmp_path, ROOT / "pyproject.toml", tmp_path / "cache")
    assert run.returncode != 0 and f"{broken}" in run.stdout
    assert any(broken in row and "BROKEN" in row for row in run.stdout.splitlines())


def test_listing_plugins_and_playing_a_board_game_never_import_torch():
    code = ("import sys; from gamepit.cli import main; "
            "main(['plugins']); main(['match', 'tictactoe', 'random', 'alphabeta:depth=2', "
            "'-n', '2', '--no-replays']); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]


def _kernel_size():
    spec = importlib.util.spec_from_file_location("kernel_size", ROOT / "benchmarks" /
                                                  "kernel_size.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_tree_the_contracts_and_the_docs_name_the_same_plugin_folders():
    """Every folder of the package is a kernel layer or a plugin folder, and the plugin folders
    are the same in the size count, the kernel's import contract, ARCHITECTURE.md's count
    command and the README's layout."""
    plugin_folders = set(_kernel_size().PLUGIN_FOLDERS)
    folders = {path.name for path in (ROOT / "gamepit").iterdir()
               if (path / "__init__.py").exists()}
    assert folders - plugin_folders == {"arena", "plugins", "replay"}
    assert plugin_folders <= folders
    contract = (ROOT / "pyproject.toml").read_text().split("[[tool.importlinter.contracts]]")[1]
    assert "The kernel imports no plugin folder" in contract

    def listed(key: str) -> set[str]:
        return set(re.findall(r'"gamepit\.(\w+)"', contract.split(key, 1)[1].split("]", 1)[0]))

    assert listed("forbidden_modules") == plugin_folders
    kernel_modules = {path.stem for path in (ROOT / "gamepit").glob("*.py")} - {"__init__"}
    assert listed("source_modules") == kernel_modules | {"arena", "plugins", "replay"}
    command = re.search(r"gamepit/\(([a-z_|]+)\)/", (ROOT / "ARCHITECTURE.md").read_text())
    assert command and set(command.group(1).split("|")) == plugin_folders
    layout = (ROOT / "README.md").read_text().split("## Layout", 1)[1].split("```")[1]
    assert {folder for folder in folders if f"{folder}/" in layout} == folders


def test_the_kernel_stays_under_two_thousand_lines_of_code():
    """The kernel's budget (ARCHITECTURE.md), in lines of code: docstrings are the hooks'
    documentation."""
    size = _kernel_size()
    files = size.kernel_files(ROOT / "gamepit")
    code = sum(size.code_lines(path.read_text()) for path in files)
    assert 0 < code < 2000, f"the kernel has {code} lines of code; its budget is 2,000"


@pytest.mark.parametrize("script", sorted((ROOT / "benchmarks").glob("*.py")), ids=lambda p: p.name)
def test_every_name_a_benchmark_imports_from_gamepit_exists(script):
    """Benchmarks run rarely, so a moved name would break one silently: every
    ``from gamepit... import name`` in them must resolve (checked without running them)."""
    tree = ast.parse(script.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gamepit"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name) or importlib.util.find_spec(
                    f"{node.module}.{alias.name}") is not None, (
                    f"{script.name}:{node.lineno}: {node.module} has no {alias.name}")
