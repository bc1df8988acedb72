"""Tournament throughput: games per second for connect four games between ``random`` and
``alphabeta`` (default depth), played by ``gamepit.tournament`` in this process and in 1 and 2
worker processes, beside the peer: the kernel's plain ``arena.play_series`` loop in this process
(no ledger, no scheduling), run in the same script on the same machine.

    python benchmarks/tournament_throughput.py --games 1000
    python benchmarks/tournament_throughput.py --games 200 --workers 0 1 2

Every tournament row writes each result to a fresh SQLite ledger as it finishes, as a real run
does. Worker rows include starting the worker processes. On a shared machine, read the ratios,
not the absolute numbers, and name the machine when quoting them.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from gamepit.arena import MatchSettings, play_series
from gamepit.plugins.manager import PluginManager
from gamepit.tournament.config import TournamentConfig
from gamepit.tournament.run import run_tournament


def _play_series(manager: PluginManager, games: int, agents: list[str]) -> float:
    registry = manager.registry
    game = registry.make_game("connect_four")
    players = [registry.make_agent(spec) for spec in agents]
    started = time.perf_counter()
    series = play_series(game, players, games, 0, agents, settings=MatchSettings(manager=manager))
    seconds = time.perf_counter() - started
    assert series.games == games
    return seconds


def _tournament(manager: PluginManager, games: int, agents: list[str], workers: int,
                folder: Path) -> float:
    config = TournamentConfig(game="connect_four", agents=list(agents), games_per_pair=games,
                              workers=workers, name=f"bench-{workers}",
                              ledger=str(folder / f"ledger-{workers}.sqlite"))
    started = time.perf_counter()
    outcome = run_tournament(config, manager)
    seconds = time.perf_counter() - started
    assert outcome.played_now == games, outcome.played_now
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=1000, help="games per row (default 1000)")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2],
                        help="worker counts to measure; 0 = in this process (default 0 1 2)")
    parser.add_argument("--agents", nargs=2, default=["random", "alphabeta"],
                        metavar="SPEC", help="the two agents (default random alphabeta)")
    args = parser.parse_args()
    manager = PluginManager(autoload=False)
    print(f"connect four, {args.agents[0]} vs {args.agents[1]}, {args.games} games per row; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")
    rows = [("arena.play_series (peer)", "-", _play_series(manager, args.games, args.agents))]
    with tempfile.TemporaryDirectory() as folder:
        for workers in args.workers:
            label = "tournament, in process" if workers == 0 else "tournament, workers"
            seconds = _tournament(manager, args.games, args.agents, workers, Path(folder))
            rows.append((label, str(workers) if workers else "0", seconds))
    peer = rows[0][2]
    print(f"{'runner':<26} {'workers':>7} {'seconds':>8} {'games/s':>8} {'vs peer':>8}")
    for label, workers, seconds in rows:
        print(f"{label:<26} {workers:>7} {seconds:>8.2f} {args.games / seconds:>8.1f} "
              f"{peer / seconds:>7.2f}x")


if __name__ == "__main__":
    main()
