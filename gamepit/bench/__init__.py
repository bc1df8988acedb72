"""Plugin: the ``bench`` command, which lists and runs the benchmark scripts in ``benchmarks/``.

The scripts live in the repository, not in the installed package: they are looked up in
``./benchmarks`` first, then beside the package when it runs from a source checkout. Each runs
as a subprocess of the same Python, so a benchmark's imports (PettingZoo, OpenSpiel, torch) are
never paid by the rest of the command line.
"""

from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from gamepit.errors import GamepitError
from gamepit.plugins.markers import hookimpl

FOLDER = "benchmarks"


def find_benchmarks(cwd: Path | None = None, package: Path | None = None) -> Path | None:
    """The benchmarks folder: ``cwd/benchmarks``, else the source checkout's (the folder above
    the package, when it holds a ``pyproject.toml``); None when neither exists."""
    cwd = Path.cwd() if cwd is None else cwd
    package = Path(__file__).resolve().parents[1] if package is None else package
    here = cwd / FOLDER
    if here.is_dir():
        return here
    checkout = package.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / FOLDER).is_dir():
        return checkout / FOLDER
    return None


def summary(script: Path) -> str:
    """The first sentence of a script's docstring, on one line ('' if it has none)."""
    try:
        docstring = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))) or ""
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return "(unreadable)"
    paragraph = " ".join(docstring.split("\n\n")[0].split())
    sentence, dot, _ = paragraph.partition(". ")
    return sentence + (dot.strip() if dot else "")


def runnable(script: Path) -> bool:
    """Whether a script does something when run (an ``if __name__ == "__main__":`` block, or
    any statement past imports, definitions and assignments); the others are helpers that
    benchmarks and tests import (a plugin of faulty agents), not benchmarks."""
    quiet = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
             ast.Assign, ast.AnnAssign)
    try:
        body = ast.parse(script.read_text(encoding="utf-8")).body
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return True  # listed, so that it is seen to be unreadable
    return any(not isinstance(node, quiet) and not (
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) for node in body)


def scripts(folder: Path) -> dict[str, Path]:
    return {path.stem: path for path in sorted(folder.glob("*.py"))
            if not path.name.startswith("_") and runnable(path)}


def cmd_bench(args: argparse.Namespace, manager: Any) -> int:
    folder = find_benchmarks()
    if folder is None:
        raise GamepitError(f"bench: no {FOLDER}/ folder here or beside the gamepit package "
                           "(the benchmarks ship with the source repository: run this from "
                           "its root)")
    found = scripts(folder)
    if args.name is None:
        print(f"benchmarks in {folder}/ (run one: gamepit bench NAME [ARGS...]):")
        width = max(60, min(shutil.get_terminal_size().columns, 120))
        for name, path in found.items():  # whole sentences, wrapped, never cut
            print(textwrap.fill(summary(path), width, initial_indent=f"  {name:<24} ",
                                subsequent_indent=" " * 27))
        return 0
    name = args.name.removesuffix(".py")
    if name not in found:
        raise GamepitError(f"bench: no benchmark {args.name!r} in {folder}/; available: "
                           f"{', '.join(found) or '(none)'}")
    return subprocess.call([sys.executable, str(found[name]), *args.args])


@hookimpl
def gamepit_add_commands(subparsers: argparse._SubParsersAction) -> None:
    from gamepit.cli import add_command

    p = add_command(subparsers, "bench",
                    "List the benchmark scripts in benchmarks/, or run one with its arguments.",
                    "gamepit bench\n"
                    "gamepit bench board_games --seconds 1\n"
                    "gamepit bench search_speed --help")
    p.add_argument("name", nargs="?", default=None, help="benchmark to run (default: list them)")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the benchmark")
    p.set_defaults(func=cmd_bench)
