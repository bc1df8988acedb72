"""Actor-mimic on MinAtar: one student against its four experts, and its trunk as a start on a
fifth game.

Four parts, each a subcommand:

- ``train``: the distillation run of ``configs/actor_mimic_minatar.yaml`` in ``RUNS/mimic``
  (the experts are the shipped ``ppo:checkpoint=builtin:minatar_GAME``), then the transfer runs: PPO
  on the held-out ``minatar:breakout`` for ``--transfer-steps`` steps, three seeds from scratch
  and three from the student's trunk (``--set init=RUNS/mimic/checkpoint.pt``), each in its own
  folder under ``RUNS/transfer``. ``nice``'d and resumable: a finished run is skipped, an
  unfinished one continues from its checkpoint. ``--students policy,feature`` adds a second
  student trained with feature regression (``beta=0.1``, the paper's AMN-feature) in
  ``RUNS/mimic_feature`` and three transfer runs from its trunk; ``one_expert`` three from
  the torso of one expert (the shipped PPO space_invaders), no student; ``kinds`` a student
  that reads every game's planes as shared object kinds (``kinds=true``: MinAtar's player,
  enemy, prize, trail...) in ``RUNS/mimic_kinds``, whose trunk starts breakout through
  breakout's own planes' kinds.
- ``scores``: each game's student and expert, greedy, on the same seeds (``--episodes``
  episodes from seed 10001, cut at 5,000 actions): the student's share of its expert's score
  (the goal: at least 0.9 on every game).
- ``transfer``: environment steps until PPO on breakout reaches half the breakout expert's
  score (its greedy evaluation, as ``scores`` measures it), from the trunk
  against from scratch, per seed. The return is PPO's training return (sampled actions), the
  mean of its last three logged updates (about 3,000 steps); a run that never gets there counts
  as its cap, said with a ``>``.
- ``cost``: parameters, and moves per second answering a batch of states of every game (one
  ``act_batch`` per game, as the arena calls it), the student against the four experts.

Run: ``python benchmarks/actor_mimic.py train --runs runs/minatar``, then ``scores``,
``transfer`` and ``cost`` with the same ``--runs``; ``ship`` writes the student as
``actor_mimic:checkpoint=builtin:minatar`` (weights and metadata only).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

# This script's folder is on the path when it runs: the run folders' metrics, read once, and
# the experts' table's window of training returns (sibling scripts, not a package).
from minatar_experts import greedy_scores, training_return
from minatar_learning import metrics

from gamepit.errors import GamepitError
from gamepit.plugins.manager import PluginManager

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "actor_mimic_minatar.yaml"
STUDENT_GAMES = ["asterix", "freeway", "seaquest", "space_invaders"]
# The experts: the PPO networks shipped as ppo:checkpoint=builtin:minatar_GAME (5M steps each,
# benchmarks/minatar_experts.py), so a student distils again from a clean checkout.
EXPERT_DIR = ROOT / "gamepit" / "learners" / "ppo" / "checkpoints"
HELD_OUT = "breakout"
# Trunks to transfer from: run folder and --set overrides of the config. "policy": policy
# regression only (the config); "feature": with feature regression (the paper's AMN-feature);
# "one_expert": not a student (None: nothing to train), the torso of one game's expert, to tell
# a multi-game trunk's effect from that of any other game's.
STUDENTS: dict[str, tuple[str, list[str] | None]] = {
    "policy": ("mimic", []), "feature": ("mimic_feature", ["beta=0.1"]),
    "one_expert": ("minatar_space_invaders.pt", None),
    "kinds": ("mimic_kinds", ["kinds=true", "planes=0"])}
LABELS = {"scratch": "scratch", "policy": "the trunk", "feature": "the AMN-feature trunk",
          "one_expert": "PPO space_invaders' torso", "kinds": "the object-kinds trunk"}
SEEDS = (1, 2, 3)
ENVIRONMENT = {**os.environ, "PYTHONPATH": str(ROOT)}


def finished(folder: Path) -> bool:
    return any(key.startswith("eval/") for row in metrics(folder) for key in row)


def expert_spec(game: str) -> str:
    return f"ppo:checkpoint=builtin:minatar_{game}"


def trunk_of(runs: Path, start: str) -> Path:
    """The checkpoint whose trunk starts a transfer run: a student's, or one expert's."""
    folder, overrides = STUDENTS[start]
    return runs / folder / "checkpoint.pt" if overrides is not None else EXPERT_DIR / folder


def gamepit(arguments: list[str], cwd: Path) -> None:
    command = ["nice", "-n", "10", sys.executable, "-m", "gamepit", *arguments]
    print(" ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=cwd, env=ENVIRONMENT)


def train(runs: Path, transfer_steps: int, variants: list[str], settings: list[str]) -> None:
    experts = ";".join(expert_spec(game) for game in STUDENT_GAMES)
    for variant in variants:
        folder, overrides = STUDENTS[variant]
        if overrides is not None and not finished(runs / folder):
            sets = [part for override in [*overrides, *settings] for part in ("--set", override)]
            gamepit(["train", "actor_mimic", "--config", str(CONFIG), "--set",
                     f"experts={experts}", *sets, "--run", str(runs / folder), "--device",
                     "cpu"], runs)
    for seed in SEEDS:
        for start in ["scratch", *variants]:
            folder = runs / "transfer" / transfer_folder(start, seed)
            if finished(folder):
                continue
            extra = (["--set", f"init={trunk_of(runs, start)}"]
                     if start != "scratch" else [])
            gamepit(["train", "ppo", "--game", f"minatar:{HELD_OUT}", "--config",
                     str(ROOT / "configs" / "ppo_minatar.yaml"), "--set",
                     f"total_steps={transfer_steps}", "--set", f"seed={seed}", "--set",
                     "checkpoint_every=50000", "--run", str(folder), "--device", "cpu",
                     *extra], runs)


def transfer_folder(start: str, seed: int) -> str:
    """``scratch``, or the student variant whose trunk starts the run."""
    named = {"scratch": "scratch", "policy": "trunk"}.get(start, f"trunk-{start}")
    return f"ppo_{HELD_OUT}_{named}_s{seed}"


def scores(runs: Path, episodes: int, folder: str = "mimic") -> dict[str, float]:
    manager = PluginManager(autoload=False)
    registry = manager.registry
    student = f"actor_mimic:checkpoint={runs / folder / 'checkpoint.pt'}"
    print("| game | expert | expert score | student score | student / expert |")
    print("|---|---|---|---|---|")
    expert_scores = {}
    for game in STUDENT_GAMES + [HELD_OUT]:
        theirs = greedy_scores(registry, manager, game, expert_spec(game), episodes)
        expert_scores[game] = float(np.mean(theirs))
        if game == HELD_OUT:
            print(f"| {game} (held out) | {expert_spec(game)} | {np.mean(theirs):.2f} | - | - |")
            continue
        ours = greedy_scores(registry, manager, game, student, episodes)
        share = np.mean(ours) / np.mean(theirs) if np.mean(theirs) else float("nan")
        print(f"| {game} | {expert_spec(game)} | {np.mean(theirs):.2f} +- "
              f"{np.std(theirs) / np.sqrt(episodes):.2f} | {np.mean(ours):.2f} +- "
              f"{np.std(ours) / np.sqrt(episodes):.2f} | {share:.2f} |")
    return expert_scores


def steps_to(folder: Path, threshold: float, window: int = 3) -> tuple[int, bool]:
    rows = [row for row in metrics(folder) if "episode/return" in row]
    returns = [row["episode/return"] for row in rows]
    for index in range(window - 1, len(rows)):
        if np.mean(returns[index - window + 1:index + 1]) >= threshold:
            return int(rows[index]["step"]), True
    return (int(rows[-1]["step"]) if rows else 0), False


def transfer(runs: Path, episodes: int) -> None:
    manager = PluginManager(autoload=False)
    expert = greedy_scores(manager.registry, manager, HELD_OUT, expert_spec(HELD_OUT),
                           episodes)
    threshold = float(np.mean(expert)) / 2
    print(f"held-out {HELD_OUT}: {expert_spec(HELD_OUT)} scores {np.mean(expert):.2f} greedy over "
          f"{episodes} episodes; half of it: {threshold:.2f}\n")
    starts = ["scratch"] + [variant for variant in STUDENTS if variant != "scratch" and all(
        (runs / "transfer" / transfer_folder(variant, seed)).is_dir() for seed in SEEDS)]
    print("| seed | " + " | ".join(f"steps from {LABELS[start]}" for start in starts) + " | "
          + " | ".join(f"scratch / {LABELS[start]}" for start in starts[1:]) + " |")
    print("|---" * (2 * len(starts)) + "|")
    totals: dict[str, list[int]] = {start: [] for start in starts}
    for seed in SEEDS:
        found = {start: steps_to(runs / "transfer" / transfer_folder(start, seed), threshold)
                 for start in starts}
        for start in starts:
            totals[start].append(found[start][0])
        shown = [f"{'' if ok else '>'}{steps:,}" for steps, ok in found.values()]
        ratios = [f"{found['scratch'][0] / max(found[start][0], 1):.2f}" for start in starts[1:]]
        print(f"| {seed} | " + " | ".join(shown + ratios) + " |")
    means = [float(np.mean(totals[start])) for start in starts]
    print("| mean | " + " | ".join(f"{mean:,.0f}" for mean in means) + " | "
          + " | ".join(f"{means[0] / max(mean, 1):.2f}" for mean in means[1:]) + " |")
    # Where few runs reach the threshold, the curves say more: the training return (the mean
    # of the updates logged in the 100,000 steps up to each point), averaged over the seeds.
    cap = max(row["step"] for start in starts for seed in SEEDS
              for row in metrics(runs / "transfer" / transfer_folder(start, seed)))
    points = [p for p in (250_000, 500_000, 1_000_000, 2_000_000) if p < cap] + [cap]
    print("\n| start | " + " | ".join(f"return at {p:,} steps" for p in points) + " |")
    print("|---" * (len(points) + 1) + "|")
    for start in starts:
        runs_of_start = [metrics(runs / "transfer" / transfer_folder(start, seed))
                         for seed in SEEDS]
        cells = [np.mean([training_return(rows, at) for rows in runs_of_start])
                 for at in points]
        print(f"| {LABELS[start]} | " + " | ".join(f"{cell:.1f}" for cell in cells) + " |")


def moves_per_second(agent, states: list, seconds: float = 2.0) -> float:
    moves, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        agent.act_batch(states)
        moves += len(states)
    return moves / (time.perf_counter() - started)


def cost(runs: Path, batch: int) -> None:
    torch.set_num_threads(1)
    manager = PluginManager(autoload=False)
    registry = manager.registry
    student_spec = f"actor_mimic:checkpoint={runs / 'mimic' / 'checkpoint.pt'}"
    rows, student_params = [], 0
    for game_name in STUDENT_GAMES:
        game = registry.make_game(f"minatar:{game_name}")
        states = [game.new_state(seed) for seed in range(batch)]
        expert = registry.make_agent(expert_spec(game_name), game)
        expert.reset(game, 0, 1)
        student = registry.make_agent(student_spec, game)
        student.reset(game, 0, 1)
        student_params = sum(p.numel() for p in student.network.student.parameters())
        rows.append((game_name, sum(p.numel() for p in expert.network.parameters()),
                     moves_per_second(expert, states), moves_per_second(student, states)))
    print(f"batch of {batch} states of each game per act_batch call, one thread\n")
    print("| game | expert parameters | expert moves/s | student moves/s (its head) |")
    print("|---|---|---|---|")
    for name, params, theirs, ours in rows:
        print(f"| {name} | {params:,} | {theirs:,.0f} | {ours:,.0f} |")
    # Answering one batch of every game: the sum of the per-game times.
    experts_all = len(rows) / sum(1 / theirs for _, _, theirs, _ in rows)
    student_all = len(rows) / sum(1 / ours for _, _, _, ours in rows)
    expert_params = sum(params for _, params, _, _ in rows)
    print(f"| all four | {expert_params:,} (sum) | {experts_all:,.0f} | {student_all:,.0f} |")
    print(f"\nstudent: {student_params:,} parameters, {student_params / expert_params:.2f} of the "
          f"experts' sum; moves/s {student_all / experts_all:.2f}x the experts'")


def ship(runs: Path) -> None:
    """Write the distilled student, weights and metadata only (no optimizer, no random states),
    as the built-in ``actor_mimic:checkpoint=builtin:minatar``; expert paths become relative."""
    from gamepit.learners import toolkit
    from gamepit.learners.actor_mimic.learner import BUILTIN_DIR

    data = toolkit.load_checkpoint(runs / "mimic" / "checkpoint.pt")
    experts = [expert_spec(game) for game in STUDENT_GAMES]
    keep = ("algorithm", "game", "games", "game_names", "observation_shapes",
            "observation_shape", "num_actions", "feature_sizes", "network", "step",
            "object_kinds", "plane_kinds")
    shipped = {key: data[key] for key in keep if key in data}
    shipped["experts"] = experts
    shipped["args"] = {**data["args"], "experts": ";".join(experts), "run_dir": ""}
    path = toolkit.save_checkpoint(BUILTIN_DIR / "minatar.pt", shipped)
    print(f"{path}: {path.stat().st_size / 1024:.0f} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["train", "scores", "transfer", "cost", "ship"])
    parser.add_argument("--runs", default="runs/minatar", help="folder of the expert runs")
    parser.add_argument("--episodes", type=int, default=30, help="evaluation episodes a game")
    parser.add_argument("--transfer-steps", type=int, default=2_500_608,
                        help="cap of each transfer run (whole PPO rollouts of 1,024): PPO "
                        "from scratch reaches half the 5M-step expert's score in about 2M")
    parser.add_argument("--batch", type=int, default=32, help="states per act_batch (cost)")
    parser.add_argument("--students", default="policy", help="trunks to train (students) and "
                        "transfer from, comma-separated: policy, feature, one_expert, kinds")
    parser.add_argument("--student", default="mimic", help="the student's folder under "
                        "--runs that scores measures (mimic_kinds: the kinds student)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting of the students' runs over the config's (train): "
                        "epsilon=0.1 repeats the runs made before the config's epsilon was 0.01")
    args = parser.parse_args()
    runs = Path(args.runs).resolve()
    if args.part == "train":
        train(runs, args.transfer_steps, args.students.split(","), args.set)
    elif args.part == "scores":
        scores(runs, args.episodes, args.student)
    elif args.part == "transfer":
        transfer(runs, args.episodes)
    elif args.part == "cost":
        cost(runs, args.batch)
    else:
        ship(runs)


if __name__ == "__main__":
    try:
        main()
    except GamepitError as error:  # a missing expert run, a damaged checkpoint: one line
        sys.exit(f"actor_mimic benchmark: {error}")
