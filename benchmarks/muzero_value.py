"""MuZero's value on a board game, runs side by side, against AlphaZero's games as the peer.

The loss curves, the trained model on its own replay buffer, how often self-play missed a win in
one, and whether a fresh network can learn the value from the run's games at all (held-out games).

    python benchmarks/muzero_value.py runs/mz_c4_before runs/mz_c4_fix [--every 10]
        [--unroll-steps 5] [--buffer 8000] [--modes 1280] [--missed-wins 300]
        [--strength 40 [--opponents mcts:sims=200 mcts:sims=1000]]
        [--held-out 500 --alphazero-buffer runs/az_c4_12min/replay_buffer.npz]

- Curves, from each run's ``metrics.jsonl``, every ``--every`` iterations and the last: the value
  loss a step (the summed cross-entropy over the K + 1 unrolled steps over K + 1; its floor
  depends on the support and the transform), the first step's scalar value error |v - z|
  (comparable across supports and transforms), the policy loss, the self-play positions, and each
  run's value error over the first run's.
- ``--buffer N``: each run's ``model.pt`` on N positions of its own ``replay_buffer.npz``: how
  often its value's sign agrees with the outcome for the player to move, its mean error and mean
  squared error (AlphaZero's value loss is the latter), the mean size of its values (a head stuck
  at the mean outcome predicts values near 0), and the reward its dynamics predicts for the moves
  that won their games (target 1) and for the others (target 0).
- ``--modes N``: each run's model unrolled on the same N positions of its buffer in training
  mode (batch norm from the batch) and in evaluation mode (running statistics, as the search
  runs it): the loss parts in each. Batch norm's running statistics serve the representation's
  output and every unrolled step alike; a gap here is what search sees that training did not.
- ``--strength G``: each run's ``model.pt`` (100 simulations a move) against each of
  ``--opponents``, G games each, seats alternating, with the self-play positions and wall
  minutes of training the file records, and a 95% interval.
- ``--missed-wins G``: the last G whole games in each run's buffer replayed on the real rules:
  the positions where the player to move had a move that wins at once, and how many of those
  self-play did not play.
- ``--held-out STEPS``: a fresh network of the run's shape trained STEPS gradient steps (batch
  256) on the value alone, on nine games in ten of the run's buffer, then scored on the tenth:
  if it cannot beat predicting 0 there, the games' outcomes do not follow from their positions.
  ``--alphazero-buffer`` does the same on an AlphaZero run's buffer (its outcomes) as the peer.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch
from minatar_learning import metrics  # a sibling script, not a package

from gamepit.arena import MatchSettings, play_series
from gamepit.learners import toolkit
from gamepit.learners.muzero import learner as muzero
from gamepit.plugins.manager import get_manager
from gamepit.training.settings import merge


def by_iteration(folder: Path) -> dict[int, dict]:
    rows = [row for row in metrics(folder) if "losses/value" in row]
    return {int(row["progress/iteration"]): row for row in rows}


def curves_table(runs: list[Path], every: int, unroll_steps: int) -> None:
    curves = {run: by_iteration(run) for run in runs}
    for run, curve in curves.items():
        if not curve:
            raise SystemExit(f"{run}: no training losses in metrics.jsonl")
    last = max(max(curve) for curve in curves.values())
    marks = sorted(set(range(every, last + 1, every)) | {max(c) for c in curves.values()})
    peer = runs[0]
    header = ["iteration"]
    for run in runs:
        header += [f"{run.name} value loss/step", f"{run.name} value error",
                   f"{run.name} policy loss", f"{run.name} positions"]
        if run != peer:
            header.append(f"{run.name} error / {peer.name}")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for mark in marks:
        cells = [str(mark)]
        for run in runs:
            row = curves[run].get(mark)
            if row is None:
                cells += ["", "", "", ""] + ([""] if run != peer else [])
                continue
            cells += [f"{row['losses/value'] / (unroll_steps + 1):.3f}",
                      f"{row['losses/value_error']:.3f}" if "losses/value_error" in row else "",
                      f"{row['losses/policy']:.2f}", f"{int(row['step']):,}"]
            if run != peer:
                base = curves[peer].get(mark, {}).get("losses/value_error")
                mine = row.get("losses/value_error")
                cells.append(f"{mine / base:.2f}" if base and mine is not None else "")
        print("| " + " | ".join(cells) + " |")


def load_run(folder: Path) -> tuple[muzero.MuZeroNet, dict[str, Any], Any, muzero.ReplayBuffer,
                                    muzero.MuZeroArgs]:
    """The run's model, its shape, its game, its replay buffer and its settings."""
    network, data = muzero.load_agent_network(str(folder / muzero.MODEL))
    args = merge(muzero.MuZeroArgs, "muzero", {**data["args"], "unroll_steps": 1,
                                                "priority": False})
    shape = muzero.stored_shape(data["shape"])
    game = get_manager().registry.make_game(str(data["game"]))
    buffer = muzero.ReplayBuffer(args.buffer_size, shape["observation_shape"],
                                 shape["num_actions"],
                                 getattr(game, "observation_dtype", np.float32))
    buffer.load(folder / toolkit.BUFFER)
    return network, shape, game, buffer, args


