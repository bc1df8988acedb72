"""DAgger against behaviour cloning at equal expert labels, over several seeds, on a MinAtar
game with a trained DQN (or PPO) teacher: each run is ``configs/dagger_minatar.yaml`` (10
rounds of 400 labels); the table gives each student's greedy evaluation (20 episodes, the same
seeds for all) per seed, the means, and DAgger's mean as a multiple of BC's (issue 13's goal:
1.5x). Runs already finished in ``--runs`` are read, not retrained.

    python benchmarks/imitation_minatar.py \\
        --expert dqn:checkpoint=runs/minatar/dqn_breakout/checkpoint.pt --seeds 1,2,3
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

# This script's folder is on the path when it runs.
from minatar_learning import metrics  # a sibling script, not a package


def final_eval(run: Path) -> float | None:
    """The run's last ``eval/return`` in metrics.jsonl, or None if it has none yet."""
    found = [row["eval/return"] for row in metrics(run) if "eval/return" in row]
    return float(found[-1]) if found else None


def train(algorithm: str, game: str, expert: str, seed: int, run: Path, config: str,
          overrides: list[str]) -> float:
    if final_eval(run) is None:
        command = [sys.executable, "-m", "gamepit", "train", algorithm, "--game", game,
                   "--config", config, "--run", str(run), "--set", f"expert={expert}",
                   "--set", f"seed={seed}"]
        command += [part for override in overrides for part in ("--set", override)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    score = final_eval(run)
    assert score is not None, f"{run}: no evaluation in metrics.jsonl"
    return score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", default="minatar:breakout")
    parser.add_argument("--expert", required=True, help="agent spec of the teacher")
    parser.add_argument("--config", default="configs/dagger_minatar.yaml")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--runs", default="runs/imitation_minatar", type=Path)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting of both students (repeatable), e.g. "
                        "labels_per_round=4000")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    name = args.game.replace(":", "_")
    scores: dict[str, list[float]] = {}
    for algorithm in ("dagger", "bc"):
        scores[algorithm] = [
            train(algorithm, args.game, args.expert, seed,
                  args.runs / f"{algorithm}_{name}_seed{seed}", args.config, args.set)
            for seed in seeds]
    print(f"{args.game}, teacher {args.expert}, {args.config} {' '.join(args.set)}, greedy "
          "evaluation return\n")
    print("| student | " + " | ".join(f"seed {s}" for s in seeds) + " | mean (sd) |")
    print("|---|" + "---:|" * (len(seeds) + 1))
    for algorithm, row in scores.items():
        cells = " | ".join(f"{value:.2f}" for value in row)
        print(f"| {algorithm} | {cells} | {np.mean(row):.2f} ({np.std(row):.2f}) |")
    ratio = np.mean(scores["dagger"]) / max(np.mean(scores["bc"]), 1e-9)
    print(f"\nDAgger / BC at equal labels: {ratio:.2f}x (goal 1.5x)")


if __name__ == "__main__":
    main()
