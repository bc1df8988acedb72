"""The bridges' cost: random-playout moves per second and clone time of ``openspiel:GAME`` and
``pettingzoo:MODULE`` next to gamepit's native games and the raw engines, side by side.

    python benchmarks/bridges.py [--seconds 1] [--repeats 5]

Rows in a group play the same game. "raw pyspiel" drives OpenSpiel directly (what the bridge
wraps); "raw PettingZoo AEC" is PettingZoo's own agent_iter loop. Clones are taken 10 random
moves in (4 in tic-tac-toe); the PettingZoo bridge clones by deep-copying the live environment
(``clone_env``), since ``copy.deepcopy`` alone rebuilds a fresh environment. The ratio column
compares each row's moves per second with the group's first row, per wall second and per CPU
second (the second holds when other jobs share the machine).
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import pyspiel
from board_games import (  # run as a script: benchmarks/ is on path
    aec_playouts,
    openspiel_playouts,
    state_playouts,
)
from clock import Rate, load

from gamepit.plugins.manager import PluginManager


def clone_microseconds(clone: Callable[[], Any], seconds: float) -> float:
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds / 4:
        clone()
        count += 1
    return (time.perf_counter() - started) / count * 1e6


def mid_game(state: Any, moves: int) -> Any:
    rng = random.Random(1)
    for _ in range(moves):
        legal = state.legal_actions()
        state.apply(legal[rng.randrange(len(legal))])
    return state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per row (default 1)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="measurements a row, the rows taking turns; the median is shown")
    args = parser.parse_args()
    registry = PluginManager(autoload=False).registry
    groups = {
        "tic-tac-toe": [("gamepit native", "tictactoe"),
                        ("openspiel bridge", "openspiel:tic_tac_toe"),
                        ("raw pyspiel", "tic_tac_toe"),
                        ("pettingzoo bridge", "pettingzoo:classic.tictactoe_v3"),
                        ("raw PettingZoo AEC", "classic/tictactoe-v3")],
        "connect four": [("gamepit native", "connect_four"),
                         ("openspiel bridge", "openspiel:connect_four"),
                         ("raw pyspiel", "connect_four"),
                         ("pettingzoo bridge", "pettingzoo:classic.connect_four_v3"),
                         ("raw PettingZoo AEC", "classic/connect_four-v3")],
        "chess": [("openspiel bridge", "openspiel:chess"), ("raw pyspiel", "chess"),
                  ("pettingzoo bridge", "pettingzoo:classic.chess_v6"),
                  ("raw PettingZoo AEC", "classic/chess-v6")],
    }
    moves_in = {"tic-tac-toe": 4, "connect four": 10, "chess": 10}
    print(f"machine: {platform.machine()} {platform.processor() or ''}, "
          f"python {platform.python_version()}, {args.seconds:g}s per row, median of "
          f"{args.repeats}, {load()} before")
    print(f"{'game':<13} {'implementation':<20} {'moves/s':>10} {'ratio':>7} "
          f"{'moves/CPU-s':>12} {'per CPU-s':>10} {'clone us':>9}")
    for group, rows in groups.items():
        speeds: dict[str, list[Rate]] = {label: [] for label, _ in rows}
        clones: dict[str, float] = {}
        for repeat in range(args.repeats):  # rows take turns, so load falls on all of them
            turn = rows[repeat % len(rows):] + rows[:repeat % len(rows)]
            for label, target in turn:
                speeds[label].append(measure(label, target, group, registry, args.seconds,
                                             moves_in, clones))
        first = None
        for label, _ in rows:
            speed = Rate(statistics.median(r.wall for r in speeds[label]),
                         statistics.median(r.cpu for r in speeds[label]))
            first = first or speed
            print(f"{group:<13} {label:<20} {speed.wall:>10,.0f} {speed.wall / first.wall:>6.2f}x "
                  f"{speed.cpu:>12,.0f} {speed.cpu / first.cpu:>9.2f}x "
                  f"{clones.get(label, float('nan')):>9.1f}")
    print(f"{load()} after")


def measure(label: str, target: str, group: str, registry: Any, seconds: float,
            moves_in: dict[str, int], clones: dict[str, float]) -> Rate:
    """Moves per second of one row; its clone time goes into ``clones`` the first time."""
    if label == "raw pyspiel":
        speed = openspiel_playouts(pyspiel.load_game(target), seconds)
        native = pyspiel.load_game(target).new_initial_state()
        clones.setdefault(label, clone_microseconds(native.clone, seconds))
        return speed
    if label == "raw PettingZoo AEC":
        import pettingzoo

        return aec_playouts(pettingzoo.make("aec", target), seconds)
    game = registry.make_game(target)
    speed = state_playouts(game, seconds)
    if label not in clones:
        position = mid_game(game.new_state(0), moves_in[group])
        clones[label] = clone_microseconds(position.clone, seconds)
    return speed

if __name__ == "__main__":
    main()
