"""``gamepit replay``: list, show, verify and export replay files."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from gamepit.cli import add_command
from gamepit.errors import GamepitError, ReplayError, SpecError
from gamepit.files import atomic_write, writable_folder
from gamepit.plugins.manager import PluginManager
from gamepit.protocols import HasActionNames, State
from gamepit.replay import Replay, read_replay, simulate, verify
from gamepit.replay.format import DEFAULT_FOLDER, SUFFIX

SHOWN_MOVES = 40  # the moves ``replay show`` lists: the last ones, up to this many


def with_plugin_hint(command: Any) -> Any:
    """A replay of a game that a plugin adds names a game this run does not know: say how to
    load the plugin instead of only listing the games there are."""
    def run(args: argparse.Namespace, manager: PluginManager) -> int:
        try:
            return command(args, manager)
        except SpecError as error:
            if not str(error).startswith("unknown game"):
                raise
            name = str(error).split("'")[1] if "'" in str(error) else "its game"
            raise GamepitError(f"the replay's game {name!r} is not known here: it comes from a "
                               "plugin? load it with gamepit --plugins PATH replay ...") from None
    return run


def add_replay_command(subparsers: argparse._SubParsersAction, manager: PluginManager) -> None:
    p = add_command(subparsers, "replay", "List, show, verify and export recorded replays.",
                    "gamepit replay list\ngamepit replay show replays/FILE.jsonl --step 5\n"
                    "gamepit replay verify replays/FILE.jsonl\n"
                    "gamepit replay export replays/FILE.jsonl --format html")
    actions = p.add_subparsers(dest="replay_command", metavar="ACTION")
    q = add_command(actions, "list",
                    "List the replays in a folder (and its subfolders): game, agents, steps, "
                    "result; a damaged file is marked, not fatal.",
                    "gamepit replay list\ngamepit replay list runs/tournament/replays")
    q.add_argument("folder", nargs="?", default=DEFAULT_FOLDER,
                   help=f"folder to search (default {DEFAULT_FOLDER}/)")
    q.set_defaults(func=cmd_replay_list)
    q = add_command(actions, "show",
                    "Show a replay's board after a number of moves, with the moves in the "
                    "game's notation (chess SAN, Go vertices).",
                    "gamepit replay show replays/FILE.jsonl\n"
                    "gamepit replay show replays/FILE.jsonl --step 5")
    q.add_argument("file", help="a replay file (.jsonl)")
    q.add_argument("--step", type=int, default=None, help="after this many actions (default all)")
    q.set_defaults(func=with_plugin_hint(cmd_replay_show))
    q = add_command(actions, "verify",
                    "Re-simulate replays and check every record against the simulation: "
                    "players, actions, rewards, state hashes, the result and any forfeit.",
                    "gamepit replay verify replays/FILE.jsonl\n"
                    "gamepit replay verify replays/*.jsonl")
    q.add_argument("files", nargs="+", metavar="FILE", help="replay files (.jsonl)")
    q.set_defaults(func=with_plugin_hint(cmd_replay_verify))
    exporters = ["sgf", "pgn"] + sorted(exporters_of(manager))
    q = add_command(actions, "export",
                    f"Export a replay: {', '.join(exporters)} (sgf for go, pgn for chess). "
                    "The output never replaces the replay itself.",
                    "gamepit replay export replays/FILE.jsonl --format html\n"
                    "gamepit replay export replays/FILE.jsonl --format sgf -o game.sgf")
    q.add_argument("file", help="a replay file (.jsonl)")
    q.add_argument("--format", required=True, dest="fmt", choices=exporters)
    q.add_argument("-o", "--output", default=None, help="output file (default: beside the replay)")
    q.set_defaults(func=with_plugin_hint(cmd_replay_export))

    def missing_action(args: argparse.Namespace, manager: PluginManager) -> int:
        raise GamepitError(f"replay: name an action: {', '.join(actions.choices)} "
                           f"(see {p.prog} --help)")

    p.set_defaults(func=missing_action)


def exporters_of(manager: PluginManager) -> dict[str, Any]:
    """Replay export formats contributed by plugins (the viewer's html, mp4, gif)."""
    found: dict[str, Any] = {}
    for contributed in manager.call("gamepit_add_exporters"):
        found.update(contributed or {})
    return found


def list_replays(folder: str | Path) -> list[Path]:
    """The regular ``*.jsonl`` files under ``folder`` (FIFOs and other oddities are skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReplayError(f"{folder}: {'not a' if folder.exists() else 'no such'} folder")
    return sorted(path for path in folder.rglob(f"*{SUFFIX}") if path.is_file())


def move_names(replay: Replay, registry: Any, upto: int | None = None
               ) -> tuple[State, list[str]]:
    """Re-simulate (unchecked) and name each move in the game's notation, in its position where
    the state can (chess SAN from ``State.action_to_string``), else by the game (Go ``D4``)."""
    game = registry.make_game(replay.header["game"])
    names: list[str] = []

    def name(state: State, step: dict[str, Any]) -> None:
        namer = (state.action_to_string if isinstance(state, HasActionNames)
                 else game.action_to_string)
        try:
            names.append(str(namer(step["action"])))
        except Exception:  # noqa: BLE001 - a name is a nicety; the number still shows
            names.append(str(step["action"]))

    state, _ = simulate(replay, registry, upto, check=False, before=name, game=game)
    return state, names


def cmd_replay_list(args: argparse.Namespace, manager: PluginManager) -> int:
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


def cmd_replay_show(args: argparse.Namespace, manager: PluginManager) -> int:
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
    for file in args.files:
        print(verify(file, manager.registry))
    return 0


def cmd_replay_export(args: argparse.Namespace, manager: PluginManager) -> int:
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
