"""Strength per CPU-minute: AlphaZero or MuZero trained with PUCT against Gumbel search at a few
simulation counts, at equal training CPU time, on connect four.

    python benchmarks/gumbel_strength.py train --learner alphazero --minutes 20 --sims 4 8 16 32
    python benchmarks/gumbel_strength.py score --learner alphazero --games 20
    python benchmarks/gumbel_strength.py plot --learner alphazero

``train`` runs, one after another, ``gamepit train LEARNER --config CONFIG --set search=S
--set sims=N`` for S in puct, gumbel and each N, each for ``--minutes`` of the training
process's CPU time (user and system, from /proc: a fair budget on a shared machine, where wall
time depends on what else runs), then stopped (the run folder stays resumable), copying the
agent checkpoint (written every iteration) at ``--snapshots`` evenly spaced CPU times, the
last one the budget itself.
Everything else is the learner's connect four config, so the two searches get the same
network, batch of games and training steps.

``score`` plays every snapshot against ``mcts:sims=1000`` (UCT with random rollouts) and the
last one also against the shipped AlphaZero network (``alphazero:checkpoint=builtin:
connect_four``, for MuZero too; ``--previous SPEC`` names another, such as the network shipped
when a table was made, from git; both play deterministically, so those games open with two
random moves, each opening from both seats), ``--games`` games each, seats alternating,
played side by side in lockstep, each trained network playing with the search it was
trained with at ``--eval-sims`` simulations (``--play puct`` or ``gumbel``: all with that
one, scored apart, since a network trained with one search may play better with the
other), and prints a table with 95% intervals; scores are kept in ``RUNS/scores.json``.
``versus SPEC SPEC`` plays two agents head to head the same way (two random opening moves).
``table`` prints every stored score as one markdown table. ``--judge`` names another fixed
opponent (a weaker one tells short runs apart where ``mcts:sims=1000`` beats them all).
``plot`` draws score against training minutes to
docs/gumbel_LEARNER_BUDGETmin[_JUDGE].png (matplotlib, which the minatar extra brings).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from gamepit.arena import MatchSettings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {"alphazero": ROOT / "configs" / "alphazero_connect_four.yaml",
           "muzero": ROOT / "configs" / "muzero_connect_four_conv.yaml"}
AGENT_FILE = {"alphazero": "best.pt", "muzero": "model.pt"}
SHIPPED = "alphazero:checkpoint=builtin:connect_four,sims=100"  # both learners' runs meet it
JUDGE = "mcts:sims=1000"
OPENING_MOVES = 2  # random first moves against the deterministic previous network


def run_name(search: str, sims: int) -> str:
    return f"{search}_{sims}"


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a running process, from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("inf")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def train(options: argparse.Namespace) -> None:
    runs = Path(options.runs)
    for sims in options.sims:
        for search in ("puct", "gumbel"):
            folder = runs / run_name(search, sims)
            last = folder / f"snapshot_{round(options.minutes, 2):g}min.pt"
            if last.is_file():
                print(f"{folder.name}: done ({last.name} is there)", flush=True)
                continue
            if (folder / "checkpoint.pt").is_file():
                sys.exit(f"{folder} holds an unfinished run; delete it to train it again "
                         "(a resumed run would not be on the same CPU budget)")
            folder.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, "-m", "gamepit", "train", options.learner, "--config",
                       str(CONFIGS[options.learner]), "--run", str(folder),
                       "--set", f"search={search}", "--set", f"sims={sims}",
                       "--set", "iterations=100000", "--set", "eval_games=0",
                       "--set", "checkpoint_every=1", "--set", "device=cpu"]
            for extra in options.set:
                command += ["--set", extra]
            print(f"{folder.name}: {options.minutes} min", flush=True)
            with (folder / "train.log").open("a") as log:
                process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True)
                marks = [options.minutes * 60 * (i + 1) / options.snapshots
                         for i in range(options.snapshots)]
                for mark in marks:
                    while cpu_seconds(process.pid) < mark and process.poll() is None:
                        time.sleep(0.5)
                    source = folder / AGENT_FILE[options.learner]  # written every iteration
                    if source.is_file():
                        minute = round(mark / 60, 2)
                        shutil.copyfile(source, folder / f"snapshot_{minute:g}min.pt")
                # then stop it: its checkpoints are atomic, and a background job may have
                # SIGINT ignored, so SIGTERM
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def snapshots(folder: Path) -> list[tuple[float, Path]]:
    found = [(float(path.stem.split("_")[1].removesuffix("min")), path)
             for path in folder.glob("snapshot_*min.pt")]
    return sorted(found)


def play_cell(game, registry, manager, spec: str, opponent: str, games: int, seed: int,
              opening_moves: int = 0) -> tuple[float, float, float, int]:
    """Score of ``spec`` against ``opponent`` over ``games`` games played side by side (each
    agent searches all its positions at once), seats alternating, game i on seed seed + i
    (seed + i // 2 with ``opening_moves`` uniformly random first moves, so two deterministic
    agents meet in different games, each opening from both seats): (mean, 95% Wilson
    interval low and high, games)."""
    from gamepit.arena import play_lockstep
    from gamepit.arena.series import wilson_interval

    ours, theirs = registry.make_agent(spec), registry.make_agent(opponent)
    seatings = [[ours, theirs] if i % 2 == 0 else [theirs, ours] for i in range(games)]
    names = [[spec, opponent] if i % 2 == 0 else [opponent, spec] for i in range(games)]
    seeds = [seed + (i // 2 if opening_moves else i) for i in range(games)]
    results = play_lockstep(game, seatings, seeds, names,
                            settings=MatchSettings(manager=manager, opening_moves=opening_moves))
    mean = sum(result.outcome(i % 2) for i, result in enumerate(results)) / games
    return (mean, *wilson_interval(mean, games), games)


def score(options: argparse.Namespace) -> None:
    import torch

    from gamepit.learners import toolkit
    from gamepit.plugins.manager import get_manager

    torch.set_num_threads(1)
    manager = get_manager()
    registry = manager.registry
    game = registry.make_game("connect_four")
    runs = Path(options.runs)
    table_path = runs / "scores.json"
    table = json.loads(table_path.read_text()) if table_path.is_file() else {}
    print(f"connect four {options.learner}, trained at equal CPU time, {options.games} games a "
          f"cell, eval sims {options.eval_sims}; machine: {platform.machine()}, "
          f"{os.cpu_count()} cores")
    print(f"{'run':12} {'plays':6} {'minutes':>7} {'positions':>9} {'opponent':42} {'score':>6} "
          f"{'95% interval':>14}")
    for sims in options.sims:
        for search in ("puct", "gumbel"):
            folder = runs / run_name(search, sims)
            found = snapshots(folder)
            for number, (minute, path) in enumerate(found):
                data = toolkit.load_trained(options.learner, path)
                playing = search if options.play == "trained" else options.play
                spec = (f"{options.learner}:checkpoint={path},sims={options.eval_sims},"
                        f"search={playing}")
                previous = options.previous or SHIPPED
                opponents = [options.judge] + ([previous] if number == len(
                    found) - 1 and options.judge == JUDGE else [])
                for opponent in opponents:
                    key = f"{folder.name}|{minute:g}|{opponent}|{options.eval_sims}" + (
                        "" if playing == search else f"|{playing}")
                    if key not in table or table[key]["games"] < options.games:
                        mean, low, high, games = play_cell(
                            game, registry, manager, spec, opponent, options.games,
                            options.seed, 0 if opponent == options.judge else OPENING_MOVES)
                        table[key] = {"run": folder.name, "search": search, "sims": sims,
                                      "minutes": minute, "opponent": opponent,
                                      "play": playing,
                                      "positions": int(data.get("step", 0)),
                                      "games": games, "score": mean, "low": low,
                                      "high": high}
                        table_path.write_text(json.dumps(table, indent=1))
                    row = table[key]
                    print(f"{folder.name:12} {playing:6} {minute:7g} {row['positions']:9,} "
                          f"{opponent:42} "
                          f"{row['score']:6.3f} {row['low']:6.3f}..{row['high']:.3f}",
                          flush=True)


def versus(options: argparse.Namespace) -> None:
    """Two agents head to head, games opening with OPENING_MOVES random moves, each opening
    from both seats (``versus SPEC SPEC``: how a candidate network fares against the shipped
    one before it replaces it)."""
    from gamepit.plugins.manager import get_manager

    manager = get_manager()
    ours, theirs = options.agents
    mean, low, high, games = play_cell(manager.registry.make_game("connect_four"),
                                       manager.registry, manager, ours, theirs, options.games,
                                       options.seed, OPENING_MOVES)
    print(f"{ours} vs {theirs}: {games} games ({OPENING_MOVES} random opening moves, each "
          f"opening from both seats), score {mean:.3f} (95% {low:.3f}..{high:.3f})")


def table(options: argparse.Namespace) -> None:
    """Every score in RUNS/scores.json as one markdown table: a row per run, a column per
    opponent and snapshot."""
    rows = list(json.loads((Path(options.runs) / "scores.json").read_text()).values())
    def column(row: dict) -> tuple[str, float, bool]:  # opponent, minutes, the other search
        return row["opponent"], row["minutes"], row.get("play", row["search"]) != row["search"]

    columns = sorted({column(row) for row in rows}, key=lambda c: (c[2], c[0] != JUDGE, *c[:2]))
    print("| sims | search | positions | " + " | ".join(
        f"{o} at {m:g} min" + (", played with the other search" if other else "")
        for o, m, other in columns) + " |")
    print("|---:|---|---:|" + "---:|" * len(columns))
    for sims in options.sims:
        for search in ("puct", "gumbel"):
            mine = {column(row): row for row in rows
                    if row["search"] == search and row["sims"] == sims}
            if not mine:
                continue
            positions = max(row["positions"] for row in mine.values())
            cells = [f"{mine[c]['score']:.2f} ({mine[c]['low']:.2f}-{mine[c]['high']:.2f})"
                     if c in mine else "" for c in columns]
            print(f"| {sims} | {search} | {positions:,} | " + " | ".join(cells) + " |")


def plot(options: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = json.loads((Path(options.runs) / "scores.json").read_text()).values()
    figure, axis = plt.subplots(figsize=(7, 4.2))
    colours = {4: "tab:blue", 8: "tab:orange", 16: "tab:green", 32: "tab:red"}
    for sims in options.sims:
        for search, style in (("puct", "--"), ("gumbel", "-")):
            points = sorted((row["minutes"], row["score"], row["low"], row["high"])
                            for row in rows if row["opponent"] == options.judge
                            and row.get("play", row["search"]) == row["search"]
                            and row["search"] == search and row["sims"] == sims)
            if not points:
                continue
            minutes, scores, lows, highs = zip(*points, strict=True)
            axis.plot(minutes, scores, style, marker="o", color=colours.get(sims),
                      label=f"{search} {sims} sims")
            axis.fill_between(minutes, lows, highs, color=colours.get(sims), alpha=0.08)
    axis.set_xlabel("training CPU minutes (one core of a 2-core x86_64 machine)")
    axis.set_ylabel(f"score against {options.judge}")
    axis.set_ylim(0, 1)
    axis.set_title(f"connect four {options.learner}: PUCT (dashed) against Gumbel (solid)")
    axis.legend(fontsize=8, ncol=2)
    figure.tight_layout()
    suffix = "" if options.judge == JUDGE else "_" + options.judge.replace(":", "_").replace(
        "=", "")
    budget = max(row["minutes"] for row in rows)  # runs of another budget: another file
    out = ROOT / "docs" / f"gumbel_{options.learner}_{budget:g}min{suffix}.png"
    figure.savefig(out, dpi=90)
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["train", "score", "table", "plot", "versus"])
    parser.add_argument("agents", nargs="*", help="versus: two agent specs")
    parser.add_argument("--learner", choices=sorted(CONFIGS), default="alphazero")
    parser.add_argument("--runs", default=None, help="default runs/gumbel_LEARNER")
    parser.add_argument("--sims", type=int, nargs="+", default=[4, 8, 16, 32])
    parser.add_argument("--minutes", type=float, default=20.0,
                        help="train: CPU minutes a run")
    parser.add_argument("--snapshots", type=int, default=3, help="train: checkpoints kept")
    parser.add_argument("--set", action="append", default=[],
                        help="train: another KEY=VALUE for every run")
    parser.add_argument("--games", type=int, default=20, help="score: games a cell")
    parser.add_argument("--eval-sims", type=int, default=100, help="score: sims of the agents")
    parser.add_argument("--judge", default=JUDGE,
                        help="score, plot: the fixed opponent of every snapshot (with the "
                             "default, the last snapshot also meets the shipped network)")
    parser.add_argument("--play", choices=["trained", "puct", "gumbel"], default="trained",
                        help="score: the search the trained networks play with (trained: the "
                             "one each was trained with); its scores are kept apart")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--previous", default="",
                        help=f"score: the agent each run's last snapshot also meets (default: "
                             f"the shipped {SHIPPED})")
    options = parser.parse_args()
    options.runs = options.runs or str(ROOT / "runs" / f"gumbel_{options.learner}")
    if options.what == "versus" and len(options.agents) != 2:
        parser.error("versus takes two agent specs")
    {"train": train, "score": score, "table": table, "plot": plot,
     "versus": versus}[options.what](options)


if __name__ == "__main__":
    main()
