"""``gamepit new`` and ``gamepit check``: start a plugin from a template that works, and check
one against the protocols."""

from __future__ import annotations

import argparse
import keyword
import re
import sys
from pathlib import Path

from gamepit.cli import add_command
from gamepit.errors import GamepitError
from gamepit.files import atomic_write, plain_output
from gamepit.plugins.manager import PluginManager

TEMPLATES = Path(__file__).with_name("templates")
# kind -> (template file, the name written in it, the command its first lines suggest)
KINDS = {"game": ("takeaway.py", "takeaway"), "agent": ("onestep.py", "onestep"),
         "learner": ("tabular.py", "tabular")}
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def add_new_command(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "new",
                    "Write a working plugin to start from: a game, an agent or a learner in one "
                    "file, or a package with the gamepit entry point.",
                    "gamepit new game mygame        # writes mygame.py\n"
                    "gamepit --plugins mygame.py match mygame random random\n"
                    "gamepit new agent mybot --package   # writes gamepit-mybot/, pip install it")
    p.add_argument("kind", choices=list(KINDS), help="what the plugin adds")
    p.add_argument("name", help="its name: lower case letters, digits and _, a letter first")
    p.add_argument("--package", action="store_true",
                   help="write a package folder gamepit-NAME/ (pyproject.toml with the gamepit "
                        "entry point) instead of one file")
    p.add_argument("--into", default=".", metavar="DIR", help="where to write (default: here)")
    p.set_defaults(func=cmd_new)


def plugin_text(kind: str, name: str) -> str:
    """The template of ``kind`` with its example name replaced by ``name``."""
    template, example = KINDS[kind]
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    camel = "".join(part.capitalize() for part in name.split("_"))
    return text.replace(example.capitalize(), camel).replace(example, name)


def cmd_new(args: argparse.Namespace, manager: PluginManager) -> int:
    name = args.name
    if not NAME.fullmatch(name) or keyword.iskeyword(name):
        raise GamepitError(f"new: {name!r} is not a plugin name: use lower case letters, "
                           "digits and _, starting with a letter (at most 40)")
    if name in manager.registry.entries[args.kind]:
        article = "an" if args.kind == "agent" else "a"
        raise GamepitError(f"new: {article} {args.kind} named {name!r} already exists "
                           f"({manager.registry.entries[args.kind][name].origin}); pick another")
    folder = Path(args.into)
    text = plugin_text(args.kind, name)
    if not args.package:
        path = _write(folder / f"{name}.py", text)
        print(f"wrote {path}: {_first_use(text)}")
        return 0
    root = folder / f"gamepit-{name.replace('_', '-')}"
    if root.exists():
        raise GamepitError(f"new: {root} already exists; nothing was written")
    package = f"gamepit_{name}"
    _write(root / package / "__init__.py", text)
    _write(root / "pyproject.toml", PYPROJECT.format(name=name, package=package))
    print(f"wrote {root}/: pip install -e {root}, then (no --plugins needed): "
          f"{_first_use(text).replace(f'--plugins {name}.py ', '')}")
    return 0


def _write(path: Path, text: str) -> Path:
    if path.exists():
        raise GamepitError(f"new: {path} already exists; nothing was written")
    plain_output(path, "new:")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as partial:
        partial.write_text(text, encoding="utf-8")
    return path


def _first_use(text: str) -> str:
    """The first command the plugin's docstring suggests."""
    return next(line.strip().split("  #")[0].strip() for line in text.splitlines()
                if line.strip().startswith("gamepit "))


PYPROJECT = """[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "gamepit-{name}"
version = "0.1.0"
description = "A gamepit plugin: {name}."
requires-python = ">=3.10"
dependencies = ["gamepit"]

# gamepit finds installed plugins by this entry-point group
[project.entry-points.gamepit]
{name} = "{package}"
"""


def add_check_command(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "check",
                    "Check a game or an agent against gamepit's protocols: every missing or "
                    "wrong piece is one line that says what to fix.",
                    "gamepit check game connect_four\n"
                    "gamepit --plugins mygame.py check game mygame\n"
                    "gamepit --plugins mybot.py check agent mybot --game connect_four")
    p.add_argument("kind", choices=["game", "agent"])
    p.add_argument("spec", help="the game's or agent's spec")
    p.add_argument("--game", metavar="SPEC",
                   help="the game an agent is checked on (default tictactoe)")
    p.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace, manager: PluginManager) -> int:
    from gamepit.authoring.checks import (
        ConformanceError,
        check_agent,
        check_game,
        entry_problems,
        offered_methods,
    )
    from gamepit.plugins.manager import resolve_entry

    registry = manager.registry
    entry = registry.parse(args.kind, args.spec)[0]
    problems = entry_problems(entry, resolve_entry(entry))
    if problems:  # the entry's own mistakes first: they hide behind its defaults otherwise
        for line in problems:
            print(f"gamepit check: {line}", file=sys.stderr)
        return 1
    try:
        if args.kind == "game":
            game = registry.make_game(args.spec)
            check_game(game)
        else:
            game = registry.make_game(args.game or "tictactoe")
            built = registry.make_agent(args.spec, game)
            try:
                check_agent(built, game)
            finally:
                built.close()
    except ConformanceError as error:
        for line in str(error).splitlines():
            print(f"gamepit check: {line}", file=sys.stderr)
        return 1
    print(f"ok: {args.kind} {args.spec} follows the protocols"
          + (f" on {game.spec or game.name}" if args.kind == "agent" else ""))
    if args.kind == "game" and game.capabilities.state:
        offered = offered_methods(game)
        print(f"offers: {', '.join(offered)} (each fast path compared with plain play)"
              if offered else "offers: none of the optional State methods")
    return 0
