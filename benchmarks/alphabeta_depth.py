"""Does alphabeta get stronger with depth? Every depth against every other at connect four.

Each pair plays ``--games`` games. Games 2k and 2k+1 share a seed, so they open with the same
``--opening`` uniformly random moves, once with each agent in each seat (as cutechess repeats
an opening with colours reversed); without random openings two deterministic searches replay a
handful of games. A cell is the row depth's score against the column depth (win 1, draw 1/2)
with its 95% Wilson interval; the last column is a Bradley-Terry Elo over all the games, depth
1 at 0, with its 95% interval.

    python benchmarks/alphabeta_depth.py                       # depths 1..5, 40 games a pair
    python benchmarks/alphabeta_depth.py --depths 2,4,6 --games 100 --workers 2

Measured with ``--games 60 --workers 2`` (2 cores, about 2 minutes), Elo of depths 1..5:
before the horizon check 0, +279, +249, +312, +373 (depth 4 scored 0.46 against depth 2,
depth 3 0.34 against depth 4); with it 0, +106, +134, +188, +238, every deeper depth scoring
0.55..0.81 against every shallower one.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from itertools import combinations

from gamepit.arena import MatchSettings, SeriesResult
from gamepit.arena.lockstep import play_lockstep
from gamepit.plugins.manager import PluginManager
from gamepit.tournament.ratings import fit_ratings


def play_pair(deeper: int, shallower: int, games: int, opening: int, seed: int
              ) -> tuple[int, int, SeriesResult]:
    """``games`` games of alphabeta at depth ``deeper`` against depth ``shallower``."""
    registry = PluginManager(autoload=False).registry
    game = registry.make_game("connect_four")
    specs = [f"alphabeta:depth={deeper}", f"alphabeta:depth={shallower}"]
    series = SeriesResult((specs[0], specs[1]))
    for i in range(games):
        seated = specs if i % 2 == 0 else specs[::-1]
        agents = [registry.make_agent(spec) for spec in seated]
        result = play_lockstep(game, [agents], [seed + i // 2], [seated],
                               settings=MatchSettings(opening_moves=opening))[0]
        outcome = result.outcome(0 if i % 2 == 0 else 1)
        series.wins += outcome == 1.0
        series.draws += outcome == 0.5
        series.losses += outcome == 0.0
    return deeper, shallower, series


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", default="1,2,3,4,5", help="comma-separated depths")
    parser.add_argument("--games", type=int, default=40, help="games per pair (even)")
    parser.add_argument("--opening", type=int, default=4, help="random opening moves")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="processes")
    args = parser.parse_args()
    depths = sorted({int(d) for d in args.depths.split(",")})
    print("command: python " + " ".join(sys.argv))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}; {args.workers} worker(s); connect four, "
          f"{args.games} games a pair, {args.opening} random opening moves\n")
    started = time.perf_counter()
    pairs = list(combinations(reversed(depths), 2))  # (deeper, shallower)
    with ProcessPoolExecutor(max(1, args.workers)) as pool:
        done = list(pool.map(play_pair, *zip(*[(a, b, args.games, args.opening, args.seed)
                                               for a, b in pairs], strict=True)))
    results = {(a, b): series for a, b, series in done}
    games = []
    for (a, b), series in results.items():
        for count, score in ((series.wins, 1.0), (series.draws, 0.5), (series.losses, 0.0)):
            games += [(f"depth {a}", f"depth {b}", score)] * count
    board = {row.agent: row for row in fit_ratings([f"depth {d}" for d in depths], games)}
    header = "row vs column".ljust(14) + "".join(f"{'depth ' + str(d):>20}" for d in depths)
    print(header + f"{'elo (95%)':>20}")
    for a in depths:
        cells = []
        for b in depths:
            if a == b:
                cells.append(f"{'-':>20}")
                continue
            series = results.get((a, b)) or results[(b, a)]
            mean, low, high = series.score()
            if (a, b) not in results:  # seen from the other side
                mean, low, high = 1 - mean, 1 - high, 1 - low
            cells.append(f"{f'{mean:.2f} ({low:.2f}..{high:.2f})':>20}")
        row = board[f"depth {a}"]
        elo = f"{row.elo:+.0f} (-{row.minus:.0f}/+{row.plus:.0f})"
        print(f"depth {a}".ljust(14) + "".join(cells) + f"{elo:>20}")
    print("\nwins-draws-losses of the deeper side: " + ", ".join(
        f"{a} vs {b}: {s.wins}-{s.draws}-{s.losses}" for (a, b), s in sorted(results.items())))
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
