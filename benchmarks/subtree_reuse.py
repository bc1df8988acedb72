"""What subtree reuse buys a search agent: each agent with ``reuse=true`` against itself with
``reuse=false`` (the peer), at connect four, seats alternating, every pair of games opening
with the same ``--opening`` random moves. Printed per agent: the reusing agent's score with its
95% Wilson interval, the mean root visits of its moves after the first (the simulations
it searched plus those its earlier search left below the position) against the peer's, and the
tree nodes the reusing agent still keeps once every game has ended (each game's last subtree,
held until the agent's next reset: what a tournament worker carries between lockstep groups).

    python benchmarks/subtree_reuse.py
    python benchmarks/subtree_reuse.py --games 100 --agents mcts:sims=1000

The games of each agent are played in lockstep (one batched search a move for all of them),
the way tournaments play them, so this also measures reuse on the path matches use.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from gamepit.arena import MatchSettings, SeriesResult, play_lockstep
from gamepit.plugins.manager import PluginManager
from gamepit.replay import read_replay

DEFAULT_AGENTS = ["mcts:sims=200", "mcts:sims=1000",
                  "alphazero:checkpoint=builtin:connect_four,sims=100"]


def duel(manager: PluginManager, spec: str, games: int, opening: int, seed: int
         ) -> tuple[SeriesResult, float, float, int, float]:
    """``games`` games of ``spec`` with reuse against itself without; returns the series
    from the reusing side, the mean root visits of both sides' later moves, the nodes the
    reusing agent keeps after the games, and seconds."""
    registry = manager.registry
    game = registry.make_game("connect_four")
    specs = [f"{spec},reuse=true", f"{spec},reuse=false"]
    reusing, fresh = (registry.make_agent(s, game) for s in specs)
    seatings = [[reusing, fresh] if i % 2 == 0 else [fresh, reusing] for i in range(games)]
    labels = [specs if i % 2 == 0 else specs[::-1] for i in range(games)]
    seeds = [seed + i // 2 for i in range(games)]
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        results = play_lockstep(game, seatings, seeds, labels,
                                settings=MatchSettings(replay_dir=folder, manager=manager,
                                                       opening_moves=opening))
        seconds = time.perf_counter() - started
        visits: dict[str, list[int]] = {specs[0]: [], specs[1]: []}
        for path in Path(folder).glob("*.jsonl"):
            replay = read_replay(path)
            moved: set[int] = set()
            for step in replay.steps:
                counts = (step.get("info") or {}).get("visit_counts")
                if counts is None:
                    continue
                if step["player"] in moved:  # a later move: the one reuse can help
                    visits[replay.header["agents"][step["player"]]].append(int(sum(counts)))
                moved.add(step["player"])
    series = SeriesResult((specs[0], specs[1]))
    for i, result in enumerate(results):
        outcome = result.outcome(0 if i % 2 == 0 else 1)
        series.wins += outcome == 1.0
        series.draws += outcome == 0.5
        series.losses += outcome == 0.0
    return (series, float(np.mean(visits[specs[0]])), float(np.mean(visits[specs[1]])),
            reusing.kept.nodes(), seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", nargs="+", default=DEFAULT_AGENTS, metavar="SPEC")
    parser.add_argument("--games", type=int, default=60, help="games per agent (even)")
    parser.add_argument("--opening", type=int, default=4, help="random opening moves")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    manager = PluginManager(autoload=False)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python "
          f"{platform.python_version()}; connect four, {args.games} games an agent, "
          f"{args.opening} random opening moves, in lockstep\n")
    print(f"{'agent':<52} {'score of reuse (95%)':>24} {'+ = -':>10} "
          f"{'root visits: reuse':>19} {'peer':>6} {'ratio':>6} {'kept nodes':>11} {'seconds':>8}")
    for spec in args.agents:
        series, mine, peer, kept, seconds = duel(manager, spec, args.games, args.opening,
                                                 args.seed)
        mean, low, high = series.score()
        print(f"{spec:<52} {mean:>8.3f} ({low:.3f}..{high:.3f}) "
              f"{f'{series.wins}-{series.draws}-{series.losses}':>10} {mine:>19.0f} "
              f"{peer:>6.0f} {mine / peer:>5.2f}x {kept:>11} {seconds:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
