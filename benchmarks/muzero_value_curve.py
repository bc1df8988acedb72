"""MuZero's value loss curve, runs side by side: how well the value head learns, from each run's
``metrics.jsonl``.

    python benchmarks/muzero_value_curve.py runs/mz_c4_before runs/mz_c4_fix [--every 10]
        [--unroll-steps 5]

For each run and every ``--every`` iterations (and the last): the value loss a step (the summed
cross-entropy over the K + 1 unrolled steps, divided by K + 1, whose floor depends on the
support and the transform), the first step's scalar value error |v - z| (comparable across
supports and transforms), the policy loss, the self-play positions so far, and the ratio of each
run's value error to the first run's at the same iteration. Then, with ``--buffer N``, each run's
``model.pt`` on N positions drawn from its own replay buffer (``replay_buffer.npz``): how often
the sign of its value agrees with the game's outcome for the player to move, its mean error and
mean squared error (AlphaZero's value loss is the latter), and the mean size of its values (a
value head stuck at the mean outcome predicts values near 0); and the reward the dynamics
predicts for the moves that won their games (target 1 for the mover) and for all other moves
(target 0).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from minatar_learning import metrics  # a sibling script, not a package

from gamepit.learners.muzero import learner as muzero
from gamepit.plugins.manager import get_manager
from gamepit.training.settings import merge


def by_iteration(folder: Path) -> dict[int, dict]:
    rows = [row for row in metrics(folder) if "losses/value" in row]
    return {int(row["progress/iteration"]): row for row in rows}


def value_on_buffer(folder: Path, positions: int, seed: int = 0) -> dict[str, float]:
    """The run's model on ``positions`` positions of its replay buffer, against their targets."""
    network, data = muzero.load_agent_network(str(folder / muzero.MODEL))
    args = merge(muzero.MuZeroArgs, "muzero", {**data["args"], "unroll_steps": 1,
                                                "priority": False})
    shape = muzero.stored_shape(data["shape"])
    game = get_manager().registry.make_game(str(data["game"]))
    buffer = muzero.ReplayBuffer(args.buffer_size, shape["observation_shape"],
                                 shape["num_actions"],
                                 getattr(game, "observation_dtype", np.float32))
    buffer.load(folder / muzero.BUFFER)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders; the first is the peer")
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--unroll-steps", type=int, default=5, help="K the runs trained with")
    parser.add_argument("--buffer", type=int, default=0,
                        help="also score each run's model.pt on this many of its buffer's "
                        "positions")
    args = parser.parse_args()
    curves = {run: by_iteration(run) for run in args.runs}
    for run, curve in curves.items():
        if not curve:
            raise SystemExit(f"{run}: no training losses in metrics.jsonl")
    last = max(max(curve) for curve in curves.values())
    marks = sorted({i for i in range(args.every, last + 1, args.every)}
                   | {max(curve) for curve in curves.values()})
    peer = args.runs[0]
    header = ["iteration"]
    for run in args.runs:
        name = run.name
        header += [f"{name} value loss/step", f"{name} value error", f"{name} policy loss",
                   f"{name} positions"]
        if run != peer:
            header.append(f"{name} error / {peer.name}")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for mark in marks:
        cells = [str(mark)]
        for run in args.runs:
            row = curves[run].get(mark)
            if row is None:
                cells += ["", "", "", ""] + ([""] if run != peer else [])
                continue
            cells += [f"{row['losses/value'] / (args.unroll_steps + 1):.3f}",
                      f"{row['losses/value_error']:.3f}" if "losses/value_error" in row else "",
                      f"{row['losses/policy']:.2f}", f"{int(row['step']):,}"]
            if run != peer:
                base = curves[peer].get(mark, {}).get("losses/value_error")
                mine = row.get("losses/value_error")
                cells.append(f"{mine / base:.2f}" if base and mine is not None else "")
        print("| " + " | ".join(cells) + " |")

    if args.buffer:
        print()
        print("| run | positions | decided outcomes | sign agrees with the outcome | mean error "
              "| mean squared error | mean size of the values | reward of winning moves (target 1) "
              "| size of other rewards (target 0) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for run in args.runs:
            score = value_on_buffer(run, args.buffer)
            print(f"| {run.name} | {args.buffer} | {score['decided']:.2f} "
                  f"| {score['sign agrees']:.3f} | {score['error']:.3f} "
                  f"| {score['squared error']:.3f} | {score['mean |value|']:.3f} "
                  f"| {score['winning reward']:.3f} | {score['other reward']:.3f} |")


if __name__ == "__main__":
    main()
