"""MuZero on tic-tac-toe against perfect play: wins, draws and losses from each seat.

    python benchmarks/muzero_tictactoe.py [--checkpoint builtin:tictactoe] [--games 100]
        [--sims 50] [--opponent alphabeta:depth=9]

Plays ``--games`` games of ``muzero:checkpoint=...`` against ``--opponent`` (alphabeta at full
depth is perfect play: the best a player can do is never lose), seats alternating, all games
side by side (the MuZero agent searches all its positions in one batched search), and prints
the result for each seat with the training that produced the checkpoint.
"""

from __future__ import annotations

import argparse

from gamepit.arena import MatchSettings, play_lockstep
from gamepit.learners.muzero import learner as muzero
from gamepit.plugins.manager import get_manager


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="builtin:tictactoe")
    parser.add_argument("--games", type=int, default=100)
    parser.add_argument("--sims", type=int, default=50)
    parser.add_argument("--opponent", default="alphabeta:depth=9")
    parser.add_argument("--opening-moves", type=int, default=0,
                        help="uniformly random moves at the start of each game (1 keeps every "
                        "game a draw with perfect play from both seats)")
    options = parser.parse_args()
    registry = get_manager().registry
    game = registry.make_game("tictactoe")
    spec = f"muzero:checkpoint={options.checkpoint},sims={options.sims}"
    agent = registry.make_agent(spec, game)
    other = registry.make_agent(options.opponent, game)
    seatings = [[agent, other] if i % 2 == 0 else [other, agent] for i in range(options.games)]
    names = [[spec, options.opponent] if i % 2 == 0 else [options.opponent, spec]
             for i in range(options.games)]
    results = play_lockstep(game, seatings, list(range(options.games)), names,
                            settings=MatchSettings(opening_moves=options.opening_moves))
    _, data = muzero.load_agent_network(options.checkpoint)
    print(f"{spec} against {options.opponent}, {options.games} games, seats alternating; "
          f"trained {int(data['step']):,} positions of self-play in "
          f"{float(data['train_seconds']):.0f} s wall; {options.opening_moves} random opening "
          f"moves; {len({r.final_hash for r in results})} distinct final positions")
    print("| MuZero seat | games | wins | draws | losses |")
    print("|---|---:|---:|---:|---:|")
    for seat in (0, 1):
        outcomes = [r.outcome(seat) for i, r in enumerate(results) if i % 2 == seat]
        print(f"| {'first (X)' if seat == 0 else 'second (O)'} | {len(outcomes)} | "
              f"{outcomes.count(1.0)} | {outcomes.count(0.5)} | {outcomes.count(0.0)} |")


if __name__ == "__main__":
    main()
