"""Go as a gamepit plugin: the ``go`` game and the ``gamepit gtp`` command.

- ``rules``: the game itself (state, scoring, moves as text, symmetries, SGF export).
- ``gtp``: the Go Text Protocol engine that lets any agent play Go for GTP controllers.

This module only registers them. Imports run one way: this package's ``__init__`` -> ``gtp``
-> ``rules``; ``rules`` imports neither.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gamepit.games.go.gtp import GtpEngine
from gamepit.games.go.rules import MAX_HISTORY, MAX_KOMI, MAX_MOVES, MAX_SIZE, Go
from gamepit.plugins import hookimpl
from gamepit.protocols import Option
from gamepit.protocols import game as game_entry
from gamepit.specs import number_arg, seed_arg


@hookimpl
def gamepit_add_games() -> list:
    return [game_entry(
        "go", Go, "Go with area scoring (OpenSpiel's engine), AlphaGo Zero planes, SGF export.",
        [Option("size", int, 9, "board size: 9, 13 or 19 (any of 2..19 works)",
                low=2, high=MAX_SIZE),
         Option("komi", float, 7.5, "points given to White", low=-MAX_KOMI, high=MAX_KOMI),
         Option("history", int, 8, "boards per player in the observation (planes = 2H+1)",
                low=1, high=MAX_HISTORY),
         Option("max_moves", int, 0, "move cap where the board is scored (0: 2 x size^2)",
                low=0, high=MAX_MOVES)])]


@hookimpl
def gamepit_add_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gtp", help="Run an agent as a Go engine speaking GTP v2 on stdin/stdout.",
        description="Run an agent as a Go engine speaking GTP version 2 on stdin and stdout,\n"
                    "for GUIs (Sabaki, GoGui), servers and other engines (GnuGo).",
        epilog="examples:\n  gamepit gtp --agent random\n"
               "  gamepit gtp --agent alphabeta:depth=2 --size 13 --komi 6.5\n"
               "  gogui-twogtp -black 'gamepit gtp --agent random' "
               "-white 'gnugo --mode gtp' -size 9",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agent", default="random", help="agent spec (default random)")
    parser.add_argument("--size", type=number_arg(int, 2, MAX_SIZE), default=9,
                        help="board size until boardsize (9)")
    parser.add_argument("--komi", type=number_arg(float, -MAX_KOMI, MAX_KOMI), default=7.5,
                        help="komi until komi (7.5)")
    parser.add_argument("--seed", type=seed_arg, default=0, help="seed handed to the agent (0)")
    parser.set_defaults(func=cmd_gtp)


def cmd_gtp(args: argparse.Namespace, manager: Any) -> int:
    """Serve GTP until ``quit`` or the end of input."""
    registry = manager.registry

    def make_game(size: int, komi: float) -> Go:
        # A controller ends GTP games with passes; the cap only keeps a runaway game finite.
        return registry.make_game(f"go:size={size},komi={komi},max_moves={10 * size * size}")

    agent = registry.make_agent(args.agent)  # a bad spec fails here, before any GTP is spoken
    engine = GtpEngine(make_game, agent, size=args.size, komi=args.komi, seed=args.seed)
    protocol_out = sys.stdout
    sys.stdout = sys.stderr  # whatever an agent prints must not corrupt the protocol stream
    try:
        return engine.serve(sys.stdin.buffer, protocol_out)  # bytes: bad UTF-8 gets a '?'
    finally:
        sys.stdout = protocol_out
        agent.close()
