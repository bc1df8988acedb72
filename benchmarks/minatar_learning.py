"""MinAtar: how cheap the simulator is, and what DQN and PPO learn on it, beside the paper.

Three parts, each a subcommand:

- ``speed``: microseconds per ``State.clone()`` against ``copy.deepcopy`` of the State and of
  the ``minatar`` package's own ``Environment`` (whose numpy RandomState dominates a copy), and
  steps per second of the vector environment (random actions) and of ``apply`` + ``clone`` as a
  planner drives it.
- ``train``: the training runs of the table, one after another, each in its own run folder
  under ``--runs``; ``nice``'d, and resumable: a rerun continues each unfinished run from its
  last checkpoint and skips finished ones.
- ``table``: for each run folder, the steps trained, the training return (epsilon-greedy for
  DQN, sampled for PPO: the mean of the last logged windows) and the greedy evaluation return
  (20 episodes, seeds 10001.., cut at 5,000 actions), beside the MinAtar paper's returns.

The paper's references (Young & Tian 2019, arXiv:1903.03176) are read off the learning-curve
figure in the MinAtar repository (``img/learning_curves.gif``; the paper and README give curves,
not tables): the moving average of training returns over 100 episodes, 30 seeds, full action
set, sticky actions 0.1, at 0.5M and at 5M frames (a MinAtar frame is one step). They are
approximate (about +-1 on breakout, +-2 elsewhere, +-5 on space invaders). Their DQN trains once
per step; ours (configs/dqn_minatar.yaml) once per 4 steps on 4 environments.

Run: ``python benchmarks/minatar_learning.py speed``, then
``python benchmarks/minatar_learning.py train --runs runs/minatar`` (about an hour on a shared
2-core CPU) and ``python benchmarks/minatar_learning.py table --runs runs/minatar``.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from gamepit.plugins.manager import PluginManager

ROOT = Path(__file__).resolve().parents[1]

# (learner, game, total steps, extra --set overrides): the runs of the table.
RUNS = [
    ("dqn", "breakout", 500_000, []),
    ("ppo", "breakout", 500_736, []),  # whole rollouts of 8 x 128
    ("dqn", "space_invaders", 250_000, ["exploration_fraction=0.4"]),
]

# Read off the MinAtar learning-curve figure: game -> {agent: (at 0.5M steps, at 5M steps)}.
PAPER = {
    "asterix": {"DQN": (1, 17), "AC(0.8)": (0.5, 19)},
    "breakout": {"DQN": (8, 10), "AC(0.8)": (6, 17.5)},
    "freeway": {"DQN": (15, 50), "AC(0.8)": (0, 47)},
    "seaquest": {"DQN": (0.8, 20), "AC(0.8)": (0.5, 15.5)},
    "space_invaders": {"DQN": (22, 43), "AC(0.8)": (30, 185)},
}


def microseconds(function, seconds: float = 1.0) -> float:
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        function()
        calls += 1
    return (time.perf_counter() - started) / calls * 1e6


def deepcopy_state(state) -> object:
    """A deep copy of a State that shares its game (the game holds a module), with a fresh
    memo each time."""
    return copy.deepcopy(state, {id(state.game): state.game})


def speed() -> None:
    registry = PluginManager(autoload=False).registry
    from minatar import Environment

    print("| game | clone (us) | deepcopy of the State (us) | deepcopy of minatar.Environment "
          "(us) | vector env, 8 envs (steps/s) | apply + clone (steps/s) |")
    print("|---|---|---|---|---|---|")
    for name in ("asterix", "breakout", "freeway", "seaquest", "space_invaders"):
        game = registry.make_game(f"minatar:{name}")
        rng = np.random.default_rng(0)
        state = game.new_state(0)
        for _ in range(30):
            if state.is_terminal():
                state = game.new_state(1)
            state.apply(int(rng.integers(6)))
        clone = microseconds(state.clone)
        deep = microseconds(functools.partial(deepcopy_state, state))
        theirs = Environment(name)
        theirs.seed(0)
        theirs.reset()
        for _ in range(30):
            theirs.act(int(rng.integers(6)))
        their_copy = microseconds(functools.partial(copy.deepcopy, theirs))
        envs = game.vector_env(8, seed=0)
        envs.reset()
        steps, started = 0, time.perf_counter()
        while time.perf_counter() - started < 2.0:
            envs.step(rng.integers(6, size=8))
            steps += 8
        vector = steps / (time.perf_counter() - started)
        state, steps, started = game.new_state(0), 0, time.perf_counter()
        while time.perf_counter() - started < 1.0:
            if state.is_terminal():
                state = game.new_state(steps)
            state = state.clone()
            state.apply(int(rng.integers(6)))
            steps += 1
        planner = steps / (time.perf_counter() - started)
        print(f"| {name} | {clone:.1f} | {deep:.1f} | {their_copy:.1f} | {vector:,.0f} | "
              f"{planner:,.0f} |")


def run_folder(runs: Path, learner: str, game: str) -> Path:
    return runs / f"{learner}_{game}"


def train(runs: Path) -> None:
    for learner, game, steps, extra in RUNS:
        folder = run_folder(runs, learner, game)
        if finished(folder):
            print(f"{folder}: finished, skipped")
            continue
        command = ["nice", "-n", "10", sys.executable, "-m", "gamepit", "train", learner,
                   "--game", f"minatar:{game}", "--config",
                   str(ROOT / "configs" / f"{learner}_minatar.yaml"),
                   "--set", f"total_steps={steps}", "--run", str(folder), "--device", "cpu"]
        for override in extra:
            command += ["--set", override]
        print(" ".join(command), flush=True)
        subprocess.run(command, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def metrics(folder: Path) -> list[dict]:
    path = folder / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def finished(folder: Path) -> bool:
    return any("eval/return" in row for row in metrics(folder))


def table(runs: Path) -> None:
    print("| learner | game | steps | training return (last 10%) | greedy eval return "
          "(20 episodes) | paper DQN at 0.5M / 5M | paper AC(0.8) at 0.5M / 5M | minutes |")
    print("|---|---|---|---|---|---|---|---|")
    for learner, game, _, _ in RUNS:
        rows = metrics(run_folder(runs, learner, game))
        if not rows:
            continue
        steps = max(row["step"] for row in rows)
        window = [row["episode/return"] for row in rows
                  if "episode/return" in row and row["step"] >= 0.9 * steps]
        evaluation = [row for row in rows if "eval/return" in row]
        minutes = (rows[-1]["time"] - rows[0]["time"]) / 60
        said = (f"{evaluation[-1]['eval/return']:.1f} +- {evaluation[-1]['eval/return_std']:.1f}"
                if evaluation else "(not finished)")
        dqn, ac = PAPER[game]["DQN"], PAPER[game]["AC(0.8)"]
        print(f"| {learner} | {game} | {steps:,} | {np.mean(window) if window else np.nan:.1f} "
              f"| {said} | {dqn[0]:g} / {dqn[1]:g} | {ac[0]:g} / {ac[1]:g} | {minutes:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["speed", "train", "table"])
    parser.add_argument("--runs", default="runs/minatar", help="folder of the run folders")
    args = parser.parse_args()
    if args.part == "speed":
        speed()
    elif args.part == "train":
        train(Path(args.runs))
    else:
        table(Path(args.runs))


if __name__ == "__main__":
    main()
