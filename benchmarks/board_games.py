"""Random-playout moves per second: gamepit's native tic-tac-toe and connect four next to
PettingZoo's tictactoe_v3 and connect_four_v3, run side by side in this script.

    python benchmarks/board_games.py [--seconds 3]

Each row plays whole games with uniformly random legal moves for about --seconds and counts
moves. "gamepit state" drives the simulator face (what search and the arena use); "gamepit AEC"
drives gamepit's PettingZoo face of the same game, so it pays the same API costs as PettingZoo.
"""

from __future__ import annotations

import argparse
import platform
import random
import time

from clock import Rate, clocked, load  # a sibling script, not a package
from pettingzoo.classic import connect_four_v3, tictactoe_v3

from gamepit.faces import aec_env
from gamepit.games.connect_four import ConnectFour
from gamepit.games.tictactoe import TicTacToe


def random_playouts(new_state, apply: str, seconds: float) -> Rate:
    """Random moves per wall and per CPU second on states from ``new_state()``, each move
    applied by the state's method named ``apply`` (gamepit's ``apply``, pyspiel's
    ``apply_action``); both APIs have ``legal_actions`` and ``is_terminal``."""
    rng = random.Random(0)
    moves, deadline = 0, time.perf_counter() + seconds
    with clocked() as spent:
        while time.perf_counter() < deadline:
            state = new_state()
            play = getattr(state, apply)
            while not state.is_terminal():
                legal = state.legal_actions()
                play(legal[rng.randrange(len(legal))])
                moves += 1
    return Rate.of(moves, spent)


def state_playouts(game, seconds: float) -> Rate:
    """Random moves per wall and per CPU second through the State protocol."""
    return random_playouts(game.new_state, "apply", seconds)


def openspiel_playouts(spiel_game, seconds: float) -> Rate:
    """Random moves per wall and per CPU second on OpenSpiel's own states (pyspiel direct)."""
    return random_playouts(spiel_game.new_initial_state, "apply_action", seconds)


def aec_playouts(env, seconds: float) -> Rate:
    """Random moves per wall and per CPU second through a PettingZoo AEC environment."""
    rng = random.Random(0)
    moves, deadline = 0, time.perf_counter() + seconds
    with clocked() as spent:
        while time.perf_counter() < deadline:
            env.reset(seed=rng.randrange(1 << 30))
            for _agent in env.agent_iter():
                observation, _, termination, truncation, _ = env.last()
                if termination or truncation:
                    action = None
                else:
                    legal = observation["action_mask"].nonzero()[0]
                    action = int(legal[rng.randrange(len(legal))])
                    moves += 1
                env.step(action)
    return Rate.of(moves, spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per row")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, python "
          f"{platform.python_version()}; {args.seconds:g}s per row; {load()}\n")
    print(f"{'game':<14} {'implementation':<26} {'moves/s':>12} {'vs PettingZoo':>14} "
          f"{'moves/CPU-s':>12} {'per CPU-s':>10}")
    for name, game, peer in (("tictactoe", TicTacToe(), tictactoe_v3.env()),
                             ("connect_four", ConnectFour(), connect_four_v3.env())):
        peer_rate = aec_playouts(peer, args.seconds)
        rows = [("gamepit state", state_playouts(game, args.seconds)),
                ("gamepit AEC", aec_playouts(aec_env(game), args.seconds)),
                (f"PettingZoo {peer.metadata['name']}", peer_rate)]
        for label, rate in rows:
            print(f"{name:<14} {label:<26} {rate.wall:>12,.0f} "
                  f"{rate.wall / peer_rate.wall:>13.1f}x {rate.cpu:>12,.0f} "
                  f"{rate.cpu / peer_rate.cpu:>9.1f}x")


if __name__ == "__main__":
    main()
