"""Go 9x9 speed: random-playout moves per second, clone cost and observation cost of gamepit's
go next to PettingZoo's go_v5 and OpenSpiel's engine called directly, side by side.

    python benchmarks/go_speed.py [--seconds 3] [--size 9]

Playout rows give moves per wall second and per CPU second, and their ratios to each peer both
ways (per CPU second holds when other jobs share the machine). Playouts play whole games with
uniformly random legal moves (pass included) for about --seconds per row. gamepit and OpenSpiel
end a game at two passes or 2 x size^2 moves; PettingZoo's go_v5 at two passes. Clones are
taken at a position 40 random moves in; PettingZoo has no clone, so its row is a deep copy of
the live environment (``clone_env`` from the PettingZoo bridge: plain ``copy.deepcopy``
rebuilds a fresh game), as a search would have to do.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from collections.abc import Callable
from typing import Any

import pyspiel
from board_games import (  # run as a script: benchmarks/ is on path
    aec_playouts,
    openspiel_playouts,
    state_playouts,
)
from clock import load
from pettingzoo.classic import go_v5

from gamepit.faces import aec_env
from gamepit.games.go.rules import Go
from gamepit.games.pettingzoo_bridge import clone_env


def microseconds(function: Callable[[], Any], seconds: float) -> float:
    """Mean time of one call, from as many calls as fit in about ``seconds``."""
    calls, started = 0, time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):
            function()
        calls += 50
    return (time.perf_counter() - started) / calls * 1e6


def midgame(apply_random: Callable[[random.Random], None], moves: int = 40) -> None:
    rng = random.Random(1)
    for _ in range(moves):
        apply_random(rng)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per row")
    parser.add_argument("--size", type=int, default=9, help="board size (default 9)")
    args = parser.parse_args()
    size, seconds = args.size, args.seconds
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, open_spiel {getattr(pyspiel, '__version__', '?')}"
          f"; go {size}x{size}; {seconds:g}s per row; {load()}\n")

    game = Go(size=size, komi=7.5)
    spiel_game = pyspiel.load_game("go", {"board_size": size, "komi": 7.5})
    pettingzoo_env = go_v5.env(board_size=size, komi=7.5)

    rates = {
        "gamepit go (state)": state_playouts(game, seconds),
        "gamepit go (AEC face)": aec_playouts(aec_env(game), seconds),
        "PettingZoo go_v5 (AEC)": aec_playouts(pettingzoo_env, seconds),
        "OpenSpiel go (direct)": openspiel_playouts(spiel_game, seconds),
    }
    peers = {"gamepit": rates["gamepit go (state)"],
             "PettingZoo": rates["PettingZoo go_v5 (AEC)"],
             "OpenSpiel": rates["OpenSpiel go (direct)"]}
    print(f"{'random playouts':<26} {'moves/s':>11} {'moves/CPU-s':>12} "
          + " ".join(f"{'vs ' + p + ' (wall, CPU)':>27}" for p in peers))
    for label, rate in rates.items():
        print(f"{label:<26} {rate.wall:>11,.0f} {rate.cpu:>12,.0f} "
              + " ".join(f"{rate.ratios(peer):>27}" for peer in peers.values()))

    # Clone cost at the same depth into a game for each engine.
    state = game.new_state()
    midgame(lambda rng: state.apply(_random_point(state.legal_actions(), game.pass_action, rng)))
    spiel_state = spiel_game.new_initial_state()
    midgame(lambda rng: spiel_state.apply_action(
        _random_point(spiel_state.legal_actions(), size * size, rng)))
    pettingzoo_env.reset(seed=1)

    def pettingzoo_step(rng: random.Random) -> None:
        mask = pettingzoo_env.last()[0]["action_mask"]
        pettingzoo_env.step(_random_point(mask.nonzero()[0].tolist(), size * size, rng))

    midgame(pettingzoo_step)
    clones = {
        "gamepit go (state)": microseconds(state.clone, seconds / 2),
        "PettingZoo go_v5 (deepcopy)": microseconds(lambda: clone_env(pettingzoo_env),
                                                    seconds / 2),
        "OpenSpiel go (direct)": microseconds(spiel_state.clone, seconds / 2),
    }
    clone_peers = list(clones.values())
    print(f"\n{'clone at move 40':<28} {'us/clone':>9} "
          + " ".join(f"{'vs ' + p:>14}" for p in peers))
    for label, cost in clones.items():
        # A cost ratio: above 1x means this row is that many times slower than the peer.
        print(f"{label:<28} {cost:>9.2f} "
              + " ".join(f"{cost / peer:>13.2f}x" for peer in clone_peers))

    # Observation planes of a new position: what a network pays per position it evaluates.
    player = state.current_player
    action = _random_point(state.legal_actions(), game.pass_action, random.Random(2))
    state.observation(player)  # the parent's boards are cached, as along a played game

    def child_planes(rebuild: bool) -> None:
        child = state.clone()
        if rebuild:
            child._boards = None  # as if no ancestor was ever observed
        child.apply(action)
        child.observation(player)

    base = microseconds(lambda: state.clone().apply(action), seconds / 2)
    print(f"\n{'17 observation planes':<34} {'us':>9}")
    print(f"{'gamepit, parent observed':<34} "
          f"{microseconds(lambda: child_planes(False), seconds / 2) - base:>9.2f}")
    print(f"{'gamepit, rebuilt from the moves':<34} "
          f"{microseconds(lambda: child_planes(True), seconds / 2) - base:>9.2f}")
    agent = pettingzoo_env.agent_selection
    print(f"{'PettingZoo go_v5 observe()':<34} "
          f"{microseconds(lambda: pettingzoo_env.observe(agent), seconds / 2):>9.2f}")


def _random_point(legal: list[int], pass_action: int, rng: random.Random) -> int:
    points = [a for a in legal if a != pass_action]
    return points[rng.randrange(len(points))] if points else pass_action


if __name__ == "__main__":
    main()
