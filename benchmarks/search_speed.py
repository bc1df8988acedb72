"""Search speed, side by side with OpenSpiel, on connect four from the opening.

Table 1: simulations per second with a one-rollout random evaluator and UCT (c=2): OpenSpiel's
Python ``MCTSBot`` and C++ ``pyspiel.MCTSBot`` (solve=False) against gamepit's ``uct`` search
on one tree and on batches of trees (total simulations of the batch per second), searching
States or the connect four array model (positions as rows of numpy bitboards); rows marked
VL gather several leaves per tree per pass with virtual loss, which changes the search a
little (not the same settings as the peers), so they are extra. Runs are
interleaved and repeated; each row shows its best repeat, so a busy machine hurts all rows alike.

Rows "mcts agent ... in lockstep" play the ``mcts`` agent itself (the same search, plus choosing,
info and subtree reuse) in both seats of that many games at once, as a tournament batch does,
on States or on the connect four array model (``arrays=true``, the agent's default).

Table 2: simulations per second with a small torch policy/value network as evaluator at 1, 16,
64 and 256 games per batch, and the share of wall time spent outside the network.

    python benchmarks/search_speed.py                 # both tables, CPU
    python benchmarks/search_speed.py --device cuda   # table 2 on a GPU
"""

from __future__ import annotations

import argparse
import time

import numpy as np

# This script's folder is on the path when it runs.
from clock import Spent, clocked, load  # a sibling script, not a package


def openspiel_python(sims: int, seed: int) -> tuple[int, Spent]:
    import pyspiel
    from open_spiel.python.algorithms import mcts

    game = pyspiel.load_game("connect_four")
    random_state = np.random.RandomState(seed)
    bot = mcts.MCTSBot(game, 2.0, sims, mcts.RandomRolloutEvaluator(1, random_state),
                       solve=False, random_state=random_state)
    state = game.new_initial_state()
    with clocked() as spent:
        bot.step(state)
    return sims, spent


def openspiel_cpp(sims: int, seed: int) -> tuple[int, Spent]:
    import pyspiel

    game = pyspiel.load_game("connect_four")
    bot = pyspiel.MCTSBot(game, pyspiel.RandomRolloutEvaluator(1, seed), 2.0, sims, 1000,
                          False, seed, False)
    state = game.new_initial_state()
    with clocked() as spent:
        bot.step(state)
    return sims, spent


def gamepit_uct(sims: int, seed: int, trees: int) -> tuple[int, Spent]:
    from gamepit.games.connect_four import ConnectFour
    from gamepit.search.evaluators import RolloutEvaluator
    from gamepit.search.mcts import MCTS

    game = ConnectFour()
    search = MCTS(sims=sims, rule="uct", c_puct=2.0, seed=seed)
    states = [game.new_state() for _ in range(trees)]
    with clocked() as spent:
        search.search(states, RolloutEvaluator(1, seed))
    return sims * trees, spent


def gamepit_uct_arrays(sims: int, seed: int, trees: int, leaves: int = 1
                       ) -> tuple[int, Spent]:
    from gamepit.games.connect_four import ConnectFour
    from gamepit.search.array_models import array_model_for
    from gamepit.search.mcts import MCTS

    game = ConnectFour()
    search = MCTS(sims=sims, rule="uct", c_puct=2.0, leaves=leaves, seed=seed)
    states = [game.new_state() for _ in range(trees)]
    with clocked() as spent:
        search.run(array_model_for(states, 1, seed, capacity=trees * (sims + 1)), states)
    return sims * trees, spent


def gamepit_agent(sims: int, seed: int, games: int, arrays: bool, plies: int
                  ) -> tuple[int, Spent]:
    """The ``mcts`` agent (UCT c=2, one rollout) in both seats of ``games`` connect four games
    played in lockstep, as a tournament batch plays them: each call searches every game
    waiting on that seat. The games stop after ``plies`` moves; every move is a search."""
    from gamepit.arena.lockstep import play_lockstep
    from gamepit.arena.match import MatchSettings
    from gamepit.games.connect_four import ConnectFour
    from gamepit.search.mcts import MCTSAgent

    seats = [MCTSAgent(sims=sims, c_puct=2.0, arrays=arrays) for _ in range(2)]
    with clocked() as spent:
        results = play_lockstep(ConnectFour(), [seats] * games,
                                [seed * games + game for game in range(games)],
                                settings=MatchSettings(max_steps=plies))
    return sims * sum(result.steps for result in results), spent


