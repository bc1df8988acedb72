"""MuZero self-play speed: many games per forward pass against one game at a time.

    python benchmarks/muzero_selfplay.py [--game tictactoe] [--games 64] [--seconds 20]

Plays MuZero self-play (``SelfPlay`` of ``gamepit.learners.muzero.learner``) with the game's
shipped config (network, simulations) and counts positions (moves) per second:
  * batched: ``--games`` games side by side, every simulation one forward pass for all of
    their leaves (representation at the roots, dynamics and prediction at the leaves);
  * one at a time: the same network and search, one game, a forward pass per leaf;
  * Gumbel: the batched games with ``search: gumbel`` at the same simulations (issue 22: its
    speed should be close to PUCT's, on the same trees and batching).
The weights are random: speed does not depend on them (only game lengths do, a little).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time

import torch

from gamepit.files import load_yaml
from gamepit.learners.muzero import learner as muzero
from gamepit.plugins.manager import get_manager
from gamepit.training.settings import merge

ROOT = os.path.join(os.path.dirname(__file__), "..")


def positions_per_second(game, network, args, games: int, seconds: float) -> float:
    counter = iter(range(10**9))
    selfplay = muzero.SelfPlay(game, args, games, lambda: next(counter))
    played, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        played += selfplay.play(network, torch.device("cpu"), 1)[1]
    return played / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="tictactoe")
    parser.add_argument("--games", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--sims", type=int, default=0, help="simulations a move (0: config's)")
    options = parser.parse_args()
    torch.set_num_threads(1)
    config = load_yaml(os.path.join(ROOT, "configs", f"muzero_{options.game}.yaml"))
    args = merge(muzero.MuZeroArgs, "muzero", config)
    if options.sims:
        args = dataclasses.replace(args, sims=options.sims)
    game = get_manager().registry.make_game(args.game)
    network = muzero.build_network(muzero.network_shape(game, args)).eval()
    torch.manual_seed(0)
    batched = positions_per_second(game, network, args, options.games, options.seconds)
    alone = positions_per_second(game, network, args, 1, options.seconds)
    gumbel = positions_per_second(game, network, dataclasses.replace(args, search="gumbel"),
                                  options.games, options.seconds)
    print(f"MuZero self-play on {args.game}, {args.sims} simulations a move, network "
          f"hidden={args.hidden} width={args.width}, 1 torch thread, {platform.machine()}")
    print("| self-play | positions/s | ratio |")
    print("|---|---:|---:|")
    print(f"| {options.games} games per forward pass | {batched:,.0f} | {batched / alone:.1f}x |")
    print(f"| one game at a time | {alone:,.0f} | 1.0x |")
    print(f"| {options.games} games, Gumbel search | {gumbel:,.0f} | {gumbel / alone:.1f}x |")


if __name__ == "__main__":
    main()
