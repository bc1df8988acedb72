"""MuZero against DQN at equal environment steps on MinAtar games, from run folders.

For each game: MuZero's last greedy evaluation (``eval/return`` in its metrics.jsonl, at N
environment steps = self-play positions) and its self-play return near N; DQN's training
return (epsilon-greedy, mean of the episodes of the 5,000 steps before the record) at the
record nearest N, with its epsilon there, and DQN's own greedy evaluation with the step it was
taken at (only at the end of its run, so usually not at N: a fair comparison is the training
column at equal steps). Random and the MinAtar paper's DQN at 0.5M steps are the references
in docs/learners.md (random over 100 episodes).

    python benchmarks/muzero_vs_dqn.py
    python benchmarks/muzero_vs_dqn.py --muzero runs/minatar/muzero_{game} \\
        --dqn /work/main/runs/minatar/dqn_{game} --games breakout space_invaders
    python benchmarks/muzero_vs_dqn.py --muzero runs/mzc/{game}_plain_s{seed} \\
        --dqn runs/mzc/dqn_{game}_20k_s{seed} --seeds 1 2 3

With DQN runs of ``total_steps`` N (their exploration schedule fitted to N), DQN's own greedy
evaluation is at N too: the equal-steps comparison of greedy play.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

# docs/learners.md, "MinAtar": a random agent over 100 episodes, and the MinAtar paper's DQN
# at 0.5M steps read off the MinAtar repository's learning curves
RANDOM = {"breakout": 0.53, "space_invaders": 2.6, "freeway": 0.05}
PAPER_DQN_500K = {"breakout": 8.0, "space_invaders": 22.0}


def records(folder: Path) -> list[dict[str, Any]]:
    path = folder / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def last_with(rows: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    found = [row for row in rows if key in row]
    return found[-1] if found else None


def nearest(rows: list[dict[str, Any]], key: str, step: int) -> dict[str, Any] | None:
    found = [row for row in rows if key in row]
    return min(found, key=lambda row: abs(int(row["step"]) - step)) if found else None


def mean_near(rows: list[dict[str, Any]], key: str, step: int, window: int) -> float | None:
    values = [row[key] for row in rows if key in row and step - window < row["step"] <= step]
    return sum(values) / len(values) if values else None


def figure(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def row_for(game: str, muzero: Path, dqn: Path, steps: int = 0,
            found: dict[str, list[float]] | None = None, label: str = "") -> str:
    """The table row of one MuZero run and one DQN run, headed ``label`` (default: the game);
    ``found`` collects the two greedy evaluations (keys muzero and dqn) for the mean row of
    several seeds."""
    label = label or game
    mz = records(muzero)
    if steps:
        mz = [row for row in mz if int(row["step"]) <= steps]
    evaluation = last_with(mz, "eval/return")
    if evaluation is None:
        return f"| {label} | no MuZero evaluation in {muzero} | | | | | | |"
    steps = int(evaluation["step"])
    selfplay = mean_near(mz, "selfplay/return", steps, max(steps // 10, 1))
    dq = records(dqn)
    train = nearest(dq, "episode/return", steps)
    final = last_with(dq, "eval/return")
    dqn_train = "-" if train is None else (
        f"{train['episode/return']:.2f} (at {int(train['step']):,}, "
        f"epsilon {train.get('train/epsilon', float('nan')):.2f})")
    dqn_eval = "-" if final is None else (
        f"{final['eval/return']:.2f} (at {int(final['step']):,})")
    if found is not None:
        found.setdefault("muzero", []).append(evaluation["eval/return"])
        if final is not None:
            found.setdefault("dqn", []).append(final["eval/return"])
    muzero_eval = (f"{evaluation['eval/return']:.2f} (std "
                   f"{evaluation.get('eval/return_std', float('nan')):.2f})")
    return (f"| {label} | {steps:,} | {muzero_eval} | {figure(selfplay)} | {dqn_train} | "
            f"{dqn_eval} | {figure(RANDOM.get(game))} | {figure(PAPER_DQN_500K.get(game), 0)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", nargs="+", default=["breakout", "space_invaders"])
    parser.add_argument("--muzero", default="runs/minatar/muzero_{game}",
                        help="MuZero run folder, {game} replaced")
    parser.add_argument("--dqn", default="runs/minatar/dqn_{game}",
                        help="DQN run folder, {game} replaced")
    parser.add_argument("--steps", type=int, default=0,
                        help="use MuZero's last evaluation at or before this many steps "
                             "(0: its last one)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[],
                        help="one row per seed ({seed} in the folders replaced) and a row of "
                             "the means of the greedy evaluations over the seeds")
    args = parser.parse_args()
    print("| game | steps N | MuZero greedy eval at N | MuZero self-play return near N | "
          "DQN training return at N | DQN greedy eval (its final step) | random | "
          "paper DQN at 0.5M |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for game in args.games:
        found: dict[str, list[float]] = {}
        for seed in args.seeds or [None]:
            label = game if seed is None else f"{game} seed {seed}"
            print(row_for(game, Path(args.muzero.format(game=game, seed=seed)),
                          Path(args.dqn.format(game=game, seed=seed)), args.steps,
                          found, label))
        if args.seeds:
            mean = {key: f"{statistics.mean(values):.2f} over {len(values)} seeds"
                    for key, values in found.items()}
            print(f"| {game}, mean | | {mean.get('muzero', '-')} | | | "
                  f"{mean.get('dqn', '-')} | | |")


if __name__ == "__main__":
    main()