def rollout_table(sims: int, batches: list[int], array_batches: list[tuple[int, int]],
                  repeats: int, agent_games: list[int], plies: int) -> None:
    runs = [("OpenSpiel Python MCTSBot, 1 tree", lambda s: openspiel_python(sims, s)),
            ("OpenSpiel C++ MCTSBot, 1 tree", lambda s: openspiel_cpp(sims, s))]
    runs += [(f"gamepit uct, {n} tree{'s' if n > 1 else ''}, States",
              lambda s, n=n: gamepit_uct(sims, s, n)) for n in batches]
    runs += [(f"gamepit uct, {n} tree{'s' if n > 1 else ''}, array model"
              + (f", {k} leaves (VL)" if k > 1 else ""),
              lambda s, n=n, k=k: gamepit_uct_arrays(sims, s, n, k)) for n, k in array_batches]
    runs += [(f"gamepit mcts agent, {n} game{'s' if n > 1 else ''} in lockstep, {kind}",
              lambda s, n=n, arrays=arrays: gamepit_agent(sims, s, n, arrays, plies))
             for n in agent_games for kind, arrays in (("States", False), ("array model", True))]
    best = {name: (0.0, 0.0) for name, _ in runs}  # simulations per wall / per CPU second
    started = load()
    for repeat in range(repeats):
        for name, run in runs:
            done, spent = run(repeat)
            best[name] = (max(best[name][0], done / spent.wall),
                          max(best[name][1], done / max(spent.cpu, 1e-9)))
    python_rate = best[runs[0][0]]
    cpp_rate = best[runs[1][0]]
    print(f"\nconnect four opening, UCT c=2, one random rollout per leaf, {sims} simulations "
          f"per tree, best of {repeats}; {started} before, {load()} after")
    print(f"{'search':<52} {'sims/s':>10} {'vs OS Python':>13} {'vs OS C++':>10} "
          f"{'sims/CPU-s':>11} {'vs OS C++ per CPU-s':>20}")
    for name, _ in runs:
        rate, cpu_rate = best[name]
        print(f"{name:<52} {rate:>10.0f} {rate / python_rate[0]:>12.2f}x "
              f"{rate / cpp_rate[0]:>9.2f}x {cpu_rate:>11.0f} {cpu_rate / cpp_rate[1]:>19.2f}x")


def network_table(sims: int, batches: list[int], device: str, filters: int,
                  blocks: int, repeats: int) -> None:
    import torch

    from gamepit.games.connect_four import ConnectFour
    from gamepit.nets import PolicyValueNet
    from gamepit.search.mcts import MCTS
    from gamepit.search.network import NetworkEvaluator

    game = ConnectFour()
    torch.manual_seed(0)
    net = PolicyValueNet(*game.observation_shape, game.num_actions, filters=filters,
                         blocks=blocks)
    evaluator = NetworkEvaluator(net, device, cache=False)  # identical trees: no cache
    search = MCTS(sims=sims, rule="puct", seed=0)
    search.search([game.new_state()], evaluator)  # warm up (allocator, kernels)
    print(f"\nconnect four opening, PUCT, PolicyValueNet({blocks} blocks x {filters} filters) "
          f"on {device}, {sims} simulations per game, best of {repeats}")
    print(f"{'games per batch':>15} {'sims/s':>10} {'positions/call':>15} "
          f"{'outside network':>16}")
    for trees in batches:
        best = (0.0, 0.0, 0.0)
        for _ in range(repeats):
            evaluator.network_seconds, evaluator.positions = 0.0, 0
            states = [game.new_state() for _ in range(trees)]
            started = time.perf_counter()
            search.search(states, evaluator)
            wall = time.perf_counter() - started
            best = max(best, (sims * trees / wall, evaluator.positions / (sims + 1),
                              1 - evaluator.network_seconds / wall))
        rate, per_call, outside = best
        print(f"{trees:>15} {rate:>10.0f} {per_call:>15.0f} {outside:>15.0%}")


def _trees_and_leaves(text: str) -> tuple[int, int]:
    trees, _, leaves = text.partition("x")
    return int(trees), int(leaves or 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sims", type=int, default=400, help="simulations per tree, table 1")
    parser.add_argument("--batches", default="1,64,256", help="trees per batch, table 1")
    parser.add_argument("--array-batches", default="1,64,256,1024,512x8",
                        help="trees per batch on the connect four array model, table 1; "
                        "NxL gathers L leaves per tree per pass with virtual loss")
    parser.add_argument("--agent-games", default="1,64",
                        help="games in lockstep for the mcts agent rows, table 1")
    parser.add_argument("--plies", type=int, default=8,
                        help="moves of each game in the mcts agent rows (each one a search)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--net-sims", type=int, default=64, help="simulations per game, "
                        "table 2")
    parser.add_argument("--net-batches", default="1,16,64,256")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--filters", type=int, default=32)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1 is fastest on a small shared machine)")
    parser.add_argument("--skip-rollouts", action="store_true")
    parser.add_argument("--skip-network", action="store_true")
    args = parser.parse_args()
    if not args.skip_rollouts:
        rollout_table(args.sims, [int(n) for n in args.batches.split(",")],
                      [_trees_and_leaves(n) for n in args.array_batches.split(",") if n],
                      args.repeats, [int(n) for n in args.agent_games.split(",") if n],
                      args.plies)
    if not args.skip_network:
        import torch

        torch.set_num_threads(args.threads)
        network_table(args.net_sims, [int(n) for n in args.net_batches.split(",")],
                      args.device, args.filters, args.blocks, args.repeats)


if __name__ == "__main__":
    main()
