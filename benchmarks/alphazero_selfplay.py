"""AlphaZero self-play speed and the shipped connect four checkpoint's strength.

    python benchmarks/alphazero_selfplay.py speed [--seconds 20] [--device cpu]
    python benchmarks/alphazero_selfplay.py network
    python benchmarks/alphazero_selfplay.py strength [--games 10] [--sims 200]

``speed`` plays connect four self-play with the default config's network (2 blocks, 32 filters)
and simulations, and counts positions (moves) per second, side by side with:
  * gamepit with an evaluator that values every position with the network (no cache; the
    evaluator keeps its answers for a round's positions seen before);
  * gamepit with the eager network (before ``gamepit.nets.inference``), and also searching
    States with the tree walks in numpy (before ``gamepit.search.compiled`` and the array
    model's rows): self-play as it ran when issue 22 asked for 2x;
  * gamepit one game at a time: the same search and network, but every forward pass carries
    one leaf (what batching across games buys);
  * OpenSpiel's MCTSBot (the Python one) with the same torch network as its evaluator, one
    forward pass per leaf: the peer the ratio column is against.
The network's weights are random; speed depends on them only through the games: their lengths,
and how often the games meet the same positions (what the cache saves).

``strength`` plays ``alphazero:checkpoint=builtin:connect_four`` (or ``--checkpoint``) against
``mcts:sims=1000`` (UCT with random rollouts) and ``alphabeta:depth=4`` (or ``--opponents``),
seats alternating, and prints the score (W-D-L and score overall and from each seat) with the
training that produced the checkpoint (iterations, positions, seconds).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time

import numpy as np
import torch
from clock import Rate, clocked, load  # a sibling script, not a package

from gamepit.arena import MatchSettings, play_series
from gamepit.files import load_yaml
from gamepit.learners import toolkit
from gamepit.learners.alphazero import learner as alphazero
from gamepit.plugins.manager import get_manager
from gamepit.search import mcts as mcts_module
from gamepit.search import tree
from gamepit.search.gumbel import make_search
from gamepit.search.mcts import choose_action
from gamepit.search.network import NetworkEvaluator
from gamepit.training.settings import merge

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "alphazero_connect_four.yaml")


def gamepit_selfplay(game, network, args, games: int, seconds: float, device,
                     search: str = "puct", fast: bool = True, compiled: bool = True,
                     cache: bool = True) -> tuple[Rate, float, float]:
    """Positions per second of ``self_play`` with ``games`` games at once, a new evaluator
    for each round as training makes; ``fast=False`` runs the eager network (what self-play
    ran before ``gamepit.nets.inference``), ``compiled=False`` the tree walks in numpy on
    States (before ``gamepit.search.compiled`` and the array model's rows), ``cache=False``
    values every position with the network (before the evaluator kept its answers). Also
    returns the share of the wall time in the network and the share of the positions asked
    that the evaluator answered from memory."""
    if not compiled:
        walks, rows = tree.kernels, mcts_module.network_rows_for
        tree.kernels, mcts_module.network_rows_for = (lambda: None), (lambda *_: None)
        try:
            return gamepit_selfplay(game, network, args, games, seconds, device, search, fast,
                                    cache=cache)
        finally:
            tree.kernels, mcts_module.network_rows_for = walks, rows
    args = dataclasses.replace(args, search=search)
    mcts = make_search(search, args.sims, args.c_puct, args.dirichlet_alpha,
                       args.dirichlet_epsilon)
    rng = np.random.default_rng(0)
    positions, network_seconds, deadline = 0, 0.0, time.perf_counter() + seconds
    asked, valued = 0, 0
    with clocked() as spent:
        while time.perf_counter() < deadline:
            evaluator = NetworkEvaluator(network, device, fast=fast, cache=cache)
            with alphazero.autocast(torch.device(device), args.amp):
                positions += alphazero.self_play(game, evaluator, (mcts, None), games, args,
                                                 rng).moves
            network_seconds += evaluator.network_seconds
            asked, valued = asked + evaluator.lookups, valued + evaluator.positions
    return (Rate.of(positions, spent), network_seconds / spent.wall,
            1 - valued / max(asked, 1))


def openspiel_selfplay(network, args, seconds: float) -> Rate:
    """OpenSpiel's Python MCTSBot with the same network, one forward pass per leaf."""
    import pyspiel
    from open_spiel.python.algorithms import mcts as os_mcts

    class NetEvaluator(os_mcts.Evaluator):
        def _run(self, state):
            player = state.current_player()
            planes = np.asarray(state.observation_tensor(player), dtype=np.float32)
            planes = planes.reshape(3, 6, 7)[[player, 1 - player]]  # own, then opponent's
            with torch.inference_mode():
                logits, value = network(torch.as_tensor(planes[None]))
            return torch.softmax(logits, -1)[0].numpy(), float(value[0])

        def evaluate(self, state):
            if state.is_terminal():
                return state.returns()
            value = self._run(state)[1]
            player = state.current_player()
            return [value, -value] if player == 0 else [-value, value]

        def prior(self, state):
            priors = self._run(state)[0]
            legal = state.legal_actions()
            total = float(sum(priors[a] for a in legal)) or 1.0
            return [(a, float(priors[a]) / total) for a in legal]

    game = pyspiel.load_game("connect_four")
    rng = np.random.RandomState(0)
    bot = os_mcts.MCTSBot(game, args.c_puct, args.sims, NetEvaluator(), solve=False,
                          random_state=rng, dirichlet_noise=(args.dirichlet_epsilon,
                                                             args.dirichlet_alpha))
    choice = np.random.default_rng(0)
    positions, deadline = 0, time.perf_counter() + seconds
    with clocked() as spent:
        while time.perf_counter() < deadline:
            state = game.new_initial_state()
            move = 0
            while not state.is_terminal():
                root = bot.mcts_search(state)
                counts = np.zeros(game.num_distinct_actions())
                for child in root.children:
                    counts[child.action] = child.explore_count
                temperature = 1.0 if move < args.temperature_moves else 0.0
                state.apply_action(choose_action(counts, temperature, choice))
                positions += 1
                move += 1
    return Rate.of(positions, spent)


def speed(options: argparse.Namespace) -> None:
    torch.set_num_threads(options.threads)
    manager = get_manager()
    args = merge(alphazero.AlphaZeroArgs, "alphazero", load_yaml(CONFIG))
    game = manager.registry.make_game(args.game)
    device = str(toolkit.select_device(options.device))
    torch.manual_seed(0)
    network = alphazero.build_network(alphazero.network_shape(game, args)).to(device).eval()
    cpu_network = network if device == "cpu" else alphazero.build_network(
        alphazero.network_shape(game, args)).eval()
    many = args.selfplay_games
    started = load()
    rows = [
        (f"gamepit, {many} games at once", gamepit_selfplay(
            game, network, args, many, options.seconds, device)),
        (f"gamepit, {many} games, no cache", gamepit_selfplay(
            game, network, args, many, options.seconds, device, cache=False)),
        (f"gamepit, {many} games, eager network", gamepit_selfplay(
            game, network, args, many, options.seconds, device, fast=False)),
        (f"gamepit, {many} games, eager, States (before)", gamepit_selfplay(
            game, network, args, many, options.seconds, device, fast=False, compiled=False,
            cache=False)),
        (f"gamepit gumbel, {many} games at once", gamepit_selfplay(
            game, network, args, many, options.seconds, device, "gumbel")),
        ("gamepit, one game at a time", gamepit_selfplay(game, network, args, 1,
                                                         options.seconds, device)),
        ("OpenSpiel MCTSBot (Python), same net, cpu", (openspiel_selfplay(
            cpu_network, args, options.seconds), None, None)),
    ]
    peer = rows[-1][1][0]
    print(f"connect four self-play, {args.sims} simulations a move, network {args.blocks} "
          f"blocks x {args.filters} filters, device {device}, torch threads {options.threads}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"~{options.seconds:.0f} s a row; {started} before, {load()} after")
    print(f"{'self-play':46} {'positions/s':>12} {'vs OpenSpiel':>13} {'per CPU-s':>10} "
          f"{'vs OpenSpiel per CPU-s':>23} {'in network':>11} {'from memory':>12}")
    for name, (rate, share, remembered) in rows:
        print(f"{name:46} {rate.wall:12.1f} {rate.wall / peer.wall:12.2f}x {rate.cpu:10.1f} "
              f"{rate.cpu / peer.cpu:22.2f}x {'' if share is None else f'{share:.0%}':>11} "
              f"{'' if remembered is None else f'{remembered:.0%}':>12}")


def network(options: argparse.Namespace) -> None:
    """CPU milliseconds a call of the self-play network at several batch sizes: eager torch,
    the folded copy (``gamepit.nets.inference``) and that copy on ONNX Runtime, and the
    largest difference between their answers."""
    import warnings

    from gamepit.nets.inference import OnnxRunner, fast_copy

    torch.set_num_threads(options.threads)
    args = merge(alphazero.AlphaZeroArgs, "alphazero", load_yaml(CONFIG))
    game = get_manager().registry.make_game(args.game)
    torch.manual_seed(0)
    eager = alphazero.build_network(alphazero.network_shape(game, args)).eval()
    example = torch.zeros(1, *game.observation_shape)
    fast = fast_copy(eager, example)
    if not isinstance(fast, OnnxRunner):
        raise SystemExit("alphazero_selfplay: onnxruntime did not take the network")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        from torch.fx.experimental.optimization import fuse

        folded = fuse(eager).to(memory_format=torch.channels_last)

    def per_call(run, batch: torch.Tensor) -> float:
        calls = max(20, 4000 // len(batch))
        run(batch)
        with clocked() as spent:
            for _ in range(calls):
                run(batch)
        return spent.cpu / calls * 1e3

    print(f"connect four AlphaZero network ({args.blocks} blocks x {args.filters} filters), "
          f"torch threads {options.threads}; {load()}")
    print(f"{'batch':>6} {'eager ms':>9} {'folded ms':>10} {'ONNX ms':>8} {'folded/ONNX':>12} "
          f"{'max difference':>15}")
    with torch.inference_mode():
        for size in (1, 16, 128, 256):
            batch = torch.randn(size, *game.observation_shape,
                                generator=torch.Generator().manual_seed(size))
            times = [per_call(run, batch) for run in (eager, folded, fast)]
            difference = max(float((a - b).abs().max())
                             for a, b in zip(eager(batch), fast(batch), strict=True))
            print(f"{size:>6} {times[0]:>9.3f} {times[1]:>10.3f} {times[2]:>8.3f} "
                  f"{times[1] / times[2]:>11.2f}x {difference:>15.1e}")


def record(scores: list[float]) -> str:
    """Wins, draws and losses of a list of game scores (1, 0.5, 0)."""
    return "-".join(str(sum(1 for score in scores if score == value)) for value in (1, 0.5, 0))


def strength(options: argparse.Namespace) -> None:
    torch.set_num_threads(options.threads)
    manager = get_manager()
    registry = manager.registry
    game = registry.make_game("connect_four")
    _, data = alphazero.load_agent_network(options.checkpoint)
    minutes = (f"{float(data['train_seconds']) / 60:.1f} min" if "train_seconds" in data
               else "unrecorded time")
    print(f"{options.checkpoint}: {int(data['iteration'])} iterations, {int(data['step'])} "
          f"self-play positions, {minutes} of training (wall), trained with "
          f"{dict(data.get('args') or {}).get('search', 'puct')} search; "
          f"playing with {options.search}")
    spec = f"alphazero:checkpoint={options.checkpoint},sims={options.sims},search={options.search}"
    print(f"{'opponent':24} {'games':>5} {'W-D-L':>9} {'score':>6}   {'as first':>14} "
          f"{'as second':>14}  seconds")
    for opponent in options.opponents:
        started = time.perf_counter()
        by_seat: list[list[float]] = [[], []]

        def heard(index: int, result, by_seat: list = by_seat) -> None:
            seat = index % 2  # play_series swaps seats on odd games
            by_seat[seat].append(result.outcome(seat))

        series = play_series(game, [registry.make_agent(spec), registry.make_agent(opponent)],
                             options.games, options.seed, [spec, opponent], on_result=heard,
                             settings=MatchSettings(manager=manager))
        first, second = (f"{record(scores):>8} {np.mean(scores) if scores else np.nan:5.2f}"
                         for scores in by_seat)
        score = series.score()[0]
        print(f"{opponent:24} {series.games:5} {series.wins:>3}-{series.draws}-{series.losses:<3}"
              f" {score:6.2f}   {first} {second}  {time.perf_counter() - started:.0f}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["speed", "network", "strength"])
    parser.add_argument("--seconds", type=float, default=20.0, help="speed: seconds a row")
    parser.add_argument("--device", default="cpu", help="speed: cpu, cuda or auto")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--games", type=int, default=10, help="strength: games per opponent")
    parser.add_argument("--sims", type=int, default=200,
                        help="strength: simulations a move of the alphazero agent")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--search", default="puct", choices=["puct", "gumbel"],
                        help="strength: the search the network plays with")
    parser.add_argument("--checkpoint", default="builtin:connect_four",
                        help="strength: the network to measure (a path or builtin:NAME)")
    parser.add_argument("--opponents", nargs="+",
                        default=["mcts:sims=1000", "alphabeta:depth=4"])
    options = parser.parse_args()
    {"speed": speed, "network": network, "strength": strength}[options.what](options)


if __name__ == "__main__":
    main()