def value_on_buffer(folder: Path, positions: int, seed: int = 0) -> dict[str, float]:
    """The run's model on ``positions`` positions of its replay buffer, against their targets."""
    network, _, _, buffer, args = load_run(folder)
    batch = buffer.sample(positions, args, np.random.default_rng(seed))
    with torch.no_grad():
        hidden = network.represent(torch.as_tensor(batch["observations"]))
        values = network.scalar(network.predict(hidden)[1]).numpy()
        _, reward_logits = network.dynamics(hidden, torch.as_tensor(batch["actions"][:, 0]))
        rewards = network.scalar(reward_logits).numpy()
    targets = batch["values"][:, 0]
    decided = targets != 0
    winning = batch["rewards"][:, 0] == 1  # the moves that won their game, +1 for the mover
    return {"winning reward": float(rewards[winning].mean()) if winning.any() else float("nan"),
            "other reward": float(np.abs(rewards[~winning]).mean()),
            "sign agrees": float((np.sign(values[decided]) == np.sign(targets[decided])).mean()),
            "error": float(np.abs(values - targets).mean()),
            "squared error": float(((values - targets) ** 2).mean()),
            "mean |value|": float(np.abs(values).mean()),
            "decided": float(decided.mean())}


def loss_by_mode(folder: Path, positions: int, unroll_steps: int, seed: int = 0
                 ) -> dict[str, dict[str, float]]:
    """The run's model unrolled on the same ``positions`` of its replay buffer in training mode
    (batch norm from the batch) and in evaluation mode (its running statistics, as in search):
    the loss parts in each (batches of 256, no gradient)."""
    network, _, _, buffer, args = load_run(folder)
    args = dataclasses.replace(args, unroll_steps=unroll_steps)
    batches = [buffer.sample(256, args, np.random.default_rng(seed + index))
               for index in range(max(1, positions // 256))]
    out = {}
    for mode in ("train", "eval"):
        network.train(mode == "train")
        with torch.no_grad():
            parts = [muzero.unroll_loss(network, batch, args, torch.device("cpu"))[1]
                     for batch in batches]
        out[mode] = {key: float(np.mean([part[key] for part in parts])) for key in parts[0]}
    return out


def strength(folder: Path, games: int, opponents: list[str], sims: int = 100, seed: int = 0
             ) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """The run's ``model.pt`` (what its training recorded) against each opponent: ``games``
    games, seats alternating, ``sims`` simulations a move."""
    manager = get_manager()
    _, data = muzero.load_agent_network(str(folder / muzero.MODEL))
    game = manager.registry.make_game(str(data["game"]))
    spec = f"muzero:checkpoint={folder / muzero.MODEL},sims={sims}"
    series = [(opponent, play_series(game, [manager.registry.make_agent(spec),
                                            manager.registry.make_agent(opponent)],
                                     games, seed, [spec, opponent],
                                     settings=MatchSettings(manager=manager)))
              for opponent in opponents]
    return data, series


def whole_games(buffer: muzero.ReplayBuffer, count: int) -> list[np.ndarray]:
    """The global positions of the last ``count`` games the buffer holds whole."""
    held = buffer.end[:len(buffer)]
    games = []
    for end in np.unique(held)[::-1]:
        positions = np.sort(buffer.position[:len(buffer)][held == end])
        if positions[0] == end - len(positions):
            games.append(positions)
        if len(games) == count:
            break
    return games


def missed_wins(folder: Path, count: int) -> tuple[int, int, int]:
    """Games replayed, positions with a win in one, and how many of those self-play missed."""
    _, _, game, buffer, _ = load_run(folder)
    chances = missed = 0
    games = whole_games(buffer, count)
    for positions in games:
        state = game.new_state()
        for position in positions:
            action, player = int(buffer.actions[position % buffer.capacity]), state.current_player
            winners = []
            for move in np.flatnonzero(state.legal_mask()):
                after = state.clone()
                after.apply(int(move))
                if after.is_terminal() and after.returns()[player] > 0:
                    winners.append(int(move))
            chances += bool(winners)
            missed += bool(winners) and action not in winners
            state.apply(action)
    return len(games), chances, missed


def fit_held_out(shape: dict[str, Any], observations: np.ndarray, outcomes: np.ndarray,
                 test: np.ndarray, steps: int, seed: int = 0) -> dict[str, float]:
    """A fresh network of ``shape`` trained on the value of the positions outside ``test``,
    scored on (up to 4,000 of) those inside: squared error, and sign agreement where decided."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    network = muzero.build_network(shape)
    optimizer = torch.optim.AdamW(network.parameters(), lr=2e-3, weight_decay=1e-4)
    train_rows, test_rows = np.flatnonzero(~test), np.flatnonzero(test)
    for _ in range(steps):
        rows = rng.choice(train_rows, 256)
        logits = network.predict(network.represent(torch.as_tensor(observations[rows])))[1]
        target = network.target(torch.as_tensor(outcomes[rows], dtype=torch.float32))
        loss = muzero.cross_entropy(logits, target).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    rows = rng.choice(test_rows, min(4000, len(test_rows)), replace=False)
    network.eval()
    with torch.no_grad():
        values = network.scalar(network.predict(
            network.represent(torch.as_tensor(observations[rows])))[1]).numpy()
    truth = outcomes[rows]
    decided = truth != 0
    return {"squared error": float(((values - truth) ** 2).mean()),
            "predicting 0": float((truth ** 2).mean()),
            "sign agrees": float((np.sign(values[decided]) == np.sign(truth[decided])).mean())}


def held_out_of_run(folder: Path, steps: int) -> dict[str, float]:
    """``fit_held_out`` on the run's buffer: outcomes for the player to move, one game in ten
    (and its mirror image, stored next to it) held out."""
    _, shape, _, buffer, args = load_run(folder)
    size = len(buffer)
    positions = buffer.position[:size]
    outcomes = muzero.nstep_values(buffer.rewards, buffer.values, positions, buffer.end[:size],
                                   buffer.terminal[:size], args.td_steps, args.discount)
    outcomes = (outcomes * buffer.signs[:size]).astype(np.float32)
    games = np.unique(buffer.end[:size], return_inverse=True)[1]
    test = (games // 2) % 10 == 0  # a game and its mirror copy follow each other
    return fit_held_out(shape, buffer.observations[:size], outcomes, test, steps)


def held_out_of_alphazero(path: Path, shape: dict[str, Any], steps: int) -> dict[str, float]:
    """``fit_held_out`` on an AlphaZero buffer (observations and outcomes for the player to
    move, in the order played): its first tenth held out, whole games but for the edge."""
    with np.load(path, allow_pickle=False) as data:
        observations, outcomes = data["observations"], data["outcomes"].astype(np.float32)
    test = np.arange(len(outcomes)) < len(outcomes) // 10
    return fit_held_out(shape, observations, outcomes, test, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders; the first is the peer")
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--unroll-steps", type=int, default=5, help="K the runs trained with")
    parser.add_argument("--buffer", type=int, default=0,
                        help="score each run's model.pt on this many of its buffer's positions")
    parser.add_argument("--modes", type=int, default=0,
                        help="each run's loss on this many buffer positions, train and eval mode")
    parser.add_argument("--strength", type=int, default=0,
                        help="games of each run's model.pt against each --opponents")
    parser.add_argument("--opponents", nargs="+", default=["mcts:sims=200", "mcts:sims=1000"])
    parser.add_argument("--missed-wins", type=int, default=0,
                        help="replay this many of each run's last games: wins in one missed")
    parser.add_argument("--held-out", type=int, default=0,
                        help="gradient steps of a fresh value network on nine games in ten")
    parser.add_argument("--alphazero-buffer", type=Path, default=None,
                        help="an AlphaZero run's replay_buffer.npz, the peer of --held-out")
    args = parser.parse_args()
    curves_table(args.runs, args.every, args.unroll_steps)
    if args.buffer:
        print("\n| run | positions | decided outcomes | sign agrees with the outcome | mean error "
              "| mean squared error | mean size of the values | reward of winning moves "
              "(target 1) | size of other rewards (target 0) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for run in args.runs:
            score = value_on_buffer(run, args.buffer)
            print(f"| {run.name} | {args.buffer} | {score['decided']:.2f} "
                  f"| {score['sign agrees']:.3f} | {score['error']:.3f} "
                  f"| {score['squared error']:.3f} | {score['mean |value|']:.3f} "
                  f"| {score['winning reward']:.3f} | {score['other reward']:.3f} |")
    if args.strength:
        print("\n| run | self-play positions | training minutes (wall) | opponent "
              "| W-D-L | score (95%) |")
        print("|---|---|---|---|---|---|")
        for run in args.runs:
            data, series = strength(run, args.strength, args.opponents)
            minutes = float(data.get("train_seconds", float("nan"))) / 60
            for opponent, result in series:
                mean, low, high = result.score()
                print(f"| {run.name} | {int(data['step']):,} "
                      f"| {minutes:.1f} | `{opponent}` | {result.wins}-{result.draws}-"
                      f"{result.losses} | {mean:.3f} ({low:.3f}..{high:.3f}) |",
                      flush=True)
    if args.modes:
        print(f"\n| run | positions | mode | value loss (K + 1 = {args.unroll_steps + 1} steps) "
              "| value error (first step) | reward loss | policy loss |")
        print("|---|---|---|---|---|---|---|")
        for run in args.runs:
            for mode, parts in loss_by_mode(run, args.modes, args.unroll_steps).items():
                print(f"| {run.name} | {args.modes} | {mode} | {parts['losses/value']:.3f} "
                      f"| {parts['losses/value_error']:.3f} | {parts['losses/reward']:.3f} "
                      f"| {parts['losses/policy']:.3f} |")
    if args.missed_wins:
        print("\n| run | self-play games replayed | positions with a win in one | missed | share |")
        print("|---|---|---|---|---|")
        for run in args.runs:
            games, chances, missed = missed_wins(run, args.missed_wins)
            print(f"| {run.name} | {games} | {chances} | {missed} "
                  f"| {missed / max(chances, 1):.2f} |")
    if args.held_out:
        print(f"\n| games of | held-out squared error after {args.held_out} steps "
              "| predicting 0 | sign agrees (decided outcomes) |")
        print("|---|---|---|---|")
        scores = [(run.name, held_out_of_run(run, args.held_out)) for run in args.runs]
        if args.alphazero_buffer:
            shape = load_run(args.runs[0])[1]
            scores.append((f"AlphaZero ({args.alphazero_buffer})",
                           held_out_of_alphazero(args.alphazero_buffer, shape, args.held_out)))
        for name, score in scores:
            print(f"| {name} | {score['squared error']:.3f} | {score['predicting 0']:.3f} "
                  f"| {score['sign agrees']:.3f} |")


if __name__ == "__main__":
    main()
