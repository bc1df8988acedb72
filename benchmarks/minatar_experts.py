"""MinAtar experts: PPO on all five games for the MinAtar paper's 5M frames, beside the paper.

Five parts, each a subcommand:

- ``train``: PPO (``configs/ppo_minatar.yaml``, 4,999,168 steps: whole rollouts of 8 x 128)
  on each game for each of ``--seeds``, in ``RUNS/ppo_GAME_seedN``, ``--jobs`` runs at a time
  (one thread each), ``nice``'d. Resumable: a finished run (one with its final evaluation) is
  skipped, an unfinished one goes on from its last checkpoint (every 50,000 steps).
- ``table``: a row per game: the training return (sampled actions; the mean of the updates
  logged in the last 100,000 steps before 0.5M and before 5M, averaged over the seeds), the
  greedy evaluation each run ends with (20 episodes, cut at 5,000 actions) per seed and their
  mean, the MinAtar paper's DQN and AC(0.8) at 0.5M / 5M, whether the mean greedy return
  reaches the paper's DQN at 5M, and the wall minutes a run trained (one thread; pauses left
  out; other jobs shared the machine, so read them as an upper bound of its CPU minutes).
- ``plot``: ``docs/minatar_experts.png``, the training return against environment steps per
  game (a thin line per seed, the mean thick), the mean greedy evaluation at the end (a
  cross), and the paper's points at 0.5M and 5M beside them.
- ``score``: agents (``--agents``; by default the shipped experts) greedy on ``--games``,
  ``--episodes`` episodes from seed 10001, as ``actor_mimic.py scores`` measures them.
- ``ship``: the seed-1 run of each game (the first seed, not the best: no picking), weights
  and metadata only, as ``ppo:checkpoint=builtin:minatar_GAME``; ``--ship-seed N`` takes
  another seed's run (seaquest's seeds 1-2 stall near a return of 6, seed 3 reaches 77).

The paper's references (Young & Tian 2019, arXiv:1903.03176) are read off the learning-curve
figure of the MinAtar repository (see ``minatar_learning.py``): the moving average of training
returns over 100 episodes (epsilon 0.1 for DQN) of 30 seeds, so a greedy evaluation and a
training return are both shown here.

Run: ``python benchmarks/minatar_experts.py train --runs runs/minatar_experts --seeds 1 2 3``
(each run about 15-30 minutes of one core), then ``table``, ``plot`` and ``ship``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

# This script's folder is on the path when it runs: the run folders' metrics, the references.
from minatar_learning import PAPER, finished, metrics  # a sibling script, not a package

from gamepit.arena import MatchSettings, play_lockstep
from gamepit.errors import GamepitError
from gamepit.plugins.manager import PluginManager

ROOT = Path(__file__).resolve().parents[1]
GAMES = ["asterix", "breakout", "freeway", "seaquest", "space_invaders"]
STEPS = 4_999_168  # whole rollouts of 8 environments x 128 steps, the paper's 5M frames
SHIPPED_SEED = 1
BUILTIN_DIR = ROOT / "gamepit" / "learners" / "ppo" / "checkpoints"
WINDOW = 100_000  # steps of training return averaged at each reference point
PAUSE = 60.0  # seconds between two logged updates that count as a pause, not training


def run_folder(runs: Path, game: str, seed: int) -> Path:
    return runs / f"ppo_{game}_seed{seed}"


def command(runs: Path, game: str, seed: int) -> list[str]:
    return ["nice", "-n", "10", sys.executable, "-m", "gamepit", "train", "ppo",
            "--game", f"minatar:{game}", "--config", str(ROOT / "configs" / "ppo_minatar.yaml"),
            "--set", f"total_steps={STEPS}", "--seed", str(seed), "--device", "cpu",
            "--run", str(run_folder(runs, game, seed))]


def train(runs: Path, games: list[str], seeds: list[int], jobs: int) -> None:
    """Every (game, seed) run not yet finished, ``jobs`` at a time; each logs to its folder."""
    waiting = [(game, seed) for seed in seeds for game in games
               if not finished(run_folder(runs, game, seed))]
    running: list[subprocess.Popen] = []
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    while waiting or running:
        while waiting and len(running) < jobs:
            game, seed = waiting.pop(0)
            folder = run_folder(runs, game, seed)
            folder.mkdir(parents=True, exist_ok=True)
            print(" ".join(command(runs, game, seed)), flush=True)
            with open(folder / "train.log", "a") as log:
                running.append(subprocess.Popen(command(runs, game, seed), env=environment,
                                                stdout=log, stderr=subprocess.STDOUT))
        time.sleep(5)
        for process in [p for p in running if p.poll() is not None]:
            running.remove(process)
            if process.returncode:
                print(f"{' '.join(process.args[-1:])}: exit {process.returncode}", flush=True)


def training_return(rows: list[dict], at: int) -> float:
    """The mean training return of the updates logged in the ``WINDOW`` steps up to ``at``."""
    window = [row["episode/return"] for row in rows
              if "episode/return" in row and at - WINDOW < row["step"] <= at]
    return float(np.mean(window)) if window else float("nan")


def training_minutes(rows: list[dict]) -> float:
    """Wall minutes between the run's logged updates, leaving out pauses (a killed run's time
    until it resumed): PPO logs every rollout, a second or so apart."""
    times = np.array([row["time"] for row in rows if "episode/return" in row])
    gaps = np.diff(times)
    return float(gaps[gaps < PAUSE].sum() / 60)


def greedy(rows: list[dict]) -> float | None:
    evaluation = [row["eval/return"] for row in rows if "eval/return" in row]
    return evaluation[-1] if evaluation else None


def table(runs: Path, seeds: list[int]) -> None:
    print("| game | seeds | training return at 0.5M / 5M | greedy return per seed (20 "
          "episodes) | greedy mean | paper DQN at 0.5M / 5M | paper AC(0.8) at 0.5M / 5M "
          "| reaches DQN at 5M | minutes a run |")
    print("|---|---|---|---|---|---|---|---|---|")
    for game in GAMES:
        runs_of_game = {seed: metrics(run_folder(runs, game, seed)) for seed in seeds}
        runs_of_game = {seed: rows for seed, rows in runs_of_game.items() if rows}
        if not runs_of_game:
            continue
        early = np.nanmean([training_return(rows, 500_000) for rows in runs_of_game.values()])
        late = np.nanmean([training_return(rows, STEPS) for rows in runs_of_game.values()])
        greedy_returns = {seed: greedy(rows) for seed, rows in runs_of_game.items()}
        done = [value for value in greedy_returns.values() if value is not None]
        per_seed = ", ".join(f"{value:.1f}" if value is not None else "(running)"
                             for value in greedy_returns.values())
        mean = f"{np.mean(done):.1f}" if done else "-"
        minutes = np.mean([training_minutes(rows) for rows in runs_of_game.values()])
        dqn, ac = PAPER[game]["DQN"], PAPER[game]["AC(0.8)"]
        reaches = ("yes" if np.mean(done) >= dqn[1] else "no") if done else "-"
        print(f"| {game} | {len(runs_of_game)} | {early:.1f} / {late:.1f} | {per_seed} | {mean} "
              f"| {dqn[0]:g} / {dqn[1]:g} | {ac[0]:g} / {ac[1]:g} | {reaches} "
              f"| {minutes:.0f} |")


def plot(runs: Path, seeds: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(GAMES), figsize=(16, 3.4))
    for axis, game in zip(axes, GAMES, strict=True):
        grid = np.arange(WINDOW, STEPS + 1, WINDOW)
        curves, finals = [], []  # of the finished runs: the mean is over those alone
        for seed in seeds:
            rows = metrics(run_folder(runs, game, seed))
            returns = [row for row in rows if "episode/return" in row]
            if not returns:
                continue
            shown = grid[grid <= max(row["step"] for row in returns)]
            curve = [training_return(returns, int(at)) for at in shown]
            axis.plot(shown / 1e6, curve, color="tab:blue", alpha=0.3, linewidth=0.8)
            if greedy(rows) is not None:
                curves.append(curve)
                finals.append(greedy(rows))
        if curves:
            axis.plot(grid / 1e6, np.mean(curves, axis=0), color="tab:blue", linewidth=2,
                      label="our PPO, mean of the finished seeds (thin: each seed)")
        if finals:
            axis.plot([STEPS / 1e6], [np.mean(finals)], "x", color="black", markersize=8,
                      label="our PPO greedy, mean (20 episodes a seed)")
        for agent, marker, colour in (("DQN", "s", "tab:red"), ("AC(0.8)", "^", "tab:green")):
            axis.plot([0.5, 5.0], PAPER[game][agent], marker, color=colour, markersize=7,
                      label=f"paper {agent}")
        axis.set_title(game)
        axis.set_xlabel("environment steps (millions)")
    axes[0].set_ylabel("training return (100k-step mean)")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=4, fontsize=8)
    figure.suptitle("MinAtar: PPO (configs/ppo_minatar.yaml) against the MinAtar paper's "
                    "DQN and AC(0.8), read off its curves", fontsize=10)
    figure.tight_layout(rect=(0, 0.07, 1, 1))
    out = ROOT / "docs" / "minatar_experts.png"
    figure.savefig(out, dpi=80)
    print(f"wrote {out}")


def greedy_scores(registry, manager, game_name: str, spec: str, episodes: int) -> list[float]:
    """``spec``'s returns on ``minatar:GAME``, greedy as its agent plays, ``episodes`` games
    on seeds 10001, 10002..., cut at 5,000 actions (the experts' and students' yardstick)."""
    game = registry.make_game(f"minatar:{game_name}")
    agent = registry.make_agent(spec, game)
    results = play_lockstep(game, [[agent] for _ in range(episodes)],
                            [10_001 + i for i in range(episodes)], [[spec]] * episodes,
                            settings=MatchSettings(manager=manager, max_steps=5_000))
    return [result.returns[0] for result in results]


def score(games: list[str], specs: list[str], episodes: int) -> None:
    """Each agent spec on each game (``greedy_scores``): mean, a 95% interval, the range."""
    manager = PluginManager(autoload=False)
    print("| game | agent | episodes | mean +- 95% | min | max |")
    print("|---|---|---|---|---|---|")
    for game in games:
        for spec in specs:
            returns = np.array(greedy_scores(manager.registry, manager, game, spec, episodes))
            half = 1.96 * returns.std(ddof=1) / np.sqrt(len(returns))
            print(f"| {game} | {spec} | {episodes} | {returns.mean():.1f} +- {half:.1f} | "
                  f"{returns.min():g} | {returns.max():g} |")


def ship(runs: Path, games: list[str], seed: int = SHIPPED_SEED) -> None:
    """Each game's run of ``seed``, weights and metadata only, as ``builtin:minatar_GAME``."""
    from gamepit.learners import toolkit

    BUILTIN_DIR.mkdir(exist_ok=True)
    for game in games:
        folder = run_folder(runs, game, seed)
        rows = metrics(folder)
        if greedy(rows) is None:
            raise GamepitError(f"{folder}: not finished (no final evaluation); train it first")
        data = toolkit.load_checkpoint(folder / "checkpoint.pt")
        shipped = {key: data[key] for key in ("algorithm", "game", "observation_shape",
                                               "num_actions", "network", "step")}
        shipped["args"] = {**data["args"], "run_dir": ""}
        shipped["train_minutes"] = round(training_minutes(rows), 1)
        shipped["eval_return"] = greedy(rows)
        path = toolkit.save_checkpoint(BUILTIN_DIR / f"minatar_{game}.pt", shipped)
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1024:.0f} KB, "
              f"{shipped['step']:,} steps, {shipped['train_minutes']} minutes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["train", "table", "plot", "ship", "score"])
    parser.add_argument("--runs", default="runs/minatar_experts", help="folder of the runs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--games", nargs="+", default=GAMES, choices=GAMES,
                        help="games to train or ship")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (train)")
    parser.add_argument("--agents", nargs="+", default=[],
                        help="agent specs to score (score; default: the shipped experts)")
    parser.add_argument("--episodes", type=int, default=30, help="greedy episodes (score)")
    parser.add_argument("--ship-seed", type=int, default=SHIPPED_SEED,
                        help="the seed whose run ship takes (default 1: the first, not the "
                        "best; seaquest ships seed 3, see benchmarks/RESULTS.md)")
    args = parser.parse_args()
    runs = Path(args.runs).resolve()
    if args.part == "train":
        train(runs, args.games, args.seeds, args.jobs)
    elif args.part == "table":
        table(runs, args.seeds)
    elif args.part == "plot":
        plot(runs, args.seeds)
    elif args.part == "score":
        for game in args.games:
            score([game], args.agents or [f"ppo:checkpoint=builtin:minatar_{game}"],
                  args.episodes)
    else:
        ship(runs, args.games, args.ship_seed)


if __name__ == "__main__":
    try:
        main()
    except GamepitError as error:
        sys.exit(f"minatar_experts: {error}")
