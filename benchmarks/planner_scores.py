"""The true-model planner's scores on Atari and MinAtar at a few budgets per move, beside a
random player and, where a checkpoint is named, a trained DQN or PPO, on the same seeds.

Episodes are cut after ``--max-steps`` moves (Atari's are thousands of moves long), so the
scores are of the first N moves of each episode, for every player alike. The planner runs with
its defaults (``chance=sample``: sticky actions and MinAtar's spawns are redrawn in every
simulation, so it does not see the real game's future draws) unless ``--planner`` says more.

    python benchmarks/planner_scores.py                      # pong, breakout, 5 MinAtar games
    python benchmarks/planner_scores.py --games minatar:breakout --budgets 20,100 --episodes 3
    python benchmarks/planner_scores.py --games minatar:breakout --versus dqn=runs/mb/best.pt
    python benchmarks/planner_scores.py --planner algo=iw --budgets 100,1000   # IW(1): nodes
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time

import numpy as np

from gamepit.plugins.manager import PluginManager
from gamepit.protocols import Game, split_act_result

GAMES = ["atari:pong", "atari:breakout", "minatar:asterix", "minatar:breakout",
         "minatar:freeway", "minatar:seaquest", "minatar:space_invaders"]


def play(game: Game, agent, seed: int, max_steps: int) -> tuple[float, int, float]:
    """One episode cut at ``max_steps`` moves: (score, moves, seconds per move)."""
    state = game.new_state(seed)
    agent.reset(game, 0, seed)
    started, moves = time.perf_counter(), 0
    while moves < max_steps and not state.is_terminal():
        action, _ = split_act_result(agent.act(state.clone()))
        state.apply(action)
        moves += 1
    agent.close()
    return float(state.returns()[0]), moves, (time.perf_counter() - started) / max(moves, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", default=",".join(GAMES), help="comma-separated game specs")
    parser.add_argument("--budgets", default="20,100",
                        help="planner budgets per move: sims (uct) or nodes (iw)")
    parser.add_argument("--planner", default="depth=10",
                        help="more planner options, e.g. 'algo=iw' or 'depth=20,chance=known'")
    parser.add_argument("--episodes", type=int, default=2)
    parser.add_argument("--max-steps", type=int, default=100, help="moves per episode at most")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--versus", action="append", default=[], metavar="NAME=CHECKPOINT",
                        help="also play dqn=PATH or ppo=PATH (a checkpoint for each game in "
                             "--games; repeatable, GAME:NAME=PATH to name the game)")
    parser.add_argument("--plugins", action="append", default=[],
                        help="plugin files to load (e.g. a MinAtar plugin not yet merged)")
    args = parser.parse_args()

    registry = PluginManager(plugin_paths=args.plugins).registry
    budget_key = "nodes" if "algo=iw" in args.planner else "sims"
    players = [("random", "random")]
    for budget in args.budgets.split(","):
        spec = f"planner:{budget_key}={budget}" + (f",{args.planner}" if args.planner else "")
        players.append((f"planner {budget_key}={budget}", spec))
    print(f"# {' '.join(shlex.quote(a) for a in [sys.executable, *sys.argv])}")
    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}; episodes cut at {args.max_steps} moves; "
          f"{args.episodes} episodes per cell, seeds {args.seed}..")
    print("| game | player | mean score | scores | moves | s/move |")
    print("|---|---|---|---|---|---|")
    for game_spec in args.games.split(","):
        try:
            game = registry.make_game(game_spec)
        except Exception as error:  # noqa: BLE001 - a game not installed is reported, not fatal
            print(f"| {game_spec} | (not available: {str(error).splitlines()[0][:80]}) |||||")
            continue
        rows = list(players)
        for item in args.versus:
            name, _, path = item.partition("=")
            where, _, name = name.rpartition(":") if name.count(":") else ("", "", name)
            if not where or where in (game_spec, game_spec.split(":", 1)[-1]):
                rows.append((name, f"{name}:checkpoint={path}"))
        for label, spec in rows:
            agent = registry.make_agent(spec, game=game)
            results = [play(game, agent, args.seed + episode, args.max_steps)
                       for episode in range(args.episodes)]
            scores = [r[0] for r in results]
            print(f"| {game_spec} | {label} | {np.mean(scores):.2f} | "
                  f"{' '.join(f'{s:g}' for s in scores)} | "
                  f"{np.mean([r[1] for r in results]):.0f} | "
                  f"{np.mean([r[2] for r in results]):.3f} |", flush=True)


if __name__ == "__main__":
    main()
