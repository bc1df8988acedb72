"""Soak: AlphaZero self-play on Ray for a long while, with the memory of the driver and of each
Ray worker sampled, to show it stays flat (muzero-general #157 grew without bound from an
unbounded backlog of remote calls; #102 from a replay-buffer actor).

The loop is the learner's own pieces: a Ray pool of ``SelfPlayWorker``s, ``self_play_round``
(one ``ray.put`` of the network a round, at most one call in flight per worker), the replay
buffer in the driver (small, so it is full after the first minutes and cannot hide a leak as
growth), and gradient steps between rounds. Prints a row a sample and a verdict at the end.

    python benchmarks/ray_soak.py --minutes 20 --workers 2
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from gamepit.backends.ray import RayPool, import_ray
from gamepit.learners.alphazero.learner import (
    AlphaZeroArgs,
    ReplayBuffer,
    SelfPlayWorker,
    augment,
    build_network,
    network_shape,
    self_play_round,
    shape_of,
    train_step,
)
from gamepit.plugins.manager import get_manager


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB, from /proc (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--game", default="tictactoe")
    parser.add_argument("--sample-seconds", type=float, default=30.0)
    options = parser.parse_args()
    ray = import_ray()
    ray.init(address="local", num_cpus=options.workers, include_dashboard=False,
             logging_level="WARNING")
    args = AlphaZeroArgs(game=options.game, selfplay_games=16, sims=16, filters=16, blocks=1,
                         buffer_size=4000, batch_size=64, train_steps=5, device="cpu",
                         backend="ray", workers=options.workers)
    torch.set_num_threads(1)
    game = get_manager().registry.make_game(args.game)
    shape = network_shape(game, args)
    network = build_network(shape).eval()
    optimizer = torch.optim.AdamW(network.parameters(), lr=args.learning_rate)
    buffer = ReplayBuffer(args.buffer_size, shape_of(shape), shape["num_actions"],
                          game.observation_dtype)
    rng = np.random.default_rng(0)
    pool = RayPool(options.workers, SelfPlayWorker, (None, args, shape, "cpu"))
    pids = [pool.pid(worker) for worker in range(pool.size)]
    print(f"soak: {options.minutes:g} min of {args.game} self-play on Ray, {pool.size} "
          f"workers (pids {pids}), driver pid {os.getpid()}", flush=True)
    print(f"{'minute':>7} {'rounds':>7} {'positions':>10} {'driver MiB':>11} "
          + " ".join(f"{'worker' + str(i) + ' MiB':>12}" for i in range(pool.size)), flush=True)
    samples: list[list[float]] = []
    started = next_sample = time.perf_counter()
    rounds = positions = 0
    try:
        while time.perf_counter() - started < options.minutes * 60:
            batch = self_play_round(pool, network, rounds, args, rng)
            buffer.add(*augment(game, batch))
            positions += batch.moves
            network.train()
            for _ in range(args.train_steps):
                train_step(network, optimizer, buffer.sample(args.batch_size, rng),
                           torch.device("cpu"), args)
            network.eval()
            rounds += 1
            if time.perf_counter() >= next_sample:
                row = [rss_mb(os.getpid())] + [rss_mb(pid) for pid in pids]
                samples.append(row)
                minute = (time.perf_counter() - started) / 60
                print(f"{minute:7.1f} {rounds:7d} {positions:10d} {row[0]:11.1f} "
                      + " ".join(f"{value:12.1f}" for value in row[1:]), flush=True)
                next_sample += options.sample_seconds
    finally:
        pool.close()
        ray.shutdown()
    table = np.array(samples)
    quarter = max(1, len(table) // 4)
    # The first quarter is warm-up (imports, the buffer filling); compare the second with the
    # last, process by process.
    early = table[quarter:2 * quarter].mean(axis=0) if len(table) >= 4 else table[0]
    late = table[-quarter:].mean(axis=0)
    growth = late - early
    names = ["driver"] + [f"worker{i}" for i in range(len(pids))]
    print("growth from the second quarter to the last, MiB: "
          + ", ".join(f"{name} {value:+.1f}" for name, value in zip(names, growth, strict=True)))
    flat = bool(np.all(growth < np.maximum(10.0, 0.05 * early)))
    print(f"memory {'flat' if flat else 'GROWING'} (flat: under 10 MiB or 5% growth per "
          f"process) over {rounds} rounds, {positions} positions, "
          f"{(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
