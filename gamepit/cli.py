"""The ``gamepit`` command line. Subcommands read as what people do; plugins may add more
through ``gamepit_add_commands``. A user's mistake is one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gamepit.errors import GamepitError
from gamepit.files import atomic_write, writable_folder
from gamepit.plugins.manager import PluginManager, get_manager
from gamepit.protocols import KINDS

DEFAULT_REPLAYS = "replays"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other user error
        command = self.prog.removeprefix("gamepit").strip()  # main adds "gamepit: error: "
        where = f"{command}: " if command else ""
        raise GamepitError(f"{where}{message} (see {self.prog} --help)")


def add_command(subparsers: argparse._SubParsersAction, name: str, help_text: str,
                examples: str) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` ends with examples; plugins' commands use it too. It
    takes ``--allow-import`` after the command as well as before it."""
    parser = subparsers.add_parser(
        name, help=help_text, description=help_text,
        epilog="examples:\n" + textwrap.indent(textwrap.dedent(examples).strip(), "  "),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _allow_import_argument(parser, "allow_import_here")
    return parser


def _allow_import_argument(parser: argparse.ArgumentParser, dest: str) -> None:
    parser.add_argument("--allow-import", action="append", default=argparse.SUPPRESS,
                        dest=dest, metavar="MODULE",
                        help="let a spec import this module, e.g. gym:MODULE:Env-v0 "
                             "(repeatable; also GAMEPIT_ALLOW_IMPORT=a,b); a replay file never "
                             "grants this")


def grant_imports(args: argparse.Namespace) -> list[str]:
    """Grant the modules named with ``--allow-import`` (before or after the command), for this
    process and its worker processes (through ``GAMEPIT_ALLOW_IMPORT``)."""
    from gamepit.specs import allow_imports

    modules = [*getattr(args, "allow_import", []), *getattr(args, "allow_import_here", [])]
    modules = [name.strip() for item in modules for name in item.split(",") if name.strip()]
    if modules:
        allow_imports(modules)
        inherited = [name for name in os.environ.get("GAMEPIT_ALLOW_IMPORT", "").split(",")
                     if name]
        os.environ["GAMEPIT_ALLOW_IMPORT"] = ",".join(dict.fromkeys(inherited + modules))
    return modules


def build_parser(manager: PluginManager | None = None) -> argparse.ArgumentParser:
    from gamepit import __version__

    parser = _Parser(prog="gamepit", description="Pit game-playing agents against each other.")
    parser.add_argument("--version", action="version", version=f"gamepit {__version__}")
    parser.add_argument("--plugins", action="append", default=[], metavar="PATH",
                        help="extra plugin file or folder (repeatable; also GAMEPIT_PLUGINS)")
    _allow_import_argument(parser, "allow_import")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = add_command(subparsers, "plugins", "List every game, agent, search and learner.",
                    "gamepit plugins\ngamepit plugins --kind agent")
    p.add_argument("--kind", choices=KINDS, help="only this kind")
    p.set_defaults(func=cmd_plugins)

    p = add_command(subparsers, "replay", "List, show, verify and export recorded replays.",
                    "gamepit replay list\ngamepit replay show replays/FILE.jsonl --step 5\n"
                    "gamepit replay verify replays/FILE.jsonl\n"
                    "gamepit replay export replays/FILE.jsonl --format html")
    replay_commands = p.add_subparsers(dest="replay_command", metavar="ACTION",
                                       parser_class=_Parser)
    q = add_command(replay_commands, "list",
                    "List the replays in a folder (and its subfolders): game, agents, steps, "
                    "result; a damaged file is marked, not fatal.",
                    "gamepit replay list\ngamepit replay list runs/tournament/replays")
    q.add_argument("folder", nargs="?", default=DEFAULT_REPLAYS,
                   help=f"folder to search (default {DEFAULT_REPLAYS}/)")
    q.set_defaults(func=cmd_replay_list)
    q = add_command(replay_commands, "show",
                    "Show a replay's board after a number of moves, with the moves in the "
                    "game's notation (chess SAN, Go vertices).",
                    "gamepit replay show replays/FILE.jsonl\n"
                    "gamepit replay show replays/FILE.jsonl --step 5")
    q.add_argument("file", help="a replay file (.jsonl)")
    q.add_argument("--step", type=int, default=None, help="after this many actions (default all)")
    q.set_defaults(func=cmd_replay_show)
    q = add_command(replay_commands, "verify",
                    "Re-simulate replays and check every record against the simulation: "
                    "players, actions, rewards, state hashes, the result and any forfeit.",
                    "gamepit replay verify replays/FILE.jsonl\n"
                    "gamepit replay verify replays/*.jsonl")
    q.add_argument("files", nargs="+", metavar="FILE", help="replay files (.jsonl)")
    q.set_defaults(func=cmd_replay_verify)
    exporters = ["sgf", "pgn"] + sorted(exporters_of(manager) if manager else {})
    q = add_command(replay_commands, "export",
                    f"Export a replay: {', '.join(exporters)} (sgf for go, pgn for chess). "
                    "The output never replaces the replay itself.",
                    "gamepit replay export replays/FILE.jsonl --format html\n"
                    "gamepit replay export replays/FILE.jsonl --format sgf -o game.sgf")
    q.add_argument("file", help="a replay file (.jsonl)")
    q.add_argument("--format", required=True, dest="fmt", choices=exporters)
    q.add_argument("-o", "--output", default=None, help="output file (default: beside the replay)")
    q.set_defaults(func=cmd_replay_export)
    p.set_defaults(func=_missing_action(p, replay_commands))

    if manager is not None:
        manager.call("gamepit_add_commands", subparsers=subparsers, manager=manager)
    return parser


def exporters_of(manager: PluginManager) -> dict[str, Any]:
    """Replay export formats contributed by plugins (the viewer's html, mp4, gif)."""
    found: dict[str, Any] = {}
    for contributed in manager.call("gamepit_add_exporters"):
        found.update(contributed or {})
    return found


def _missing_action(parser: argparse.ArgumentParser,
                    actions: argparse._SubParsersAction) -> Any:
    """The ``func`` of a command that needs an action (``gamepit replay``): one line, exit 2."""

    def missing(args: argparse.Namespace, manager: PluginManager) -> int:
        names = ", ".join(actions.choices)
        raise GamepitError(f"{parser.prog.removeprefix('gamepit ')}: name an action: {names} "
                           f"(see {parser.prog} --help)")

    return missing


# --------------------------------------------------------------------------- commands


def cmd_plugins(args: argparse.Namespace, manager: PluginManager) -> int:
    registry = manager.registry
    for kind in KINDS:
        if args.kind and kind != args.kind:
            continue
        names = registry.names(kind)
        print(f"{_plural(kind)} ({len(names)}):")
        for name in names:
            entry = registry.entries[kind][name]
            print(f"  {name:<16} {entry.description}")
            for option in entry.options:
                print(f"  {'':<16}   {option.describe()}  {option.help}")
            print(f"  {'':<16}   from {entry.origin}")
    if manager.errors:
        print(f"broken plugins ({len(manager.errors)}):", file=sys.stderr)
        for error in manager.errors:
            print(f"  {error}", file=sys.stderr)
    return 0


def cmd_replay_list(args: argparse.Namespace, manager: PluginManager) -> int:
    from gamepit.errors import ReplayError
    from gamepit.replay import list_replays, read_replay

    paths = list_replays(args.folder)
    if not paths:
        print(f"no replays in {args.folder}/")
        return 0
    for path in paths:
        try:
            replay = read_replay(path, allow_truncated=True)
        except ReplayError as error:
            print(f"{path}  bad replay: {str(error).removeprefix(f'{path}: ')}")
            continue
        header = replay.header
        print(f"{path}  {header['game']}  {' vs '.join(header['agents'])}  "
              f"{len(replay.steps)} steps  {replay.describe_result()}")
    return 0


SHOWN_MOVES = 40  # the moves ``replay show`` lists: the last ones, up to this many


def cmd_replay_show(args: argparse.Namespace, manager: PluginManager) -> int:
    from gamepit.replay import move_names, read_replay

    replay = read_replay(args.file, allow_truncated=True)
    total = len(replay.steps)
    step = total if args.step is None else args.step
    if not 0 <= step <= total:
        raise GamepitError(f"replay show: --step must be between 0 and {total}")
    state, names = move_names(replay, manager.registry, upto=step)
    header = replay.header
    print(f"{header['game']}: {' vs '.join(header['agents'])}  (seed {header['seed']}, "
          f"{header.get('created', 'no date')})")
    print(f"after {step} of {total} actions; result: {replay.describe_result()}")
    if step > 0:
        first = max(0, step - SHOWN_MOVES)
        moves = "  ".join(f"{i + 1}. {name}" for i, name in enumerate(names[first:], first))
        print(f"moves: {'... ' if first else ''}{moves}")
        last = replay.steps[step - 1]
        number = "" if names[-1] == str(last["action"]) else f" (action {last['action']})"
        print(f"last: player {last['player']} played {names[-1]}{number}  "
              f"info: {last.get('info', {})}")
    print(state.render())
    return 0


def cmd_replay_verify(args: argparse.Namespace, manager: PluginManager) -> int:
    from gamepit.replay import verify

    for file in args.files:
        print(verify(file, manager.registry))
    return 0


def cmd_replay_export(args: argparse.Namespace, manager: PluginManager) -> int:
    from gamepit.replay import read_replay

    source = Path(args.file)
    output = Path(args.output or source.with_suffix("." + args.fmt))
    if source.exists() and output.exists() and os.path.samefile(source, output):
        raise GamepitError(f"replay export: {output} is the replay itself; give another -o")
    replay = read_replay(source)
    writable_folder(output.parent, "replay export: output folder")
    if output.is_dir():
        raise GamepitError(f"replay export: {output} is a folder; give a file name with -o")
    exporter = exporters_of(manager).get(args.fmt)
    if exporter is not None:
        exporter(replay, manager.registry, output)
    else:
        game = manager.registry.make_game(replay.header["game"])
        try:
            text = game.export(replay, args.fmt)
        except NotImplementedError as error:
            raise GamepitError(f"replay export: {error}") from None
        with atomic_write(output) as partial:
            partial.write_text(text, encoding="utf-8")
    print(f"wrote {output}")
    return 0


class Progress:
    """A progress bar on an interactive terminal; silent otherwise. The total may be given
    when entering, or later through ``start`` (when it is known only once work is planned)."""

    def __init__(self, total: int, unit: str) -> None:
        self.total, self.unit, self.bar = total, unit, None

    def __enter__(self) -> Progress:
        self.start(self.total)
        return self

    def start(self, total: int, done: int = 0) -> None:
        self.total = total
        if self.bar is None and sys.stderr.isatty() and total > 1:
            from rich.progress import Progress as Bar

            self.bar = Bar(transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.unit, total=total, completed=done)

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _plural(kind: str) -> str:
    return "searches" if kind == "search" else kind + "s"


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        # --plugins must be known before the parser is built, since plugins add commands.
        pre = argparse.ArgumentParser(add_help=False)
        pre.add_argument("--plugins", action="append", default=[])
        known, _ = pre.parse_known_args(argv)
        manager = get_manager(known.plugins, refresh=True)
        parser = build_parser(manager)
        args = parser.parse_args(argv)
        grant_imports(args)  # only the command line grants imports, never a file it reads
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        if args.command != "plugins" and manager.errors:
            for error in manager.errors:
                print(f"gamepit: warning: {error}", file=sys.stderr)
        return int(args.func(args, manager) or 0)
    except GamepitError as error:
        print(f"gamepit: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gamepit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
