"""Imitation on connect four: the students of ``gamepit train dagger`` and ``gamepit train bc``
(trained beforehand, see configs/dagger_connect_four.yaml) beside their teacher, each against
the same judge with seats alternating, and moves per second (one position per call, as in a
match; the student also batched, as in a tournament of many games).

    gamepit train dagger --game connect_four --config configs/dagger_connect_four.yaml \\
        --run runs/c4_dagger --set eval_episodes=0
    gamepit train bc --game connect_four --config configs/dagger_connect_four.yaml \\
        --run runs/c4_bc --set eval_episodes=0
    python benchmarks/imitation_connect_four.py --student runs/c4_dagger/checkpoint.pt \\
        --student runs/c4_bc/checkpoint.pt --games 20
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gamepit.arena import MatchSettings, play_series
from gamepit.plugins.manager import PluginManager
from gamepit.protocols import Agent, Game, State


def positions(game: Game, count: int, seed: int) -> list[State]:
    """Positions from random playouts, the terminal ones left out."""
    rng = np.random.default_rng(seed)
    found: list[State] = []
    while len(found) < count:
        state = game.new_state(int(rng.integers(2**31)))
        while not state.is_terminal() and len(found) < count:
            found.append(state.clone())
            state.apply(int(rng.choice(np.flatnonzero(state.legal_mask()))))
    return found


def moves_per_second(agent: Agent, game: Game, states: list[State], batched: bool) -> float:
    agent.reset(game, 0, 0)
    started = time.perf_counter()
    if batched:
        agent.act_batch([s.clone() for s in states])
    else:
        for state in states:
            agent.act(state.clone())
    return len(states) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teacher", default="alphazero:checkpoint=builtin:connect_four,sims=50")
    parser.add_argument("--student", action="append", default=[], metavar="CHECKPOINT")
    parser.add_argument("--judge", default="mcts:sims=200")
    parser.add_argument("--games", type=int, default=20)
    parser.add_argument("--positions", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    manager = PluginManager()
    registry = manager.registry
    game = registry.make_game("connect_four")
    states = positions(game, options.positions, options.seed)
    specs = [options.teacher] + [f"student:checkpoint={path}" for path in options.student]
    print(f"| agent | score vs {options.judge} ({options.games} games) | moves/s, one "
          "position a call | moves/s, batched |")
    print("|---|---|---|---|")
    for spec in specs:
        agent, judge = registry.make_agent(spec, game), registry.make_agent(options.judge, game)
        started = time.perf_counter()
        series = play_series(game, [agent, judge], options.games, options.seed,
                             [spec, options.judge], settings=MatchSettings(manager=manager))
        seconds = time.perf_counter() - started
        single = moves_per_second(agent, game, states[:max(10, len(states) // 5)]
                                  if spec == options.teacher else states, batched=False)
        batch = moves_per_second(agent, game, states, batched=True)
        print(f"| `{spec}` | {series.score()[0]:.3f} (+{series.wins} ={series.draws} "
              f"-{series.losses}, {seconds:.0f} s) | {single:,.0f} | {batch:,.0f} |",
              flush=True)
        agent.close()
        judge.close()


if __name__ == "__main__":
    main()
