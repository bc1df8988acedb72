"""The executor backends side by side: tournament games per second and AlphaZero self-play
positions per second in this process, in 1 and 2 worker processes and on 1 and 2 Ray workers
(a local Ray started once by this script, as ``ray.init(num_cpus=2)``), with the ratio of Ray
to worker processes at the same worker count (the goal: at least 0.9 at 2 workers); and whether
the three backends wrote identical ledgers for the same seeds.

    python benchmarks/backends.py --games 100 --rounds 20 --selfplay-games 64 --repeats 3

Tournament rows include starting their workers (processes or actors), as a real run does;
self-play rows time ``--rounds`` rounds after one warm-up round (a training run lives long,
so its workers' start-up does not count). Each row is measured ``--repeats`` times, the rows
taking turns in a rotating order so that a change in the machine's load falls on all of them;
the table shows the median and the range. On a shared machine, read the ratios, and name the
machine when quoting them.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import tempfile
from pathlib import Path

import numpy as np
import torch
from clock import Rate, clocked, load  # a sibling script, not a package

from gamepit.backends import open_pool
from gamepit.backends.ray import import_ray
from gamepit.learners.alphazero.learner import (
    AlphaZeroArgs,
    SelfPlayWorker,
    build_network,
    network_shape,
    self_play_round,
)
from gamepit.plugins.manager import PluginManager
from gamepit.tournament.config import TournamentConfig
from gamepit.tournament.run import run_tournament
from gamepit.training.settings import as_plain_dict

ROWS = [("inprocess", 0), ("processes", 1), ("ray", 1), ("processes", 2), ("ray", 2)]


def tournament(manager: PluginManager, backend: str, workers: int, games: int,
               agents: list[str], folder: Path) -> tuple[Rate, Path]:
    ledger = folder / f"{backend}-{workers}.sqlite"
    config = TournamentConfig(game="connect_four", agents=list(agents), games_per_pair=games,
                              workers=workers, backend=backend, ledger=str(ledger))
    with clocked(descendants=True) as spent:
        outcome = run_tournament(config, manager)
    return Rate.of(outcome.played_now, spent), ledger


def ledger_rows(path: Path) -> list[tuple]:
    with sqlite3.connect(str(path)) as connection:
        return sorted(connection.execute(
            "SELECT pairing, game_index, agents, seed, returns, steps, forfeit_seat, "
            "forfeit_reason FROM results").fetchall())


def self_play(manager: PluginManager, backend: str, workers: int, rounds: int,
              args: AlphaZeroArgs) -> Rate:
    game = manager.registry.make_game(args.game)
    shape = network_shape(game, args)
    network = build_network(shape).eval()
    here = workers == 0
    rng = np.random.default_rng(0)
    settings = AlphaZeroArgs(**{**as_plain_dict(args), "backend": backend, "workers": workers})
    with open_pool(backend, workers, SelfPlayWorker,
                   (manager if here else None, settings, shape, "cpu")) as pool:
        self_play_round(pool, network, 0, settings, rng)  # warm-up: workers start, import
        with clocked(descendants=True) as spent:
            positions = sum(self_play_round(pool, network, version, settings, rng).moves
                            for version in range(1, rounds + 1))
        return Rate.of(positions, spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=20, help="games per pairing (default 20)")
    parser.add_argument("--agents", nargs="+", default=["random", "alphabeta:depth=2",
                                                         "mcts:sims=30"],
                        help="tournament agents (default random alphabeta:depth=2 "
                             "mcts:sims=30)")
    parser.add_argument("--rounds", type=int, default=4, help="self-play rounds timed")
    parser.add_argument("--selfplay-games", type=int, default=32,
                        help="games a self-play round (default 32)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="measurements of each row, medians shown (default 3)")
    options = parser.parse_args()
    torch.set_num_threads(1)
    ray = import_ray()
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
    manager = PluginManager(autoload=False)
    pairs = len(options.agents) * (len(options.agents) - 1) // 2
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; Ray {ray.__version__}, "
          "local, num_cpus=2")
    print(f"tournament: connect four, {' '.join(options.agents)}, {options.games} games per "
          f"pairing ({pairs * options.games} games); self-play: AlphaZero tictactoe, "
          f"{options.selfplay_games} games a round, 16 simulations, {options.rounds} rounds")
    args = AlphaZeroArgs(game="tictactoe", selfplay_games=options.selfplay_games, sims=16,
                         filters=16, blocks=1, device="cpu")
    measured: dict[tuple[str, int], list[tuple[Rate, Rate]]] = {row: [] for row in ROWS}
    rows: dict[tuple[str, int, int], list[tuple]] = {}
    started = load()
    for repeat in range(options.repeats):
        order = ROWS[repeat % len(ROWS):] + ROWS[:repeat % len(ROWS)]
        with tempfile.TemporaryDirectory() as folder:
            for backend, workers in order:
                games_per_second, ledger = tournament(manager, backend, workers,
                                                      options.games, options.agents,
                                                      Path(folder))
                positions = self_play(manager, backend, workers, options.rounds, args)
                measured[(backend, workers)].append((games_per_second, positions))
                rows[(backend, workers, repeat)] = ledger_rows(ledger)
    ray.shutdown()

    def median(values: list[Rate]) -> Rate:
        return Rate(float(np.median([v.wall for v in values])),
                    float(np.median([v.cpu for v in values])))

    medians = {row: (median([m[0] for m in values]), median([m[1] for m in values]))
               for row, values in measured.items()}
    print(f"\n{started} before, {load()} after; per CPU second: this process and every "
          "process below it (workers, Ray's raylet and workers)")
    print(f"{'backend':<10} {'workers':>7} {'games/s':>9} {'range':>11} {'per CPU-s':>10} "
          f"{'vs processes':>13} {'positions/s':>12} {'range':>11} {'per CPU-s':>10} "
          f"{'vs processes':>13}")
    for (backend, workers), (games, positions) in medians.items():
        peer = medians.get(("processes", workers))
        ratio = games.ratios(peer[0]) if peer and backend == "ray" else ""
        ratio_play = positions.ratios(peer[1]) if peer and backend == "ray" else ""
        spread = measured[(backend, workers)]
        games_range = f"{min(m[0].wall for m in spread):.0f}-{max(m[0].wall for m in spread):.0f}"
        play_range = f"{min(m[1].wall for m in spread):.0f}-{max(m[1].wall for m in spread):.0f}"
        print(f"{backend:<10} {workers:>7} {games.wall:>9.2f} {games_range:>11} "
              f"{games.cpu:>10.2f} {ratio:>13} {positions.wall:>12.1f} {play_range:>11} "
              f"{positions.cpu:>10.1f} {ratio_play:>13}")
    print("(vs processes: Ray's rate over the processes backend's at the same worker count, "
          "per wall second, then per CPU second)")
    reference = rows[("inprocess", 0, 0)]
    same = all(value == reference for value in rows.values())
    print(f"\nledgers identical across backends, worker counts and repeats (seeds, seats, "
          f"returns, steps, forfeits): {'yes' if same else 'NO'} ({len(reference)} games "
          f"each, {len(rows)} ledgers)")


if __name__ == "__main__":
    main()
